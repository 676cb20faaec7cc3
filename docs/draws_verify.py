"""Recompute a Zhijian double-random draw from its published files (standard library only).

    python draws_verify.py DIR      # DIR holds draw.json, entities-A..D.csv, inspectors.csv, result.csv

Exit 0 when the recomputation equals result.csv; otherwise 1 and the first difference.
The algorithm is described in docs/draws.md.
"""
import hashlib, json, sys
from pathlib import Path

d = Path(sys.argv[1])
meta = json.loads((d / "draw.json").read_text("utf-8"))
seed = bytes.fromhex(meta["seed"])
assert hashlib.sha256(seed).hexdigest() == meta["seed_sha256"], "seed does not match its commitment"
assert meta["algorithm"] == "zhijian-draw/2", f"this script checks zhijian-draw/2, not {meta['algorithm']}"
for name, sha in meta["files"].items():
    assert hashlib.sha256((d / name).read_bytes()).hexdigest() == sha, f"{name} differs from its published SHA-256"
key = lambda *parts: hashlib.sha256(seed + b"".join(parts)).digest()
selected = {}  # stratum -> [(code, division)] in draw order: a partial Fisher–Yates shuffle of the line numbers
for s in "ABCD":
    rows = [ln.split(",") for ln in (d / f"entities-{s}.csv").read_text("utf-8").splitlines() if ln]
    n, moved, selected[s] = len(rows), {}, []
    assert n == meta["counts"][s], f"entities-{s}.csv has {n} lines, draw.json says {meta['counts'][s]}"
    for i in range(min(meta["quota"][s], n)):
        j = i + int.from_bytes(key(b"entity:", s.encode(), b":", str(i).encode()), "big") % (n - i)
        selected[s].append(rows[moved.get(j, j)])
        moved[j] = moved.get(i, i)
inspectors = [ln.split(",", 2)[:2] for ln in (d / "inspectors.csv").read_text("utf-8").splitlines() if ln]
published = [ln.split(",") for ln in (d / "result.csv").read_text("utf-8").splitlines() if ln]
excluded = {r[2]: set(filter(None, r[4].split(";"))) for r in published}
load, chosen = {}, {}
for code, division in sorted(r for s in "ABCD" for r in selected[s]):
    eligible = [c for c, scope in inspectors if any(division.startswith(p) for p in scope.split(";")) and c not in excluded.get(code, ())]
    words = b"".join(key(b"inspector:", code.encode(), b":", str(b).encode()) for b in range((meta["per_entity"] + 3) // 4))
    chosen[code] = []
    for t in range(meta["per_entity"]):
        low = min(load.get(c, 0) for c in eligible)
        tied = [c for c in eligible if load.get(c, 0) == low]
        pick = tied[int.from_bytes(words[8 * t : 8 * t + 8], "big") % len(tied)]
        chosen[code].append(pick)
        eligible.remove(pick)
    for c in chosen[code]:
        load[c] = load.get(c, 0) + 1
mine = [[s, str(i), code, ";".join(chosen[code])] for s in "ABCD" for i, (code, _) in enumerate(selected[s], 1)]
for want, got in zip(mine + [None] * len(published), published + [None] * len(mine)):
    if want != (got[:4] if got else None):
        sys.exit(f"DIFFERENT: recomputed {want} but published {got}")
print(f"OK: {len(mine)} entities and their inspectors recomputed exactly")
