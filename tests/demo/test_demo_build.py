"""The README's first command builds the demo city: build a small one and check what a new user meets."""
import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_demo_city_builds_with_logins_tasks_and_a_verifiable_draw():
    from zhijian.draws.models import Draw
    from zhijian.entities.models import MarketEntity
    from zhijian.supervision.models import Task

    out = io.StringIO()
    call_command("demo", "--build-only", "--entities", "1500", stdout=out)
    text = out.getvalue()
    for username in ("leader", "officer1", "dispatcher", "sysadmin"):
        assert f"  {username} " in text, username
    assert MarketEntity.objects.filter(division_code__startswith="3701").count() == 1500
    assert Task.objects.filter(source_ref="demo", assignee__username="officer1").count() >= 2  # food sales + catering per shop

    draw = Draw.objects.get()
    assert draw.state == "executed" and draw.selected_count >= 1
    assert draw.items.count() == draw.selected_count and all(len(i.cert_nos) == 2 for i in draw.items.all())
    verified = io.StringIO()
    call_command("verify_draw", draw.public_id, stdout=verified)
    assert "verified" in verified.getvalue()

    _a_plausible_city(text)

    again = io.StringIO()
    call_command("demo", "--build-only", "--entities", "1500", stdout=again)  # a second run keeps the city
    assert "演示数据已存在" in again.getvalue() and Draw.objects.count() == 1


def _a_plausible_city(text: str) -> None:
    """What a new user meets after ``zhijian demo --build-only``: shops of the right trade in each
    line's work, the bureau's day visible (inboxes, warnings, clue transfers, overdue and due-soon
    work, signed inspections with problems), one first visit per new entity, and each role's first step."""
    from django.db.models import Count
    from django.utils import timezone

    from zhijian.clues.models import Clue
    from zhijian.coordination.models import PushItem, PushRule
    from zhijian.draws.models import Draw
    from zhijian.entities.models import MarketEntity
    from zhijian.grid.models import GridCase, Warning
    from zhijian.inspections.models import BusinessLine, Inspection
    from zhijian.supervision.models import Task

    def in_line(line, code):
        return any(code.startswith(p) for p in BusinessLine.objects.get(code=line).industry_list())

    today = timezone.localdate()
    daily = Task.objects.filter(source_ref="demo").select_related("entity")
    assert {t.business_line for t in daily} == {"food_sales", "catering"}
    assert all(in_line(t.business_line, t.entity.industry_code) for t in daily)  # no clothing shop in a catering task
    assert all(in_line(t.business_line, t.entity.industry_code) for t in Task.objects.filter(template__isnull=False).select_related("entity"))
    assert daily.filter(due_on__lt=today).exists() and daily.filter(due_on__gte=today).exists()  # overdue and still due
    draw = Draw.objects.get()
    assert all(in_line("food_sales", i.entity.industry_code) for i in draw.items.select_related("entity"))

    # Matters and rules pushed the registry to the departments; some items claimed and finished.
    assert PushRule.objects.count() >= 5 and PushItem.objects.count() > 0
    assert PushItem.objects.filter(state="finished").exists() and PushItem.objects.filter(department__code="health").exists()
    # The dispatcher ran during the build: every new entity has its one first visit, a grid case
    # that carries its village task (one case per task, no task without its case).
    village = Task.objects.filter(business_line="grid_first_visit")
    assert village.count() == GridCase.objects.filter(task__isnull=False).count() > 0
    assert not GridCase.objects.values("task").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert GridCase.objects.exclude(state="pending_assign").exists()
    assert MarketEntity.objects.filter(created_at__date__lt=today).exists()  # registrations of the last weeks, on their days
    assert Warning.objects.exists()
    assert Clue.objects.filter(department__isnull=False).count() >= 2
    signed = Inspection.objects.filter(state="sealed", conclusion="correct")
    assert signed.count() >= 1 and all(i.results.filter(result="problem").exists() for i in signed)

    assert "系统管理员：sysadmin" in text and text.count("先试：") >= 10
