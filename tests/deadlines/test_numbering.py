"""Document numbers: per bureau, type and year; gap-free; safe under concurrency."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from tests.factories import make_bureau
from zhijian.core.errors import ApplicationError
from zhijian.deadlines.choices import DocType
from zhijian.deadlines.models import DocumentSequence
from zhijian.deadlines.numbering import bureau_for_division, next_number, next_numbers


@pytest.fixture
def dongguan(db):
    bureau = make_bureau("4419")
    bureau.short_name = "莞市监"
    bureau.save()
    return bureau


def test_format_and_independent_sequences(dongguan):
    assert next_number(bureau=dongguan, doc_type=DocType.PENALTY_DECISION, year=2026) == (1, "莞市监罚〔2026〕1号")
    assert next_number(bureau=dongguan, doc_type=DocType.PENALTY_DECISION, year=2026) == (2, "莞市监罚〔2026〕2号")
    assert next_number(bureau=dongguan, doc_type=DocType.CASE_FILING, year=2026) == (1, "莞市监立〔2026〕1号")
    assert next_number(bureau=dongguan, doc_type=DocType.CORRECTION_ORDER, year=2026)[1] == "莞市监责改〔2026〕1号"
    assert next_number(bureau=dongguan, doc_type=DocType.PENALTY_DECISION, year=2027)[1] == "莞市监罚〔2027〕1号"
    other = make_bureau("4403")
    other.short_name = "深市监"
    other.save()
    assert next_number(bureau=other, doc_type=DocType.PENALTY_DECISION, year=2026)[1] == "深市监罚〔2026〕1号"
    DocumentSequence.objects.filter(bureau=dongguan, doc_type=DocType.PENALTY_DECISION, year=2026).update(last_number=11)
    assert next_number(bureau=dongguan, doc_type=DocType.PENALTY_DECISION, year=2026)[1] == "莞市监罚〔2026〕12号"


def test_refuses_unknown_type_and_missing_short_name(dongguan):
    with pytest.raises(ApplicationError, match="未知的文书类型"):
        next_number(bureau=dongguan, doc_type="memo", year=2026)
    dongguan.short_name = ""
    with pytest.raises(ApplicationError, match="未设置机关代字"):
        next_number(bureau=dongguan, doc_type=DocType.PENALTY_DECISION, year=2026)


@pytest.mark.django_db(transaction=True)
def test_rolled_back_caller_does_not_burn_a_number():
    bureau = make_bureau("4419")
    bureau.short_name = "莞市监"
    bureau.save()
    assert next_number(bureau=bureau, doc_type=DocType.PENALTY_DECISION, year=2026)[0] == 1

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        with transaction.atomic():
            assert next_number(bureau=bureau, doc_type=DocType.PENALTY_DECISION, year=2026)[0] == 2
            raise Abort  # the document could not be stored: its number goes back
    assert next_number(bureau=bureau, doc_type=DocType.PENALTY_DECISION, year=2026)[0] == 2
    # Also when the caller's transaction created the sequence row itself.
    with pytest.raises(Abort):
        with transaction.atomic():
            assert next_number(bureau=bureau, doc_type=DocType.HANDLING_DECISION, year=2026)[0] == 1
            raise Abort
    assert not DocumentSequence.objects.filter(doc_type=DocType.HANDLING_DECISION).exists()
    assert next_number(bureau=bureau, doc_type=DocType.HANDLING_DECISION, year=2026)[0] == 1


def _allocate_concurrently(bureau, *, requests: int, threads: int) -> list[int]:
    """``requests`` allocations from ``threads`` threads, each with its own connection, started together."""
    barrier = threading.Barrier(threads)
    per_thread = requests // threads

    def work(_i):
        from django.db import connections

        try:
            barrier.wait(timeout=30)
            got = []
            for _ in range(per_thread):
                with transaction.atomic():
                    got.append(next_number(bureau=bureau, doc_type=DocType.PENALTY_DECISION, year=2026)[0])
            return got
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(work, range(threads)))
    return [n for got in results for n in got]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_requests_on_postgresql_are_exactly_1_to_200():
    """200 requests from 40 connections at once, the sequence row not existing yet: 1..200, no gap, no duplicate."""
    assert connection.vendor == "postgresql"
    bureau = make_bureau("4419")
    bureau.short_name = "莞市监"
    bureau.save()
    numbers = _allocate_concurrently(bureau, requests=200, threads=40)
    assert sorted(numbers) == list(range(1, 201))
    assert DocumentSequence.objects.get(bureau=bureau).last_number == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_on_the_configured_database():
    """The same property on whichever database runs the suite (SQLite: the IMMEDIATE write lock)."""
    bureau = make_bureau("4419")
    bureau.short_name = "莞市监"
    bureau.save()
    numbers = _allocate_concurrently(bureau, requests=40, threads=8)
    assert sorted(numbers) == list(range(1, 41))


# --- batches and the record types -------------------------------------------------------------------


def test_batch_numbers_are_consecutive_and_share_the_sequence(dongguan):
    assert next_numbers(bureau=dongguan, doc_type=DocType.SUPERVISION_TASK, count=3, year=2026) == [
        "莞市监任〔2026〕1号", "莞市监任〔2026〕2号", "莞市监任〔2026〕3号"]
    assert next_number(bureau=dongguan, doc_type=DocType.SUPERVISION_TASK, year=2026) == (4, "莞市监任〔2026〕4号")
    assert next_numbers(bureau=dongguan, doc_type=DocType.SUPERVISION_TASK, count=0, year=2026) == []
    assert next_number(bureau=dongguan, doc_type=DocType.CLUE, year=2026)[1] == "莞市监线〔2026〕1号"
    assert next_number(bureau=dongguan, doc_type=DocType.GRID_CASE, year=2026)[1] == "莞市监网格〔2026〕1号"
    # The grid's written notice keeps the format of its old NoticeCounter.
    assert next_number(bureau=dongguan, doc_type=DocType.GRID_NOTICE, year=2026)[1] == "莞市监网告〔2026〕1号"
    with pytest.raises(ApplicationError, match="没有责任机构"):
        next_numbers(bureau=None, doc_type=DocType.CLUE, count=2)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_batch_leaves_no_gap():
    bureau = make_bureau("4419")
    bureau.short_name = "莞市监"
    bureau.save()
    assert next_numbers(bureau=bureau, doc_type=DocType.CLUE, count=2, year=2026)[-1] == "莞市监线〔2026〕2号"

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        with transaction.atomic():
            assert len(next_numbers(bureau=bureau, doc_type=DocType.CLUE, count=50, year=2026)) == 50
            raise Abort
    assert next_numbers(bureau=bureau, doc_type=DocType.CLUE, count=1, year=2026) == ["莞市监线〔2026〕3号"]


def test_bureau_for_division_picks_the_most_specific_bureau(db):
    from zhijian.org.choices import BureauLevel

    city = make_bureau("4419", level=BureauLevel.CITY, division_code="4419")
    station = make_bureau("441900003", level=BureauLevel.STATION, division_code="441900003")
    assert bureau_for_division("441900003001") == station
    assert bureau_for_division("441900004001") == city
    assert bureau_for_division("441900003001", level=BureauLevel.CITY) == city
    assert bureau_for_division("3701") is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_on_postgresql_never_overlap():
    """20 connections each take 5 batches of 1–7 numbers at once: every number once, no gap."""
    bureau = make_bureau("4419")
    bureau.short_name = "莞市监"
    bureau.save()
    barrier = threading.Barrier(20)

    def work(i):
        from django.db import connections

        try:
            barrier.wait(timeout=30)
            got = []
            for k in range(5):
                with transaction.atomic():
                    got += next_numbers(bureau=bureau, doc_type=DocType.GRID_CASE, count=1 + (i + k) % 7, year=2026)
            return got
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = [n for got in pool.map(work, range(20)) for n in got]
    expected = sum(1 + (i + k) % 7 for i in range(20) for k in range(5))
    assert sorted(numbers) == sorted(f"莞市监网格〔2026〕{n}号" for n in range(1, expected + 1))
