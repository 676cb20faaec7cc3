"""Recompute a Zhijian double-random draw from its published files (standard library only).

    python draws_verify.py DIR      # DIR holds draw.json, entities-A..D.csv, inspectors.csv, result.csv

Exit 0 when the recomputation equals result.csv; otherwise 1 and the first difference.
The algorithm is described in docs/draws.md.
"""
import hashlib, heapq, json, sys
from pathlib import Path

d = Path(sys.argv[1])
meta = json.loads((d / "draw.json").read_text("utf-8"))
seed = bytes.fromhex(meta["seed"])
assert hashlib.sha256(seed).hexdigest() == meta["seed_sha256"], "seed does not match its commitment"
for name, sha in meta["files"].items():
    assert hashlib.sha256((d / name).read_bytes()).hexdigest() == sha, f"{name} differs from its published SHA-256"
key = lambda *parts: hashlib.sha256(seed + b"".join(parts)).digest()
selected = {}  # stratum -> [(code, division)] in key order
for s in "ABCD":
    rows = [ln.split(",") for ln in (d / f"entities-{s}.csv").read_text("utf-8").splitlines() if ln]
    selected[s] = heapq.nsmallest(meta["quota"][s], rows, key=lambda r: key(b"entity:", r[0].encode()))
inspectors = [ln.split(",", 2)[:2] for ln in (d / "inspectors.csv").read_text("utf-8").splitlines() if ln]
published = [ln.split(",") for ln in (d / "result.csv").read_text("utf-8").splitlines() if ln]
excluded = {r[2]: set(filter(None, r[4].split(";"))) for r in published}
load, chosen = {}, {}
for code, division in sorted(r for s in "ABCD" for r in selected[s]):
    eligible = [c for c, scope in inspectors if any(division.startswith(p) for p in scope.split(";")) and c not in excluded.get(code, ())]
    eligible.sort(key=lambda c: (load.get(c, 0), key(b"inspector:", code.encode(), b":", c.encode())))
    chosen[code] = eligible[: meta["per_entity"]]
    for c in chosen[code]:
        load[c] = load.get(c, 0) + 1
mine = [[s, str(i), code, ";".join(chosen[code])] for s in "ABCD" for i, (code, _) in enumerate(selected[s], 1)]
for want, got in zip(mine + [None] * len(published), published + [None] * len(mine)):
    if want != (got[:4] if got else None):
        sys.exit(f"DIFFERENT: recomputed {want} but published {got}")
print(f"OK: {len(mine)} entities and their inspectors recomputed exactly")
