"""The draw algorithm's fast paths give exactly what the plain rules of docs/draws.md give."""
from __future__ import annotations

import hashlib
import random

import pytest

from zhijian.draws import algorithm

SEED = bytes(range(32))


def textbook_positions(seed, stratum, n, k):
    """The partial Fisher–Yates shuffle of docs/draws.md over a whole list of places."""
    places = list(range(n))
    for i in range(min(k, n)):
        u = int.from_bytes(hashlib.sha256(seed + b"entity:" + stratum.encode() + b":" + str(i).encode()).digest(), "big")
        j = i + u % (n - i)
        places[i], places[j] = places[j], places[i]
    return places[: min(k, n)]


def plain_select(seed, data: bytes, k, stratum="B"):
    """docs/draws_verify.py's selection."""
    rows = [ln.split(",") for ln in data.decode("utf-8").splitlines() if ln]
    return [(rows[p][0], rows[p][1]) for p in textbook_positions(seed, stratum, len(rows), k)]


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
        words = [int.from_bytes(hashlib.sha256(seed + b"inspector:" + code.encode() + b":" + str(t // 4).encode()).digest()[8 * (t % 4):][:8], "big")
                 for t in range(per_entity)]
        chosen[code] = []
        for t in range(per_entity):
            low = min(load.get(c, 0) for c in eligible)
            tied = [c for c in eligible if load.get(c, 0) == low]
            chosen[code].append(tied[words[t] % len(tied)])
            eligible.remove(chosen[code][-1])
        for c in chosen[code]:
            load[c] = load.get(c, 0) + 1
    return excluded, chosen


def pool(n, rng, *, villages=("441900003001", "441900003002", "441900004001", "441900005")):
    codes = {f"91441900{rng.randrange(10**9):09d}{rng.choice('0123456789ABCDEFGH')}" for _ in range(n)}
    return b"".join(f"{c},{rng.choice(villages)}\n".encode() for c in sorted(codes))


@pytest.mark.parametrize("n,k", [(5000, 40), (3000, 2999), (3000, 3000), (3000, 3500), (1, 1), (0, 3), (800, 0), (2, 1)])
def test_sparse_shuffle_equals_the_textbook_shuffle(n, k):
    for stratum in "AD":
        assert algorithm.positions(SEED, stratum, n, k) == textbook_positions(SEED, stratum, n, k)
    picked = algorithm.positions(SEED, "B", n, k)
    assert len(set(picked)) == len(picked) == min(n, k) and all(0 <= p < n for p in picked)


def test_strata_and_seeds_draw_independently_and_every_line_has_the_same_chance():
    assert algorithm.positions(SEED, "A", 1000, 50) != algorithm.positions(SEED, "B", 1000, 50)
    assert algorithm.positions(SEED, "B", 1000, 50) != algorithm.positions(bytes(32), "B", 1000, 50)
    # 4,000 seeds, 3 of 10 lines each: every line is drawn 1,200 times in expectation (sd ≈ 29).
    hits = [0] * 10
    for i in range(4000):
        for p in algorithm.positions(i.to_bytes(32, "big"), "B", 10, 3):
            hits[p] += 1
    assert all(abs(h - 1200) < 150 for h in hits), hits
    # …and the first place (rank 1) is uniform too.
    first = [0] * 10
    for i in range(4000):
        first[algorithm.positions(i.to_bytes(32, "big"), "C", 10, 1)[0]] += 1
    assert all(abs(f - 400) < 100 for f in first), first


def test_picked_lines_are_those_of_the_file_and_a_malformed_file_is_refused():
    data = pool(3000, random.Random(9))
    lines = data.decode().splitlines()
    picks = algorithm.positions(SEED, "B", len(lines), 700)
    assert algorithm.pick_lines(data, picks) == [tuple(lines[p].split(",")) for p in picks]
    assert algorithm.pick_lines(data, [0, len(lines) - 1]) == [tuple(lines[0].split(",")), tuple(lines[-1].split(","))]
    assert algorithm.pick_lines(data, [len(lines)]) is None and algorithm.pick_lines(data, []) == []
    assert algorithm.pick_lines(data[:-1], picks) is None  # the last line lost its newline
    broken = data.replace(lines[picks[0]].encode(), lines[picks[0]].replace(",", ";").encode(), 1)
    assert algorithm.pick_lines(broken, picks) is None
    assert algorithm.select_stratum(SEED, "B", data.splitlines(keepends=True), 700) == plain_select(SEED, data, 700)


def test_indexed_recusal_and_assignment_equal_the_scan_over_all_inspectors():
    rng = random.Random(11)
    villages = [f"4419000{t:02d}{v:03d}" for t in range(3, 9) for v in range(1, 5)]
    data = pool(4000, rng, villages=villages)
    selected = algorithm.select_stratum(SEED, "B", data.splitlines(keepends=True), 600)
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


def test_assignment_balances_the_load_and_more_than_four_picks_use_further_blocks():
    """Every inspector covering everything ends with the same number of entities (± 1), pairs
    vary, and a draw of 6 inspectors per entity (two hash blocks) follows the plain rule."""
    rng = random.Random(5)
    data = pool(600, rng, villages=["441900003001", "441900004001"])
    selected = algorithm.select_stratum(SEED, "B", data.splitlines(keepends=True), 200)
    inspectors = [(f"4419000000{i}", ("4419",)) for i in range(7)]
    chosen = algorithm.assign(SEED, selected, inspectors, {}, 2)
    loads = [sum(cert in c for c in chosen.values()) for cert, _s in inspectors]
    assert max(loads) - min(loads) <= 1 and sum(loads) == 400
    assert len({tuple(sorted(c)) for c in chosen.values()}) > 15  # of the 21 possible pairs
    recusal = {"rules": [{"kind": "home_division", "level": 9}], "home": {"44190000003": "441900004001"}}
    want_excluded, want_chosen = plain_draw(SEED, selected, inspectors, recusal, 6)
    excluded = algorithm.exclusions(selected, inspectors, recusal)
    assert excluded == want_excluded
    assert algorithm.assign(SEED, selected, inspectors, excluded, 6) == want_chosen
    with pytest.raises(ValueError):
        algorithm.parse_inspectors(b"44190000001,4419,A\n44190000001,4420,B\n")
