"""The tamper suite: signed checkpoints of the chain heads, kept outside the database (core.anchor),
let ``verify-trace`` name what a database writer did to the ledger — including what the chains'
own links cannot show (edit and re-hash, cut tail with the head wound back, a deleted chain, a
database restored from an older copy). Each attack is done as the issue describes it, with raw SQL
on the tables; the intact ledger passes. Runs on SQLite and PostgreSQL."""
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from tests.factories import make_bureau, make_user
from zhijian.core import anchor, signing, trace
from zhijian.core.models import Event, SigningKey, TraceAnchorLine, TraceEntry

pytestmark = pytest.mark.django_db

DG = "441900003001"  # 东莞
JN = "370102001001"  # 济南


def record(n, *, object_id="7", division=DG):
    return [trace.record(actor="tester", action="thing.changed", object_type="tests.thing", object_id=object_id,
                         division_code=division, before={"n": i}, after={"n": i + 1}) for i in range(n)]


def checkpoint(*args):
    out = io.StringIO()
    call_command("trace_checkpoint", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def verify_ok(*args) -> str:
    out = io.StringIO()
    call_command("verify_trace", *args, stdout=out)
    assert out.getvalue().startswith("OK:"), out.getvalue()
    return out.getvalue()


def verify_broken(*args) -> str:
    """verify-trace --all must fail (CommandError: exit 1); returns everything it said."""
    err = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("verify_trace", "--all", *args, stdout=io.StringIO(), stderr=err)
    return str(info.value) + "\n" + err.getvalue()


def sql(statement, params=()):
    with connection.cursor() as c:
        c.execute(statement, list(params))


def rehash_from(chain: str, seq: int) -> None:
    """What a careful forger does after editing entry ``seq``: recompute its hash, every later
    link and hash, and the chain head — the chain is consistent with itself again."""
    entries = list(TraceEntry.objects.filter(chain=chain).order_by("seq"))
    prev = None
    for e in entries:
        if e.seq >= seq:
            e.prev_hash = prev.hash if prev else ""
            e.hash = trace.entry_hash(e)
            sql("UPDATE core_traceentry SET prev_hash = %s, hash = %s WHERE id = %s", [e.prev_hash, e.hash, e.id])
        prev = e
    sql("UPDATE core_tracechain SET head_seq = %s, head_hash = %s WHERE name = %s", [prev.seq, prev.hash, chain])


def anchor_lines() -> list[dict]:
    return [json.loads(line) for line in Path(anchor.anchor_path()).read_text().splitlines()]


def append_line(obj: dict) -> None:
    with open(anchor.anchor_path(), "a") as fh:
        fh.write(anchor.line_text(obj) + "\n")


# --- the intact ledger -----------------------------------------------------------------------------------
def test_intact_ledger_passes_against_its_checkpoint():
    record(3)
    record(2, object_id="jn", division=JN)
    out = checkpoint()
    assert "checkpoint n=1" in out and "2 chains" in out
    lines = anchor_lines()
    assert [line["type"] for line in lines] == ["key", "checkpoint"]
    assert {c["name"][:4] for c in lines[1]["chains"]} == {"4419", "3701"}
    record(2)  # entries after the checkpoint: the chain has moved on, which is fine
    said = verify_ok()
    assert "7 entries in 2 chains intact" in said and "checkpoint n=1" in said


# --- the attacks of finding 1 ------------------------------------------------------------------------------
def test_edit_and_rehash_is_named():
    entries = record(7)
    chain = entries[0].chain
    checkpoint()  # checkpoint n=1 holds seq 7
    victim = entries[2]
    sql("UPDATE core_traceentry SET actor_label = %s WHERE id = %s", ["someone-else", victim.id])
    rehash_from(chain, victim.seq)
    # The chain's own links no longer show it (the finding): only the checkpoint does.
    assert trace.verify(local_anchor=False).ok
    said = verify_broken()
    assert f"entry id={entries[6].id} chain={chain} seq=7" in said
    assert "hash differs from checkpoint n=1" in said and "re-hashed" in said


def test_cut_tail_and_wound_back_head_is_named():
    entries = record(5)
    chain = entries[0].chain
    checkpoint()
    sql("DELETE FROM core_traceentry WHERE id IN (%s, %s)", [entries[3].id, entries[4].id])
    sql("UPDATE core_tracechain SET head_seq = 3, head_hash = %s WHERE name = %s", [entries[2].hash, chain])
    assert trace.verify(local_anchor=False).ok  # consistent with itself
    said = verify_broken()
    assert f"chain head chain={chain} seq=3" in said
    assert "chain ends at seq 3 but checkpoint n=1" in said and "up to seq 5: entries 4..5 are gone" in said


def test_deleted_chain_with_its_head_row_is_named():
    kept = record(2)
    gone = record(4, object_id="jn", division=JN)
    checkpoint()
    sql("DELETE FROM core_traceentry WHERE chain = %s", [gone[0].chain])
    sql("DELETE FROM core_tracechain WHERE name = %s", [gone[0].chain])
    assert trace.verify(local_anchor=False).ok
    said = verify_broken()
    assert f"chain={gone[0].chain}" in said and "chain is missing from the database" in said and "up to seq 4" in said
    assert kept[0].chain not in said


def test_swapped_entries_are_named():
    entries = record(4)
    checkpoint()
    a, b = entries[1], entries[2]
    sql("UPDATE core_traceentry SET seq = 1000 WHERE id = %s", [a.id])
    sql("UPDATE core_traceentry SET seq = %s WHERE id = %s", [a.seq, b.id])
    sql("UPDATE core_traceentry SET seq = %s WHERE id = %s", [b.seq, a.id])
    said = verify_broken()
    assert f"entry id={b.id} chain={a.chain} seq=2: hash mismatch" in said
    assert f"entry id={a.id} chain={a.chain} seq=3: hash mismatch" in said


def test_malformed_rows_are_named_not_a_traceback():
    entries = record(4)
    checkpoint()
    garbage = "not-a-date" if connection.vendor == "sqlite" else "infinity"  # PostgreSQL: a date Python cannot hold
    sql("UPDATE core_traceentry SET occurred_at = %s WHERE id = %s", [garbage, entries[1].id])
    sql("UPDATE core_traceentry SET hash = '' WHERE id = %s", [entries[3].id])
    with pytest.raises(Exception):  # what verify-trace used to do: a traceback (PostgreSQL: on loading; SQLite: on hashing None)
        trace.entry_hash(TraceEntry.objects.get(pk=entries[1].id))
    said = verify_broken()
    assert f"entry id={entries[1].id} chain={entries[0].chain} seq=2: malformed row: cannot read occurred_at" in said
    assert garbage in said
    assert f"entry id={entries[3].id} chain={entries[0].chain} seq=4: malformed row: cannot read hash" in said
    assert "Traceback" not in said


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_text_seq_on_sqlite_is_named_and_the_walk_ends():
    entries = record(5)
    sql("UPDATE core_traceentry SET seq = 'x' WHERE id = %s", [entries[2].id])
    report = trace.verify(batch=2)
    assert any(b.code == "malformed" and b.entry_id == entries[2].id and "seq" in b.problem for b in report.breaks)
    assert any(b.code == "seq_gap" and b.entry_id == entries[3].id for b in report.breaks)


def _rows(table):
    with connection.cursor() as c:
        c.execute(f"SELECT * FROM {table} ORDER BY id")
        return [col[0] for col in c.description], c.fetchall()


def _restore(table, snapshot):
    cols, rows = snapshot
    with connection.cursor() as c:
        c.execute(f"DELETE FROM {table}")
        if rows:
            c.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})", rows)


def test_database_restored_from_a_copy_before_the_latest_checkpoint_is_named():
    first = record(3)
    checkpoint()
    tables = ("core_traceentry", "core_tracechain", "core_traceanchorline")
    backup = {t: _rows(t) for t in tables}  # the copy, taken after checkpoint n=1
    later = record(2)  # the same chain moves on …
    new = record(2, object_id="jn", division=JN)  # … and a new chain starts
    checkpoint()
    for t in tables:
        _restore(t, backup[t])
    assert trace.verify(local_anchor=False).ok  # the old copy is consistent with itself
    said = verify_broken()
    assert f"chain={first[0].chain}" in said and "chain ends at seq 3 but checkpoint n=2" in said and "entries 4..5 are gone" in said
    assert f"chain={new[0].chain}" in said and "chain is missing from the database" in said
    assert later[0].chain == first[0].chain


# --- keys ------------------------------------------------------------------------------------------------
def test_key_rotation_keeps_old_checkpoints_verifiable(settings):
    settings.SIGNING_KEY = ""
    record(2)
    checkpoint()
    old_kid = anchor_lines()[0]["kid"]
    new_key = signing.rotate()
    record(2)
    out = checkpoint()
    assert f"key {new_key.kid} pinned (signed by {old_kid})" in out and "checkpoint n=2" in out
    lines = anchor_lines()
    assert [(x["type"], x["kid"]) for x in lines] == [("key", old_kid), ("checkpoint", old_kid), ("key", new_key.kid),
                                                        ("checkpoint", new_key.kid)]
    view = anchor.read_anchor(anchor.anchor_path())
    assert not view.problems and view.checkpoints == 2 and set(view.keys) == {old_kid, new_key.kid}
    verify_ok()


def test_replaced_environment_key_needs_the_previous_seed(settings, tmp_path):
    old, new = bytes(range(32)), bytes(range(1, 33))
    settings.SIGNING_KEY = old.hex()
    record(1)
    checkpoint()
    settings.SIGNING_KEY = new.hex()  # the operator replaced ZHIJIAN_SIGNING_KEY
    record(1)
    with pytest.raises(CommandError, match="--previous-seed-file"):
        checkpoint()
    seed_file = tmp_path / "old.seed"
    seed_file.write_text(old.hex())
    assert "checkpoint n=2" in checkpoint("--previous-seed-file", str(seed_file))
    verify_ok()


def test_forged_checkpoints_and_keys_are_refused():
    entries = record(5)
    chain = entries[0].chain
    checkpoint()
    pinned = anchor_lines()[0]
    # The forger cuts the tail, winds the head back, and anchors the shortened chain with his own
    # key — which he also puts into the database's key table.
    sql("DELETE FROM core_traceentry WHERE id = %s", [entries[4].id])
    sql("UPDATE core_tracechain SET head_seq = 4, head_hash = %s WHERE name = %s", [entries[3].hash, chain])
    forger = Ed25519PrivateKey.generate()
    forger_pub = anchor.public_b64(forger)
    SigningKey.objects.create(kid="k20990101-forged", public_key=forger_pub, external=True)
    forged = {"type": "checkpoint", "n": 2, "at": "2099-01-01T00:00:00+00:00", "reason": "manual", "kid": "k20990101-forged",
              "public_key": forger_pub, "chains": [{"name": chain, "seq": 4, "hash": entries[3].hash}]}
    forged["sig"] = anchor._sign(forger, forged)
    append_line(forged)
    said = verify_broken()
    assert "checkpoint n=2 is signed with key k20990101-forged, which the anchor does not pin (forged?); refused" in said
    assert "chain ends at seq 4 but checkpoint n=1" in said  # n=1 still stands, the damage is named
    # Nor does the bureau's own checkpointing build on the forged line (it would carry its heads over).
    with pytest.raises(CommandError, match="k20990101-forged.*锚定文件可能被篡改"):
        checkpoint()

    # The same with the pinned kid and public key written on it: the signature does not verify.
    posing = {**forged, "n": 3, "kid": pinned["kid"], "public_key": pinned["public_key"]}
    posing["sig"] = anchor._sign(forger, posing)
    append_line(posing)
    # A key change to the forger's key, not signed by the pinned key.
    change = {"type": "key", "kid": "k20990101-forged", "public_key": forger_pub, "prev_kid": pinned["kid"], "at": forged["at"]}
    change["sig"] = change["proof"] = anchor._sign(forger, change)
    append_line(change)
    said = verify_broken()
    assert "checkpoint n=3 does not verify with the pinned key" in said
    assert f"the change to key k20990101-forged is not signed by the previous key {pinned['kid']}; refused" in said


def test_a_key_replaced_in_the_database_is_named():
    record(1)
    checkpoint()
    kid = anchor_lines()[0]["kid"]
    SigningKey.objects.filter(kid=kid).update(public_key=anchor.public_b64(Ed25519PrivateKey.generate()))
    assert f"signing key {kid} in the database has another public key than the anchor pins" in verify_broken()


# --- the anchor file itself ------------------------------------------------------------------------------
def test_deleted_or_truncated_anchor_file_is_named_and_not_silently_restarted():
    record(2)
    checkpoint()
    record(1)
    checkpoint()
    path = Path(anchor.anchor_path())
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]))  # the last checkpoint cut off
    assert "ends at checkpoint n=1, the database lists checkpoints up to n=2" in verify_broken()
    path.unlink()
    assert "is missing or holds no checkpoint, but the database lists checkpoints up to n=2" in verify_broken()
    with pytest.raises(CommandError, match="--restart-anchor"):
        checkpoint()
    assert "checkpoint n=3" in checkpoint("--restart-anchor")
    assert anchor_lines()[0]["restart_after"] == 2
    verify_ok()


def test_an_auditors_copy_catches_a_rewrite_with_the_signing_key(tmp_path):
    """Whoever holds the signing key (SECRET_KEY and the database) can rewrite the ledger and start
    the local anchor again; a copy kept elsewhere still names the rewrite."""
    entries = record(4)
    checkpoint()
    copy = tmp_path / "auditor.jsonl"
    copy.write_text(Path(anchor.anchor_path()).read_text())
    sql("UPDATE core_traceentry SET actor_label = %s WHERE id = %s", ["forger", entries[0].id])
    rehash_from(entries[0].chain, 1)
    Path(anchor.anchor_path()).unlink()
    TraceAnchorLine.objects.all().delete()
    checkpoint()  # a fresh, validly signed anchor over the rewritten ledger
    verify_ok()  # the local anchor alone cannot tell (docs/security.md)
    said = verify_broken("--anchor", str(copy))
    assert "hash differs from checkpoint n=1 of " + str(copy) in said
    assert "hold different checkpoints n=1" in said


# --- when checkpoints are taken ------------------------------------------------------------------------
def test_the_schedule_takes_no_checkpoint_when_nothing_changed():
    from zhijian.deadlines.scheduling import autodiscover, registry, run_sweep

    autodiscover()
    assert registry()["trace.checkpoint"].every.total_seconds() == 600
    assert run_sweep("trace.checkpoint", due_only=False) == (True, "留痕链无变化，未生成检查点")  # nothing recorded yet
    assert not Path(anchor.anchor_path()).exists()
    record(2)
    ran, message = run_sweep("trace.checkpoint", due_only=False)
    assert "第 1 号" in message
    assert run_sweep("trace.checkpoint", due_only=False)[1] == "留痕链无变化，未生成检查点"
    assert [x["type"] for x in anchor_lines()] == ["key", "checkpoint"]
    record(1)
    assert "第 2 号" in run_sweep("trace.checkpoint", due_only=False)[1]
    assert TraceAnchorLine.objects.filter(kind="checkpoint").count() == 2


def test_a_held_chain_is_carried_over_not_laundered():
    """After damage, later checkpoints keep the last good head of the damaged chain, so the newest
    checkpoint still names it."""
    entries = record(4)
    other = record(1, object_id="jn", division=JN)
    checkpoint()
    sql("DELETE FROM core_traceentry WHERE id = %s", [entries[3].id])
    sql("UPDATE core_tracechain SET head_seq = 3, head_hash = %s WHERE name = %s", [entries[2].hash, entries[0].chain])
    record(1, object_id="jn", division=JN)
    err = io.StringIO()
    call_command("trace_checkpoint", stdout=io.StringIO(), stderr=err)
    assert f"chain {entries[0].chain} disagrees with the last checkpoint and is held at it" in err.getvalue()
    latest = {c["name"]: c["seq"] for c in anchor_lines()[-1]["chains"]}
    assert latest == {entries[0].chain: 4, other[0].chain: 2}
    assert "chain ends at seq 3 but checkpoint n=2" in verify_broken()


def test_sealing_checkpoints_once_per_transaction_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            record(1)
            anchor.checkpoint_on_commit()
            record(1, object_id="8")
            anchor.checkpoint_on_commit()
            assert not Path(anchor.anchor_path()).exists()  # nothing before the commit
    assert len(callbacks) == 1
    cps = [x for x in anchor_lines() if x["type"] == "checkpoint"]
    assert len(cps) == 1 and cps[0]["reason"] == "seal"


# --- where the checkpoints go --------------------------------------------------------------------------
def test_checkpoint_event_reaches_subscribers_and_verifies():
    from zhijian.core import webhooks
    from zhijian.core.models import WebhookSubscription

    record(2)
    checkpoint()
    event = Event.objects.get(type="trace.checkpoint")
    cp = event.payload["checkpoint"]
    assert cp == anchor_lines()[1]
    assert anchor.signature_valid(event.payload["keys"][0]["public_key"], cp, cp["sig"])
    assert trace.action_label("trace.checkpoint") == "留痕链检查点"
    everyone = WebhookSubscription.objects.create(name="省局", url="https://example.org/hook", secret="s", event_types="trace.*")
    dongguan = WebhookSubscription.objects.create(name="东莞审计", url="https://example.org/dg", secret="s", event_types="trace.checkpoint",
                                                  division_prefixes="4419")
    jinan = WebhookSubscription.objects.create(name="济南审计", url="https://example.org/jn", secret="s", event_types="*",
                                               division_prefixes="3701")
    assert webhooks.matches(everyone, everyone.prefixes(), event)
    assert webhooks.matches(dongguan, dongguan.prefixes(), event)
    assert not webhooks.matches(jinan, jinan.prefixes(), event)  # no chain of 济南 in it


def test_public_portal_lists_checkpoints_and_keys_without_login(client, tmp_path):
    record(2)
    checkpoint()
    record(1, object_id="jn", division=JN)
    checkpoint()
    page = client.get("/p/trace/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "监管留痕检查点公示" in text and "第 2 号" in text and anchor_lines()[0]["public_key"] in text
    body = client.get("/p/trace/anchor.jsonl")
    assert body.status_code == 200 and body["Content-Type"].startswith("application/jsonl")
    assert body.content.decode() == Path(anchor.anchor_path()).read_text()
    data = client.get("/p/trace/checkpoints.json").json()
    assert [c["n"] for c in data["checkpoints"]] == [1, 2] and len(data["keys"]) == 1
    assert set(data["checkpoints"][0]) == {"type", "n", "at", "reason", "kid", "public_key", "chains", "sig"}
    # An outsider's copy verifies the ledger on its own.
    copy = tmp_path / "outsider.jsonl"
    copy.write_bytes(body.content)
    verify_ok("--no-local-anchor", "--anchor", str(copy))
    entries = TraceEntry.objects.filter(division_code=DG).order_by("seq")
    sql("UPDATE core_traceentry SET actor_label = 'x' WHERE id = %s", [entries[0].id])
    rehash_from(entries[0].chain, 1)
    assert "hash differs from checkpoint n=2 of " + str(copy) in verify_broken("--no-local-anchor", "--anchor", str(copy))


# --- the API ---------------------------------------------------------------------------------------------
def test_verify_api_answers_in_chinese_as_its_schema_says(client_for):
    bureau = make_bureau("4419")
    entries = record(3)
    checkpoint()
    auditor = client_for(make_user("audit_admin", bureau=bureau))
    data = auditor.get("/api/v1/trace/verify/").json()
    assert data["ok"] is True and data["anchors"][0]["n"] == 1 and "已与第 1 号检查点" in data["summary"]
    sql("DELETE FROM core_traceentry WHERE id = %s", [entries[2].id])
    sql("UPDATE core_tracechain SET head_seq = 2, head_hash = %s WHERE name = %s", [entries[1].hash, entries[0].chain])
    data = auditor.get("/api/v1/trace/verify/").json()
    first = data["first_break"]
    assert data["ok"] is False and first["code"] == "checkpoint_behind" and first["chain"] == entries[0].chain
    assert first["problem"].startswith("链只到第 2 条，而第 1 号检查点已记录到第 3 条")
    assert "留痕链已损坏" in data["summary"]

    schema = auditor.get("/api/v1/schema/", {"format": "json"}).json()
    ok = schema["paths"]["/api/v1/trace/verify/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Verify"}, ok  # one object, not an array of them
    components = schema["components"]["schemas"]
    assert set(components["Verify"]["properties"]) == set(data) and set(components["Verify"]["required"]) == set(data)
    assert set(components["Break"]["properties"]) == set(first)


def test_verify_reads_the_ledger_in_bounded_batches():
    """Memory stays flat on a long ledger: entries are read in keyset pages of ``batch`` rows, and no
    query fetches the whole table (the chain list is a real DISTINCT, not one row per entry)."""
    from django.test.utils import CaptureQueriesContext

    record(30)
    checkpoint()
    with CaptureQueriesContext(connection) as ctx:
        report = trace.verify(batch=7)
    assert report.ok and report.checked == 30
    reads = [q["sql"] for q in ctx.captured_queries if 'FROM "core_traceentry"' in q["sql"]]
    pages = [s for s in reads if "LIMIT 7" in s]
    assert len(pages) == 5  # 7 + 7 + 7 + 7 + 2
    others = [s for s in reads if s not in pages]
    assert all("DISTINCT" in s and '"core_traceentry"."id"' not in s for s in others), others
