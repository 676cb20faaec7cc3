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

    again = io.StringIO()
    call_command("demo", "--build-only", "--entities", "1500", stdout=again)  # a second run keeps the city
    assert "演示数据已存在" in again.getvalue() and Draw.objects.count() == 1
