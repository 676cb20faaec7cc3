"""JSON from outside, with limits (issue 14, item 7 "Robust parsers"): an API body nested 100,000
deep made DRF's parser raise RecursionError (a 500). Now every API operation that takes a body
answers 400 with a Chinese message, a body past the size limit 413, and the depth limit (64) is
measured without recursion, brackets inside strings not counted."""
from __future__ import annotations

import json
import re

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.request import Request

from tests.draws.test_draws import bulk_entities, inspector, plan_for
from tests.factories import make_bureau, make_entity, make_user
from zhijian.core import parsers
from zhijian.draws import services as draws
from zhijian.supervision import tasks

DEEP = 100_000
BODIES = {
    "arrays": b"[" * DEEP + b"]" * DEEP,
    "objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "inside-a-field": b'{"reason": ' + b"[" * DEEP + b"]" * DEEP + b"}",
}


def _api_writes() -> list[tuple[str, str]]:
    """(method, URL) of every API operation that takes a body, each id as ``{id}``."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                path = prefix + str(p.pattern)
                actions = getattr(p.callback, "actions", None) or {}
                if not path.startswith("api/") or "format" in path:
                    continue
                url = "/" + re.sub(r"\(\?P<[^>]+>[^)]+\)", "{id}", path).replace("^", "").replace("$", "")
                for method in ("post", "put", "patch"):
                    if method in actions:
                        found.append((method, url))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


WRITES = _api_writes()


@pytest.fixture
def staff(db):
    bureau = make_bureau("4419")
    return make_user("leader", "dispatcher", "enforcement_officer", "grid_officer", "registry_clerk", bureau=bureau)


@pytest.fixture
def objects(staff):
    """Real objects behind the id-taking operations, so they reach their body: an entity, a task, a
    draw plan and its draw (other ids are 1, a missing object)."""
    entity = make_entity("441900003001")
    task = tasks.task_create(actor=staff, entity=entity, title="解析测试", source="manual", bureau=staff.bureau)
    bulk_entities(5)
    for _i in range(2):
        inspector(staff.bureau)
    plan = plan_for((staff.bureau, staff))
    draw = draws.draw_commit(actor=staff, plan=plan)
    return {"entities": entity.credit_code, "tasks": task.pk, "draw-plans": plan.pk, "draws": draw.pk}


def _fill(url: str, objects: dict) -> str:
    kind = url.split("/")[3]
    return url.replace("{id}", str(objects.get(kind, 1)))


def test_every_write_operation_is_found():
    assert len(WRITES) >= 20 and ("post", "/api/v1/entities/") in WRITES and ("post", "/api/v1/grid/clue-reports/") in WRITES


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_a_body_nested_100000_deep_is_a_chinese_400_on_every_operation(client, staff, objects, kind):
    """The finding, on each of the API's write operations: never a 500 or a RecursionError (the
    test client re-raises any exception). An operation on an existing object, or one that reads
    its body first, answers the parser's 400; one on a missing object may answer 404 first."""
    client.force_login(staff)
    parsed = set()
    for method, template in WRITES:
        url = _fill(template, objects)
        r = getattr(client, method)(url, BODIES[kind], content_type="application/json")
        assert r.status_code < 500, (url, r.status_code)
        if r.status_code == 400 and r.json()["error"]["code"] == "parse_error":
            message = r.json()["error"]["message"]
            assert "嵌套超过 64 层" in message and f"共 {len(BODIES[kind])} 字节" in message, (url, message)
            assert "JSON parse error" not in message and "recursion" not in message.lower()
            parsed.add((method, template))
    assert len(parsed) >= 12 and {
        ("post", "/api/v1/entities/"), ("patch", "/api/v1/entities/{id}/"), ("post", "/api/v1/entities/{id}/address/"),
        ("post", "/api/v1/inspections/sync/"), ("post", "/api/v1/grid/clue-reports/"), ("post", "/api/v1/draws/{id}/void/"),
        ("post", "/api/v1/tasks/{id}/dispatch/"),
    } <= parsed, sorted(parsed)


def test_the_explicit_parser_of_the_phone_clue_report_is_the_limited_one(client, staff):
    """/grid/clue-reports/ names its parsers itself (photos come as multipart): its JSON one is ours."""
    client.force_login(staff)
    r = client.post("/api/v1/grid/clue-reports/", BODIES["arrays"], content_type="application/json")
    assert r.status_code == 400 and "嵌套超过 64 层" in r.json()["error"]["message"]


@pytest.mark.parametrize("body, words", [
    pytest.param(b'{"name": "a",}', ("请求体格式错误（第 1 行第 14 列）",), id="trailing-comma"),
    pytest.param(b"{", ("请求体格式错误（第 1 行第 2 列）",), id="cut"),
    pytest.param(b'{"reg_capital": NaN}', ("不允许 NaN",), id="nan"),
    pytest.param(b'{"reg_capital": ' + b"9" * 5000 + b"}", ("无法解析的值",), id="5000-digits"),
    pytest.param(b'{"name": "\xff\xfe"}', ("不是 UTF-8 编码的文本",), id="not-utf8"),
])
def test_malformed_bodies_are_told_in_chinese(client, staff, body, words):
    client.force_login(staff)
    r = client.post("/api/v1/entities/", body, content_type="application/json")
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert all(w in message for w in words) and f"共 {len(body)} 字节" in message, message
    assert not re.search(r"[A-Za-z]{4,}", message.replace("JSON", "").replace("UTF", "").replace("NaN", "")), message


def test_a_declared_charset_is_honoured_and_a_bad_one_refused_in_chinese(client, staff):
    client.force_login(staff)
    body = json.dumps({"name": "东莞市测试商行"}, ensure_ascii=False)  # the test client sends it in GBK
    r = client.post("/api/v1/entities/", body, content_type="application/json; charset=gbk")
    assert r.status_code == 400 and r.json()["error"]["code"] != "parse_error"  # parsed; the entity itself is incomplete
    r = client.generic("POST", "/api/v1/entities/", b"{}", content_type="application/json; charset=bz2_codec")
    assert r.status_code == 400 and "请使用 UTF-8 编码的 JSON" in r.json()["error"]["message"]


@override_settings(API_JSON_MAX_BYTES=1000)
def test_a_body_past_the_limit_is_413_even_when_its_length_is_not_declared(rf, staff):
    """The parser counts what it reads (a chunked body declares no length), at most limit + 1 bytes."""
    body = json.dumps({"name": "x" * 2000}).encode()
    django_request = rf.post("/api/v1/entities/", body, content_type="application/json")
    request = Request(django_request, parsers=[parsers.JSONParser()])
    with pytest.raises(parsers.BodyTooLarge) as info:
        request.data
    assert info.value.status_code == 413 and "JSON 请求体上限" in str(info.value.detail)


@override_settings(API_JSON_MAX_BYTES=1000)
def test_the_api_answers_413_in_chinese(client, staff):
    client.force_login(staff)
    r = client.post("/api/v1/entities/", json.dumps({"name": "x" * 2000}), content_type="application/json")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large" and "上限" in r.json()["error"]["message"]


@pytest.mark.parametrize("text, depth", [
    ("[]", 1), ("{}", 1), ("1", 0), ('"[[[["', 0), ('["\\"[[[", {"a": [1]}]', 3), ('["\\\\", [[]]]', 3),
    ('{"k[": "]]]", "v": [[["\\\\\\"[["]]]}', 4), ("[" * 64 + "]" * 64, 64), ("[" * 65 + "]" * 65, 65),
])
def test_nesting_is_measured_without_counting_strings(text, depth):
    assert parsers.nesting_depth(text) == depth
    assert parsers.nesting_depth(text.encode()) == depth


def test_the_limit_is_64_and_bracket_text_is_fine():
    assert parsers.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(parsers.JSONProblem, match="嵌套超过 64 层") as info:
        parsers.loads("[" * 65 + "]" * 65)
    assert info.value.code == "too_deep"
    assert parsers.loads('{"note": "' + "[" * DEEP + '"}') == {"note": "[" * DEEP}
    # A malformed text is measured as JSON would read it up to its error: never deeper than counted.
    with pytest.raises(parsers.JSONProblem, match="嵌套超过"):
        parsers.loads('["' + '\\"' * 10 + '", ' + "[" * DEEP)
