"""The entity page's timeline: every app's rows about the entity, newest first, paged, linked."""
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_entity, make_user
from zhijian.entities import timeline


@pytest.fixture
def busy(db):
    """An entity with three tasks moved through some steps, and another entity with its own task."""
    from zhijian.supervision import tasks
    from zhijian.supervision.choices import TaskSource

    dispatcher = make_user("dispatcher")
    officer = make_user("enforcement_officer", bureau=dispatcher.bureau, enforcement_cert_no="44190010001")
    shop = make_entity(name="东莞市莞城示范食品商行")
    other = make_entity(name="隔壁商店")
    made = [tasks.task_create(actor=dispatcher, entity=shop, title=f"检查{i}", source=TaskSource.PATROL, assignee=officer) for i in range(3)]
    tasks.task_accept(actor=officer, task=made[0])
    tasks.task_create(actor=dispatcher, entity=other, title="别家的任务", source=TaskSource.PATROL)
    return shop, made


def test_every_app_registered_its_provider():
    assert {"entities.changes", "supervision.tasks", "inspections.records", "inspections.documents", "draws.drawn",
            "coordination.pushes", "grid.cases", "grid.warnings", "clues.clues"} <= set(timeline.providers())


def test_rows_newest_first_linked_and_only_this_entity(busy):
    shop, made = busy
    page = timeline.for_entity(shop.pk)
    tasks_rows = [r for r in page.rows if r.kind == "监管任务"]
    assert len(tasks_rows) == 3 * 2 + 1  # created and dispatched each, one accepted
    assert all("别家" not in r.title for r in page.rows)
    assert [r.when for r in page.rows] == sorted((r.when for r in page.rows), reverse=True)
    assert tasks_rows[0].text.startswith("受领") and tasks_rows[0].url == made[0].get_absolute_url()
    assert any(r.kind == "登记变更" for r in page.rows)


def test_paging(busy):
    shop, _made = busy
    first = timeline.for_entity(shop.pk, per_page=3)
    second = timeline.for_entity(shop.pk, page=2, per_page=3)
    assert first.has_next and not first.has_previous and second.has_previous
    assert not {id(r) for r in first.rows} & {id(r) for r in second.rows}
    assert first.rows[-1].when >= second.rows[0].when


def test_a_dated_row_sorts_at_the_end_of_its_day():
    row = timeline.Row(at=dt.date(2026, 12, 4), kind="x", title="y")
    assert row.when.date() == dt.date(2026, 12, 4) and timezone.is_aware(row.when)


def test_lookups_are_by_entity_id(busy, django_assert_max_num_queries):
    """One query or two per provider, each filtered by the entity id (indexed), whatever the page."""
    shop, _made = busy
    with CaptureQueriesContext(connection) as ctx:
        timeline.for_entity(shop.pk, page=2)
    assert len(ctx.captured_queries) <= 2 * len(timeline.providers()) + 2
    for q in ctx.captured_queries:
        sql = q["sql"]
        assert "entity_id" in sql or '"id" IN' in sql or "item_id" in sql or "pk" in sql.lower(), sql


def test_entity_page_shows_the_timeline(client_for, busy):
    shop, made = busy
    user = make_user("dispatcher")
    page = client_for(user).get(f"/entities/{shop.credit_code}/").content.decode()
    assert 'id="timeline"' in page and "监管任务" in page and made[0].get_absolute_url() in page
