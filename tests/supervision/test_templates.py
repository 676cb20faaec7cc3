"""S5: special-campaign and daily-patrol templates generate tasks in bulk, once per run key."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_entity, make_user
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.models import Event, TraceEntry
from zhijian.entities import services as entity_services
from zhijian.supervision import tasks, templates_run
from zhijian.supervision.choices import TaskSource, TaskState
from zhijian.supervision.models import Task, TemplateRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(dispatcher):
    return templates_run.template_create(
        actor=dispatcher, name="食品销售日常巡查", kind="patrol", division_code="441900000000", business_lines="食品销售,价格",
        deadline_rule="grid.first_visit", industry_prefixes="F52", entity_types="enterprise,individual",
    )


@pytest.fixture
def shops(station):
    inside = [make_entity("441900003001", industry_code="5211") for _ in range(3)]
    make_entity("441900003001", industry_code="6201")                    # another industry
    make_entity("441900004001", industry_code="5211")                    # another station's area
    gone = make_entity("441900003002", industry_code="5212")
    entity_services.entity_set_status(actor=None, credit_code=gone.credit_code, status="revoked", note="吊销")
    return inside


def test_generate_selects_by_filter_and_dispatches_to_the_unit(template, station, shops, dispatcher, officer_a):
    created = templates_run.template_generate(actor=dispatcher, template=template, bureau=station, run_key="2026-10")
    assert len(created) == 6  # 3 entities × 2 business lines
    made = Task.objects.filter(template=template)
    assert {t.entity_id for t in made} == {e.pk for e in shops}
    assert {t.business_line for t in made} == {"食品销售", "价格"}
    assert all(t.state == TaskState.DISPATCHED and t.bureau == station and t.source == TaskSource.PATROL and t.due_on for t in made)
    assert len({t.number for t in made}) == 6
    assert Event.objects.filter(type="task.created").count() == 6
    assert TemplateRun.objects.get(template=template, run_key="2026-10").created_count == 6
    assert TraceEntry.objects.filter(action="task_template.run").count() == 1
    # The unit's officers claim them like any unit task.
    tasks.task_accept(actor=officer_a, task=created[0])
    assert created[0].assignee == officer_a


def test_generation_is_idempotent_per_run_key(template, station, shops, dispatcher):
    first = templates_run.template_generate(actor=dispatcher, template=template, bureau=station, run_key="2026-10", limit=4)
    assert len(first) == 4
    rest = templates_run.template_generate(actor=dispatcher, template=template, bureau=station, run_key="2026-10")
    assert len(rest) == 2
    again = templates_run.template_generate(actor=dispatcher, template=template, bureau=station, run_key="2026-10")
    assert again == []
    assert Task.objects.filter(template=template, run_key="2026-10").count() == 6
    nxt = templates_run.template_generate(actor=dispatcher, template=template, bureau=station, run_key="2026-11")
    assert len(nxt) == 6


def test_generation_query_count_does_not_grow_with_the_entities(template, station, dispatcher, settings):
    """Bulk: the number of queries is the same for 2 and for 20 entities."""
    settings.TRACE_SHARDS = 1  # trace entries go one per shard touched; shards come from ids
    def run(n, key):
        for _ in range(n):
            make_entity("441900003001", industry_code="5211")
        with CaptureQueriesContext(connection) as ctx:
            created = templates_run.template_generate(actor=dispatcher, template=template, bureau=station, run_key=key)
        return len(created), len(ctx.captured_queries)

    # A first run creates the bureau's number sequence row and trace chain head and loads the holiday table: once, by another template.
    make_entity("441900003001", industry_code="5211")
    warm_up = templates_run.template_create(actor=dispatcher, name="预热", kind="campaign", division_code="441900000000",
                                            deadline_rule="grid.first_visit")
    templates_run.template_generate(actor=dispatcher, template=warm_up, bureau=station)
    small_n, small_q = run(1, "a")
    big_n, big_q = run(18, "b")
    assert (small_n, big_n) == (4, 40)
    assert big_q == small_q, (small_q, big_q)


def test_only_leaders_or_dispatchers_within_the_area_generate(template, station, other_station, officer_a, leader):
    with pytest.raises(ApplicationError, match="只有领导或调度员可以按模板生成任务"):
        templates_run.template_generate(actor=officer_a, template=template, bureau=station)
    with pytest.raises(ApplicationError, match="不在您的辖区内"):
        templates_run.template_generate(actor=leader, template=template, bureau=other_station)
    with pytest.raises(OutOfScope):
        templates_run.template_generate(actor=make_user("leader", jurisdiction="3701"), template=template, bureau=station)


def test_default_run_key_patrol_monthly_campaign_once(template, dispatcher):
    import datetime as dt

    assert templates_run.default_run_key(template, dt.date(2026, 3, 5)) == "2026-03"
    campaign = templates_run.template_create(actor=dispatcher, name="春节专项", kind="campaign", division_code="441900000000")
    assert templates_run.default_run_key(campaign, dt.date(2026, 3, 5)) == "campaign"
