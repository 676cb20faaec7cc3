"""Trace ledger: chained entries, tamper detection by command and API, Ed25519 signing."""
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from tests.factories import make_bureau, make_user
from zhijian.core import signing, trace
from zhijian.core.models import SigningKey, TraceChain, TraceEntry

ROOT = Path(__file__).resolve().parents[2]


def _record_many(n, *, division="441900003001", object_id="7", sign=False):
    return [
        trace.record(actor="tester", action="thing.changed", object_type="tests.thing", object_id=object_id,
                     division_code=division, before={"n": i}, after={"n": i + 1}, sign=sign)
        for i in range(n)
    ]


def subprocess_env():
    """Point a child process at this test's database."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{s['NAME']}"
    else:
        url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return {**os.environ, "ZHIJIAN_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}


@pytest.mark.django_db
def test_entries_chain_per_object_with_digests():
    """Entries of one object form a gap-free chain; before/after are SHA-256 of canonical JSON."""
    entries = _record_many(3)
    assert {e.chain for e in entries} == {entries[0].chain}
    assert entries[0].chain.startswith("4419:")
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == ""
    assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
    assert entries[0].before_digest == signing.digest({"n": 0})
    assert signing.canonical_json({"b": 1, "a": "监管"}) == '{"a":"监管","b":1}'.encode()
    head = TraceChain.objects.get(name=entries[0].chain)
    assert (head.head_seq, head.head_hash) == (3, entries[2].hash)
    call_command("verify_trace")


@pytest.mark.django_db
def test_record_takes_object_and_actor():
    """obj gives type, id and division (through scope_field); a user gives id and username."""
    bureau = make_bureau("4419")
    user = make_user("leader", bureau=bureau)
    entry = trace.record(actor=user, action="bureau.changed", obj=bureau, before=None, after={"name": bureau.name})
    assert (entry.object_type, entry.object_id, entry.division_code) == ("org.bureau", str(bureau.pk), bureau.division_code)
    assert (entry.actor_id, entry.actor_label) == (user.pk, user.username)
    assert entry.before_digest == ""


@pytest.mark.django_db
def test_entry_rolls_back_with_callers_transaction():
    """The entry lives in the caller's transaction."""
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            _record_many(1)
            raise RuntimeError("service failed")
    assert not TraceEntry.objects.exists()
    assert trace.verify().ok


@pytest.mark.django_db
def test_raw_sql_edit_is_found_and_named():
    """An entry altered directly in the database is named by verify_trace (id, chain, what)."""
    entries = _record_many(5)
    victim = entries[2]
    with connection.cursor() as c:
        c.execute("UPDATE core_traceentry SET actor_label = %s WHERE id = %s", ["someone-else", victim.id])
    with pytest.raises(CommandError) as info:
        call_command("verify_trace")
    message = str(info.value)
    assert f"entry id={victim.id}" in message and f"chain={victim.chain}" in message and "hash mismatch" in message


@pytest.mark.django_db
def test_deleted_middle_entry_is_found():
    entries = _record_many(5)
    with connection.cursor() as c:
        c.execute("DELETE FROM core_traceentry WHERE id = %s", [entries[2].id])
    report = trace.verify()
    assert not report.ok
    first = report.breaks[0]
    assert (first.entry_id, first.seq) == (entries[3].id, 4)
    assert "seq gap" in first.problem and "3" in first.problem
    assert any("prev_hash mismatch" in b.problem and b.entry_id == entries[3].id for b in report.breaks)


@pytest.mark.django_db
def test_cut_tail_and_rehashed_edit_are_found():
    """Deleting the last entry breaks the head; re-hashing an edited entry breaks the next link."""
    entries = _record_many(4)
    with connection.cursor() as c:
        c.execute("DELETE FROM core_traceentry WHERE id = %s", [entries[3].id])
    report = trace.verify()
    assert [b.problem for b in report.breaks] == ["chain head does not match the last entry (entries cut from the end, or head edited)"]

    TraceEntry.objects.all().delete()
    TraceChain.objects.all().delete()
    entries = _record_many(3)
    forged = TraceEntry.objects.get(pk=entries[1].pk)
    forged.actor_label = "forger"
    forged.hash = trace.entry_hash(forged)  # a careful forger recomputes the hash…
    with connection.cursor() as c:
        c.execute("UPDATE core_traceentry SET actor_label = %s, hash = %s WHERE id = %s", [forged.actor_label, forged.hash, forged.id])
    first = trace.verify().breaks[0]
    assert first.entry_id == entries[2].id and "prev_hash mismatch" in first.problem  # …and is caught by the next link


@pytest.mark.django_db(transaction=True)
def test_verify_trace_subprocess_exit_codes():
    """`manage.py verify_trace` exits 0 when intact and non-zero, naming the entry, when not."""
    entries = _record_many(3, division="370102001001")
    cmd = [sys.executable, str(ROOT / "manage.py"), "verify_trace"]
    ok = subprocess.run(cmd, env=subprocess_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "3 entries" in ok.stdout
    with connection.cursor() as c:
        c.execute("UPDATE core_traceentry SET after_digest = %s WHERE id = %s", ["0" * 64, entries[1].id])
    bad = subprocess.run(cmd, env=subprocess_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert f"entry id={entries[1].id}" in bad.stderr and "chain=3701:" in bad.stderr and "hash mismatch" in bad.stderr


@pytest.mark.django_db
def test_signatures_survive_rotation_and_fail_on_tamper(settings):
    settings.SIGNING_KEY = ""
    payload = {"licence": "91441900MA5XXXXX0X", "名称": "东莞市测试商贸有限公司", "n": 1}
    first = signing.sign(payload)
    assert signing.verify(payload, **{"kid": first["kid"], "sig": first["sig"]})
    new_key = signing.rotate()
    assert new_key.kid != first["kid"]
    assert SigningKey.objects.filter(active=True).get().kid == new_key.kid
    second = signing.sign(payload)
    assert second["kid"] == new_key.kid
    # Old signatures still verify with the retired key; both fail once the payload changes.
    assert signing.verify(payload, first["kid"], first["sig"])
    assert signing.verify(payload, second["kid"], second["sig"])
    tampered = {**payload, "n": 2}
    assert not signing.verify(tampered, first["kid"], first["sig"])
    assert not signing.verify(tampered, second["kid"], second["sig"])
    assert not signing.verify(payload, first["kid"], second["sig"])
    assert not signing.verify(payload, "no-such-key", first["sig"])
    # The private key is not stored in the clear.
    seed = signing._unwrap(new_key.private_key_enc, new_key.kid)
    assert seed.hex() not in new_key.private_key_enc and len(seed) == 32


@pytest.mark.django_db
def test_env_seed_signs_and_only_public_half_is_stored(settings):
    seed = bytes(range(32))
    settings.SIGNING_KEY = seed.hex()
    signed = signing.sign({"a": 1})
    assert signed["kid"].startswith("env-")
    key = SigningKey.objects.get(kid=signed["kid"])
    assert key.external and key.private_key_enc == ""
    settings.SIGNING_KEY = ""
    assert signing.verify({"a": 1}, signed["kid"], signed["sig"])  # after the env key is gone


@pytest.mark.django_db
def test_signed_entry_tamper_found_by_signature_check():
    entries = _record_many(2, sign=True)
    assert entries[0].signature and entries[0].kid
    call_command("verify_trace")
    with connection.cursor() as c:
        c.execute("UPDATE core_traceentry SET signature = %s WHERE id = %s", [entries[1].signature[:-4] + "AAAA", entries[1].id])
    first = trace.verify().breaks[0]
    assert first.entry_id == entries[1].id and "signature invalid" in first.problem


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain_on_postgres():
    """Eight threads appending to one chain at once: seqs 1..N without gaps, links intact."""
    errors = []

    def work():
        try:
            for _ in range(25):
                with transaction.atomic():
                    _record_many(1, object_id="hot")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(TraceEntry.objects.values_list("seq", flat=True)) == list(range(1, 201))
    assert trace.verify().ok


@pytest.mark.django_db
def test_verify_api_is_for_auditors_and_leaders(client_for):
    bureau = make_bureau("4419")
    _record_many(2)
    assert client_for(make_user("enforcement_officer", bureau=bureau)).get("/api/v1/trace/verify/").status_code == 403
    auditor = make_user("audit_admin", bureau=bureau)
    data = client_for(auditor).get("/api/v1/trace/verify/").json()
    assert data["ok"] is True and data["checked"] == 2 and data["first_break"] is None
    entry = TraceEntry.objects.order_by("seq").first()
    with connection.cursor() as c:
        c.execute("UPDATE core_traceentry SET action = %s WHERE id = %s", ["x", entry.id])
    data = client_for(make_user("leader", bureau=bureau)).get("/api/v1/trace/verify/").json()
    assert data["ok"] is False and data["first_break"]["entry_id"] == entry.id


@pytest.mark.django_db
def test_entry_list_is_scoped_by_division(client_for):
    _record_many(2, division="441900003001", object_id="dg")
    _record_many(1, division="370102001001", object_id="jn")
    officer = make_user("enforcement_officer", jurisdiction="4419")
    rows = client_for(officer).get("/api/v1/trace/entries/", {"object_type": "tests.thing"}).json()["results"]
    assert {r["object_id"] for r in rows} == {"dg"} and len(rows) == 2
    rows = client_for(officer).get("/api/v1/trace/entries/", {"object_type": "tests.thing", "object_id": "jn"}).json()["results"]
    assert rows == []
    # The audit administrator sees no business data but reads the whole ledger.
    rows = client_for(make_user("audit_admin", jurisdiction="4419")).get("/api/v1/trace/entries/").json()["results"]
    assert {r["object_id"] for r in rows} == {"dg", "jn"}
