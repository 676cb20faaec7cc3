"""The fast paths of the draw algorithm give exactly what the plain rules of docs/draws.md give."""
from __future__ import annotations

import hashlib
import heapq
import random

import pytest

from zhijian.draws import algorithm

SEED = bytes(range(32))


def plain_select(seed, data: bytes, k):
    """docs/draws_verify.py's selection, verbatim."""
    rows = [ln.split(",") for ln in data.decode("utf-8").splitlines() if ln]
    key = lambda r: hashlib.sha256(seed + b"entity:" + r[0].encode()).digest()  # noqa: E731
    return [(r[0], r[1]) for r in heapq.nsmallest(k, rows, key=key)]


def plain_draw(seed, selected, inspectors, recusal, per_entity):
    """Exclusions and assignment by scanning every inspector for every entity (the rules as written)."""
    home, rules = recusal.get("home", {}), recusal.get("rules", [])
    relations = {tuple(r) for r in recusal.get("relations", [])}
    last = {c: set(v) for c, v in recusal.get("last", {}).items()}
    excluded = {}
    for code, division in selected:
        hits = set()
        for cert, scope in inspectors:
            if not any(division.startswith(p) for p in scope):
                continue
            for rule in rules:
                level, h = int(rule["level"]), home.get(cert, "")
                if (rule["kind"] == "home_division" and len(h) >= level and len(division) >= level and h[:level] == division[:level]) \
                        or (rule["kind"] == "declared_relation" and (cert, code) in relations) \
                        or (rule["kind"] == "last_inspector" and cert in last.get(code, ())):
                    hits.add(cert)
        excluded[code] = sorted(hits)
    load, chosen = {}, {}
    for code, division in sorted(selected):
        eligible = [c for c, scope in inspectors if any(division.startswith(p) for p in scope) and c not in excluded[code]]
        eligible.sort(key=lambda c: (load.get(c, 0), hashlib.sha256(seed + b"inspector:" + code.encode() + b":" + c.encode()).digest()))
        chosen[code] = eligible[:per_entity]
        for c in chosen[code]:
            load[c] = load.get(c, 0) + 1
    return excluded, chosen


def pool(n, rng, *, villages=("441900003001", "441900003002", "441900004001", "441900005")):
    codes = {f"91441900{rng.randrange(10**9):09d}{rng.choice('0123456789ABCDEFGH')}" for _ in range(n)}
    return b"".join(f"{c},{rng.choice(villages)}\n".encode() for c in sorted(codes))


def blocks(data: bytes, size: int):
    """Split into blocks of whole lines of about ``size`` bytes, like services._file_blocks."""
    out, start = [], 0
    while start < len(data):
        cut = data.find(b"\n", start + size) + 1 or len(data)
        out.append(data[start:cut])
        start = cut
    return out


@pytest.mark.parametrize("n,k,block", [(5000, 40, 1 << 20), (5000, 40, 997), (3000, 2999, 4096), (3000, 3000, 500),
                                       (3000, 3500, 500), (1, 1, 10), (0, 3, 10), (800, 0, 100)])
def test_block_selection_equals_the_published_rule(n, k, block):
    data = pool(n, random.Random(n + k))
    want = plain_select(SEED, data, k)
    assert algorithm.select_blocks(SEED, blocks(data, block), k, data.count(b"\n")) == want
    assert algorithm.select_stratum(SEED, data.splitlines(keepends=True), k) == want
    if k:
        # A wrong size hint makes the key bound far too tight: fewer than k pass, all keys are used.
        assert algorithm.select_blocks(SEED, blocks(data, block), k, 10**12) == want


def test_block_selection_falls_back_for_lines_outside_the_plain_form():
    data = pool(2000, random.Random(3))
    odd = data + "91441900XYZ广州,441900003001\n".encode() + b"9144190000000000QQ,441900004001\n"
    want = plain_select(SEED, odd, 300)
    assert any(code.startswith("91441900XYZ") for code, _d in plain_select(SEED, odd, 2002))
    assert algorithm.split_pool(odd) is None and algorithm.split_pool(data) is not None
    assert algorithm.select_blocks(SEED, blocks(odd, 4096), 300, 2002) == want
    assert algorithm.split_pool(b"a,b\nc") is None and algorithm.split_pool(b"a,b,c\nd\n") is None
    assert algorithm.split_pool(b"a,b\n,\n") == ([b"a", b""], [b"b", b""])


def test_indexed_recusal_and_assignment_equal_the_scan_over_all_inspectors():
    rng = random.Random(11)
    villages = [f"4419000{t:02d}{v:03d}" for t in range(3, 9) for v in range(1, 5)]
    data = pool(4000, rng, villages=villages)
    selected = algorithm.select_blocks(SEED, [data], 600, 4000)
    inspectors = [(f"4419{i:07d}", tuple(rng.sample(["4419", "441900003", "441900004", "44190000500", "441900006", "44"], rng.randint(1, 2))))
                  for i in range(40)]
    codes = [c for c, _d in selected]
    recusal = {
        "rules": [{"kind": "declared_relation", "level": 9}, {"kind": "home_division", "level": 9}, {"kind": "last_inspector", "level": 9}],
        "home": {cert: rng.choice(villages) for cert, _s in inspectors[:30]},
        "relations": sorted([rng.choice(inspectors)[0], rng.choice(codes)] for _ in range(200)),
        "last": {code: sorted(rng.sample([c for c, _s in inspectors], 3)) for code in rng.sample(codes, 150)},
    }
    want_excluded, want_chosen = plain_draw(SEED, selected, inspectors, recusal, 3)
    assert sum(map(len, want_excluded.values())) > 600  # the rules really bite
    strata, chosen, excluded = algorithm.draw(SEED, {"B": data.splitlines(keepends=True)}, {"B": "15"}, inspectors, 3, recusal=recusal)
    assert strata["B"] == selected and excluded == want_excluded and chosen == want_chosen
    cover = algorithm.Coverage(inspectors)
    for _code, division in selected[:50]:
        assert cover(division) == algorithm.covering(inspectors, division)
    with pytest.raises(algorithm.PoolTooSmall):
        algorithm.assign(SEED, selected, inspectors[:1], {}, 2)


def test_assignment_with_a_cert_listed_twice_follows_the_plain_rule():
    """inspectors.csv never repeats a cert (the commit refuses), but the rule is defined for it too."""
    rng = random.Random(5)
    data = pool(600, rng, villages=["441900003001", "441900004001"])
    selected = algorithm.select_blocks(SEED, [data], 200, 600)
    inspectors = [("44190000001", ("441900003",)), ("44190000002", ("4419",)), ("44190000001", ("441900004",)),
                  ("44190000003", ("4419",)), ("44190000004", ("441900004",))]
    recusal = {"rules": [{"kind": "home_division", "level": 9}], "home": {"44190000003": "441900004001"}}
    want_excluded, want_chosen = plain_draw(SEED, selected, inspectors, recusal, 2)
    excluded = algorithm.exclusions(selected, inspectors, recusal)
    assert excluded == want_excluded
    assert algorithm.assign(SEED, selected, inspectors, excluded, 2) == want_chosen

