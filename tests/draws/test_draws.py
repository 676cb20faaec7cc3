"""Double-random, one-public (S4): commit–reveal, recomputation, recusal, strata, merge, results, scope."""
from __future__ import annotations

import hashlib
import io
import itertools
import math
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import credit_code, make_bureau, make_entity, make_user
from zhijian.core.errors import ApplicationError
from zhijian.deadlines.workdays import add_workdays
from zhijian.draws import services, sources
from zhijian.draws.models import DeclaredRelation, DrawItem, EntityRiskClass, JointInspection, PastInspection
from zhijian.entities.models import MarketEntity
from zhijian.supervision.models import Task

ROOT = Path(__file__).resolve().parents[2]
VILLAGES = ["441900003001", "441900003002", "441900003003", "441900004001", "441900004002", "441900005001"]
_certs = itertools.count(1)


def bulk_entities(n: int, *, seed: int = 1, status: str = "active") -> list[MarketEntity]:
    rng = random.Random(seed)
    now = timezone.now()
    rows = [MarketEntity(credit_code=credit_code("441900"), name=f"东莞市抽查测试商行{seed}-{i}", entity_type="enterprise", status=status,
                         division_code=rng.choice(VILLAGES), industry_code="5211", created_at=now, updated_at=now) for i in range(n)]
    return MarketEntity.objects.bulk_create(rows)


def inspector(bureau, home="", **extra):
    return make_user("enforcement_officer", bureau=bureau, enforcement_cert_no=f"4419{next(_certs):07d}", home_division=home, **extra)


@pytest.fixture
def org(db):
    bureau = make_bureau("4419")
    return bureau, make_user("leader", bureau=bureau)


def plan_for(org, **kw):
    bureau, leader = org
    kw.setdefault("ratios", {"B": "100"})
    kw.setdefault("period", "2026")
    return services.plan_create(actor=leader, bureau=bureau, name=kw.pop("name", "食品销售双随机抽查"), division_code=kw.pop("division_code", "4419"), **kw)


def run(plan, leader):
    draw = services.draw_commit(actor=leader, plan=plan)
    return services.draw_execute(actor=leader, draw=draw)


def test_commit_publishes_the_hash_and_execution_reveals_the_matching_seed(org, client):
    """Before execution only SHA-256(seed) is public; after it the seed is, and it hashes to the commitment."""
    bureau, leader = org
    bulk_entities(20)
    for _i in range(3):
        inspector(bureau)
    draw = services.draw_commit(actor=leader, plan=plan_for(org, business_lines=["food_sales"]))
    assert draw.revealed_seed == "" and len(draw.seed_sha256) == 64
    page = client.get(f"/p/draws/{draw.public_id}/").content.decode()
    assert draw.seed_sha256 in page and draw.seed_hex not in page
    assert client.get(f"/p/draws/{draw.public_id}/files/result.csv").status_code == 404
    draw = services.draw_execute(actor=leader, draw=draw)
    assert hashlib.sha256(bytes.fromhex(draw.revealed_seed)).hexdigest() == draw.seed_sha256
    assert draw.seed_hex in client.get(f"/p/draws/{draw.public_id}/").content.decode()
    with pytest.raises(ApplicationError, match="已抽取"):
        services.draw_execute(actor=leader, draw=draw)


def test_recomputation_matches_via_command_and_standalone_script(org, client, tmp_path):
    """verify_draw exits 0, and docs/draws_verify.py reproduces the result from the downloaded public files."""
    bureau, leader = org
    bulk_entities(120)
    for i in range(6):
        inspector(bureau, home=VILLAGES[i])
    draw = run(plan_for(org, ratios={"B": "30"}), leader)
    assert draw.selected_count == math.ceil(120 * 30 / 100)
    out = io.StringIO()
    call_command("verify_draw", str(draw.pk), stdout=out)
    assert "verified" in out.getvalue()
    for name in [*draw.files, "draw.json"]:
        r = client.get(f"/p/draws/{draw.public_id}/files/{name}")
        assert r.status_code == 200, name
        (tmp_path / name).write_bytes(b"".join(r.streaming_content) if r.streaming else r.content)
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "draws_verify.py"), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"OK: {draw.selected_count} entities" in done.stdout
    # A published result edited by hand is caught by the same script.
    (tmp_path / "result.csv").write_bytes((tmp_path / "result.csv").read_bytes().replace(b"B,1,", b"B,2,", 1))
    bad = subprocess.run([sys.executable, str(ROOT / "docs" / "draws_verify.py"), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "result.csv" in bad.stderr


def test_altered_selection_fails_verification_naming_the_difference(org):
    bureau, leader = org
    bulk_entities(60)
    for _i in range(4):
        inspector(bureau)
    draw = run(plan_for(org, ratios={"B": "10"}), leader)
    item = DrawItem.objects.filter(draw=draw).order_by("rank").first()
    outsider_code = MarketEntity.objects.exclude(credit_code__in=draw.items.values("credit_code")).first().credit_code
    DrawItem.objects.filter(pk=item.pk).update(credit_code=outsider_code)
    with pytest.raises(CommandError, match=f"B #1: expected {item.credit_code}"):
        call_command("verify_draw", draw.public_id)
    DrawItem.objects.filter(pk=item.pk).update(credit_code=item.credit_code, cert_nos=list(reversed(item.cert_nos)))
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_draw", str(draw.pk))
    DrawItem.objects.filter(pk=item.pk).update(cert_nos=item.cert_nos)
    call_command("verify_draw", str(draw.pk), stdout=io.StringIO())


def test_recusal_rules_hold_on_every_drawn_pair(org):
    """Property: over 300 entities with many conflicts, no drawn inspector shares the entity's village
    (home division, 12 digits), declared a relation with it, or inspected it last time."""
    bureau, leader = org
    rng = random.Random(7)
    entities = bulk_entities(300, seed=3)
    people = [inspector(bureau, home=VILLAGES[i % len(VILLAGES)] if i < 12 else "") for i in range(16)]
    relations = {(p.pk, e.credit_code) for p in people for e in rng.sample(entities, 12)}
    DeclaredRelation.objects.bulk_create([DeclaredRelation(inspector_id=p, credit_code=c, relation="亲属") for p, c in relations])
    past = {(e.credit_code, rng.choice(people).pk) for e in rng.sample(entities, 150)}
    PastInspection.objects.bulk_create([PastInspection(credit_code=c, inspector_id=p, inspected_on="2025-05-06") for c, p in past])
    plan = plan_for(org, ratios={"B": "100"}, recusal={"home_division": 12, "declared_relation": None, "last_inspector": None})
    draw = run(plan, leader)
    by_id = {p.pk: p for p in people}
    items = list(draw.items.all())
    assert len(items) == 300
    recused = 0
    for item in items:
        assert len(set(item.inspector_ids)) == 2
        for pid in item.inspector_ids:
            p = by_id[pid]
            assert p.home_division[:12] != item.division_code[:12], (item.credit_code, p.enforcement_cert_no)
            assert (pid, item.credit_code) not in relations
            assert (item.credit_code, pid) not in past
        recused += bool(item.excluded)
    assert recused > 250  # conflicts are common, so the rules were really exercised


def test_strata_follow_the_ratios(org):
    """Counts per class are ceil(ratio × stratum size); classes come from EntityRiskClass rows (none: B)."""
    bureau, leader = org
    entities = bulk_entities(203, seed=5)
    bulk_entities(30, seed=6, status="cancelled")  # not in the pool (only 存续 by default)
    for _i in range(3):
        inspector(bureau)
    cls_of = {e.pk: "ABCD"[i % 4] for i, e in enumerate(entities)}
    EntityRiskClass.objects.bulk_create([EntityRiskClass(entity=e, risk_class=cls_of[e.pk], assessed_on="2026-01-05", source="credit")
                                         for e in entities if cls_of[e.pk] != "B"])
    assert sources.risk_class_of([e.pk for e in entities[:4]]) == {e.pk: c for e, c in zip(entities[:4], "ABCD")}
    ratios = {"A": "3", "B": "12.5", "C": "33.33", "D": "100"}
    draw = run(plan_for(org, ratios=ratios), leader)
    sizes = {c: sum(1 for e in entities if cls_of[e.pk] == c) for c in "ABCD"}
    assert draw.params["counts"] == sizes
    for c, pct in ratios.items():
        expected = math.ceil(Decimal(pct) * sizes[c] / 100)
        got = draw.items.filter(stratum=c)
        assert got.count() == expected, c
        assert all(cls_of[i.entity_id] == c for i in got)
    pool = (services.draw_dir(draw.public_id) / "entities-C.csv").read_bytes().splitlines()
    # Every pool line once; the order is the database's (the draw does not depend on it).
    assert sorted(pool) == sorted(f"{e.credit_code},{e.division_code}".encode() for e in entities if cls_of[e.pk] == "C")
    call_command("verify_draw", str(draw.pk), stdout=io.StringIO())


def test_at_least_two_inspectors_and_a_clear_error_when_recusal_empties_the_pool(org):
    bureau, leader = org
    with pytest.raises(ApplicationError, match="不得少于 2 人"):
        plan_for(org, inspectors_per_entity=1)
    e = make_entity(VILLAGES[0])
    a, b, c = inspector(bureau), inspector(bureau), inspector(bureau, home=VILLAGES[0])
    DeclaredRelation.objects.create(inspector=a, credit_code=e.credit_code, relation="配偶任股东")
    draw = services.draw_commit(actor=leader, plan=plan_for(org))
    with pytest.raises(ApplicationError, match=f"主体 {e.credit_code} 回避后仅有 1 名符合条件的检查人员，需要 2 名"):
        services.draw_execute(actor=leader, draw=draw)
    assert DrawItem.objects.count() == 0


def test_departments_draws_merge_into_joint_inspections_with_tasks(org):
    """Two departments draw the same entities in one period: one joint inspection and one task per entity."""
    bureau, leader = org
    from zhijian.org.models import Department

    dept = Department.objects.create(name="东莞市卫生健康局", code="dg-wj", division_code="4419", jurisdiction="4419")
    ents = [make_entity(VILLAGES[i % 3]) for i in range(4)]
    officers = [inspector(bureau) for _i in range(4)]
    d1 = run(plan_for(org, name="食品销售", business_lines=["food_sales"], period="2026Q2"), leader)
    d2 = run(plan_for(org, name="公共场所卫生", business_lines=["public_hygiene"], departments=[dept], period="2026Q2"), leader)
    other = run(plan_for(org, name="广告", business_lines=["advertising"], period="2026Q3"), leader)
    joints = services.joint_merge(actor=leader, period="2026Q2")
    assert len(joints) == 4 and JointInspection.objects.count() == 4
    for j in joints:
        assert j.business_lines == ["food_sales", "public_hygiene"]
        assert set(DrawItem.objects.filter(joint=j).values_list("draw_id", flat=True)) == {d1.pk, d2.pk}
        lead = DrawItem.objects.get(joint=j, draw=d1)
        task = Task.objects.get(pk=j.task_id)
        assert task.source == "random_draw" and task.entity_id == j.entity_id
        assert task.bureau_id == bureau.pk and task.assignee_id == lead.inspector_ids[0]
    assert not DrawItem.objects.filter(draw=other, joint__isnull=False).exists()
    assert services.joint_merge(actor=leader, period="2026Q2") == []  # nothing left to merge
    assert {e.pk for e in ents} == {j.entity_id for j in joints} and len(officers) == 4


def test_results_due_in_20_working_days_overdue_flag_and_publication(org, client):
    bureau, leader = org
    make_entity(VILLAGES[0])
    make_entity(VILLAGES[1])
    for _i in range(2):
        inspector(bureau)
    draw = run(plan_for(org), leader)
    first, second = draw.items.order_by("rank")
    day = timezone.localdate() - timezone.timedelta(days=60)
    first = services.draw_record_result(actor=leader, item=first, result="no_problem", inspected_on=day)
    assert first.publicity_due == add_workdays(day, 20) and first.is_overdue()
    page = client.get(f"/p/draws/{draw.public_id}/results/").content.decode()
    assert "逾期" in page and "未发现问题" not in page
    services.draw_publish_result(actor=leader, item=first)
    with pytest.raises(ApplicationError, match="尚未录入检查结果"):
        services.draw_publish_result(actor=leader, item=second)
    page = client.get(f"/p/draws/{draw.public_id}/results/").content.decode()
    assert "未发现问题" in page and first.credit_code in page


def test_staff_pages_and_api_work_inside_and_404_outside(org, client, outsider):
    bureau, leader = org
    bulk_entities(10)
    for _i in range(2):
        inspector(bureau)
    plan = plan_for(org, ratios={"B": "50"})
    client.force_login(leader)
    assert client.get("/draws/").status_code == 200
    r = client.post(f"/api/v1/draw-plans/{plan.pk}/commit/")
    assert r.status_code == 201, r.content
    draw_id = r.json()["id"]
    assert r.json()["seed"] == ""
    assert client.get(f"/draws/{draw_id}/").status_code == 200
    r = client.post(f"/api/v1/draws/{draw_id}/execute/")
    assert r.status_code == 200 and r.json()["selected_count"] == 5 and len(r.json()["seed"]) == 64
    assert client.get(f"/draws/{draw_id}/").status_code == 200
    client.force_login(outsider)
    for url in (f"/draws/plans/{plan.pk}/", f"/draws/{draw_id}/", f"/api/v1/draws/{draw_id}/", f"/api/v1/draw-plans/{plan.pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/v1/draws/{draw_id}/execute/").status_code == 404
    assert client.post(f"/draws/plans/{plan.pk}/commit/").status_code == 404


def test_plan_form_creates_a_plan(org, client):
    from zhijian.inspections.models import BusinessLine

    bureau, leader = org
    from zhijian.entities.models import Industry
    from zhijian.geo.models import Division

    BusinessLine.objects.create(code="special_equipment", name="特种设备")
    Division.objects.create(code="441900", name="东莞市", level=3)  # the range is picked by name, submitted as its code
    Industry.objects.get_or_create(code="52", defaults={"name": "零售业", "level": 2})
    client.force_login(leader)
    page = client.get("/draws/plans/new/").content.decode()
    assert 'data-picker="division"' in page and "零售业" in page
    r = client.post("/draws/plans/new/", {
        "name": "特种设备抽查", "period": "2026", "bureau": bureau.pk, "division_code": "441900", "business_lines": "special_equipment",
        "check_items": "SE-01，SE-02", "statuses": ["active"], "ratio_A": "1", "ratio_B": "5", "ratio_C": "20", "ratio_D": "60",
        "inspector_units": [bureau.pk], "inspectors_per_entity": "2", "recusal": ["home_division", "last_inspector"], "home_level": "9",
        "industry_prefixes": ["52"],
    })
    assert r.status_code == 302, r.content.decode()[:2000]
    plan = bureau.draw_plans.get()
    assert plan.division_code == "441900" and plan.industry_prefixes == ["52"]
    assert plan.business_lines == ["special_equipment"] and plan.check_items == ["SE-01", "SE-02"] and {x.kind: x.level for x in plan.recusal_rules.all()} == {"home_division": 9, "last_inspector": 9}
    assert client.get(r["Location"]).status_code == 200


def test_pool_filters_and_codes_that_would_break_the_file(org):
    """The pool query applies every plan filter; a credit code with a comma stops the commit."""
    bureau, leader = org
    for _i in range(2):
        inspector(bureau)
    ents = bulk_entities(40, seed=9)
    MarketEntity.objects.filter(pk__in=[e.pk for e in ents[:15]]).update(industry_code="6210")
    MarketEntity.objects.filter(pk__in=[e.pk for e in ents[:5]]).update(entity_type="individual")
    other = make_entity("441901001001", industry_code="6210")  # a division outside the plan's prefix
    plan = plan_for(org, division_code="4419000", industry_prefixes=["62", "99"], entity_types=["enterprise"])
    draw = run(plan, leader)
    pool = (services.draw_dir(draw.public_id) / "entities-B.csv").read_bytes().decode().splitlines()
    assert len(set(pool)) == len(pool) == 10 and other.credit_code not in "".join(pool)
    assert {line.split(",")[0] for line in pool} == {e.credit_code for e in ents[5:15]}
    MarketEntity.objects.filter(pk=ents[20].pk).update(credit_code="9144190012345678,X")
    folders = set(services.draw_dir("x").parent.iterdir())
    with pytest.raises(ApplicationError, match="非法字符"):
        services.draw_commit(actor=leader, plan=plan_for(org))
    assert set(services.draw_dir("x").parent.iterdir()) == folders  # the refused commit left no files


def test_an_unknown_credit_risk_class_stops_the_commit(org):
    bureau, leader = org
    for _i in range(2):
        inspector(bureau)
    entities = bulk_entities(30, seed=4)
    EntityRiskClass.objects.create(entity=entities[3], risk_class="A", assessed_on=timezone.localdate(), source="test")
    EntityRiskClass.objects.filter(entity=entities[3]).update(risk_class="X")  # past the model's choices
    with pytest.raises(ApplicationError, match="未知的信用风险分类：X"):
        services.draw_commit(actor=leader, plan=plan_for(org))


def test_entity_ids_come_from_the_private_ids_file_and_a_changed_one_is_refused(org, client):
    """The commit pass writes the entity ids in pool-line order beside each pool file; execution
    takes the drawn entities' ids from there (no lookup), never publishes the file, and refuses
    one changed after the commit."""
    bureau, leader = org
    entities = bulk_entities(900)
    for e in entities[::9]:
        EntityRiskClass.objects.create(entity=e, risk_class="A", assessed_on=timezone.localdate(), source="test")
    for i in range(6):
        inspector(bureau, home=VILLAGES[i])
    plan = plan_for(org, ratios={"A": "10", "B": "5"})
    draw = services.draw_commit(actor=leader, plan=plan)
    folder = services.draw_dir(draw.public_id)
    summary = services.public_summary(draw)
    assert summary["algorithm"] == "zhijian-draw/2"
    for s in "AB":
        assert (folder / f"ids-{s}.bin").stat().st_size == 8 * draw.params["counts"][s]
        assert f"ids-{s}.bin" not in draw.files and draw.params["ids"][s] not in str(summary)
        assert client.get(f"/p/draws/{draw.public_id}/files/ids-{s}.bin").status_code == 404

    draw = services.draw_execute(actor=leader, draw=draw)
    assert draw.selected_count == math.ceil(100 * 10 / 100) + math.ceil(800 * 5 / 100)
    call_command("verify_draw", str(draw.pk), stdout=io.StringIO())
    by_code = dict(MarketEntity.objects.values_list("credit_code", "id"))
    assert all(by_code[code] == pk for code, pk in DrawItem.objects.filter(draw=draw).values_list("credit_code", "entity_id"))

    # Another draw (the first voided, with a reason) whose ids file is changed after the commit (two ids swapped) is refused.
    services.draw_void(actor=leader, draw=draw, reason="复核名录后重新抽取")
    draw2 = services.draw_commit(actor=leader, plan=plan)
    path = services.draw_dir(draw2.public_id) / "ids-B.bin"
    raw = path.read_bytes()
    path.write_bytes(raw[8:16] + raw[:8] + raw[16:])
    with pytest.raises(ApplicationError, match="ids-B.bin"):
        services.draw_execute(actor=leader, draw=draw2)
    assert not DrawItem.objects.filter(draw=draw2).exists()


@pytest.mark.parametrize("part_pages", [100_000, 2], ids=["one-range-a-core", "ranges-of-two-pages"])
def test_parallel_pool_pass_reads_one_snapshot_and_gives_the_public_result(transactional_db, monkeypatch, part_pages):
    """A large registry is read by one connection per core sharing an exported snapshot, each on
    its range of heap pages (more ranges than cores for a very large one): the files hold every
    pool line exactly once, each with its own entity id, and the draw verifies from them."""
    from django.db import connection

    from zhijian.draws import pgpool

    if connection.vendor != "postgresql":
        pytest.skip("parallel reading uses PostgreSQL's exported snapshots")
    monkeypatch.setattr(services, "PARALLEL_MIN", 0)
    monkeypatch.setattr(pgpool, "PART_PAGES", part_pages)
    monkeypatch.setattr(services.os, "cpu_count", lambda: 3)
    bureau = make_bureau("4419")
    leader = make_user("leader", bureau=bureau)
    entities = bulk_entities(700, seed=5)
    for e in entities[::7]:
        EntityRiskClass.objects.create(entity=e, risk_class="C", assessed_on=timezone.localdate(), source="test")
    for i in range(6):
        inspector(bureau, home=VILLAGES[i])
    draw = run(plan_for((bureau, leader), ratios={"B": "5", "C": "20"}), leader)
    folder = services.draw_dir(draw.public_id)
    lines = [ln for s in "BC" for ln in (folder / f"entities-{s}.csv").read_bytes().splitlines()]
    assert sorted(lines) == sorted(f"{e.credit_code},{e.division_code}".encode() for e in entities)
    assert draw.params["counts"] == {"A": 0, "B": 600, "C": 100, "D": 0}
    by_line = {f"{e.credit_code},{e.division_code}".encode(): e.pk for e in entities}
    for s in "BC":
        ids = np.frombuffer((folder / f"ids-{s}.bin").read_bytes(), dtype=">i8").tolist()
        assert ids == [by_line[ln] for ln in (folder / f"entities-{s}.csv").read_bytes().splitlines()]
    call_command("verify_draw", str(draw.pk), stdout=io.StringIO())
    by_code = {e.credit_code: e.pk for e in entities}
    assert all(by_code[code] == pk for code, pk in DrawItem.objects.filter(draw=draw).values_list("credit_code", "entity_id"))
