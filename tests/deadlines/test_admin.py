"""Only a system administrator (or superuser) edits holidays and rules; numbers are never edited by hand."""
import pytest
from django.contrib import admin
from django.test import RequestFactory

from tests.factories import make_user
from zhijian.deadlines.models import DeadlineRule, DocumentSequence, Holiday


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_only_system_admin_edits_rules_and_holidays():
    sysadmin = make_user("system_admin", is_staff=True)
    officer = make_user("enforcement_officer", is_staff=True)
    for model in (DeadlineRule, Holiday):
        model_admin = admin.site._registry[model]
        assert model_admin.has_change_permission(_request(sysadmin))
        assert model_admin.has_add_permission(_request(sysadmin))
        assert not model_admin.has_change_permission(_request(officer))
        assert not model_admin.has_add_permission(_request(officer))
        assert not model_admin.has_delete_permission(_request(officer))
    sequences = admin.site._registry[DocumentSequence]
    assert sequences.has_view_permission(_request(sysadmin))
    assert not sequences.has_change_permission(_request(sysadmin))


@pytest.mark.django_db
def test_admin_edits_go_through_the_services_and_the_trace(rules):
    """Saving or deleting a rule or a holiday in the admin is validated, traced and announced."""
    import datetime as dt

    from zhijian.core.models import Event, TraceEntry

    sysadmin = make_user("system_admin", is_staff=True)
    rule_admin = admin.site._registry[DeadlineRule]
    rule = DeadlineRule.objects.get(code="grid.recheck")
    rule.remind_days = (rule.remind_days or 0) + 1  # a real change whatever the seed gave it
    rule_admin.save_model(_request(sysadmin), rule, form=None, change=True)
    entry = TraceEntry.objects.get(action="deadlines.rule_change", object_id=str(rule.pk))
    assert entry.actor_id == sysadmin.pk and entry.before_digest != entry.after_digest
    assert Event.objects.filter(type="deadlines.rule_changed", object_id=str(rule.pk)).exists()

    holiday_admin = admin.site._registry[Holiday]
    day = Holiday(date=dt.date(2031, 3, 3), is_off_day=True, name="台风停工")
    holiday_admin.save_model(_request(sysadmin), day, form=None, change=False)
    assert TraceEntry.objects.filter(action="deadlines.holiday_add", object_id=str(day.pk)).count() == 1
    holiday_admin.delete_model(_request(sysadmin), day)
    assert TraceEntry.objects.filter(action="deadlines.holiday_delete").count() == 1
    assert not Holiday.objects.filter(date=dt.date(2031, 3, 3)).exists()

    # A rule version clocks were computed under cannot be deleted (they must stay recomputable).
    from zhijian.core.errors import ApplicationError
    from zhijian.deadlines import clocks

    clocks.start(procedure="tests.item", object_id=1, rule=rule, start=dt.date(2026, 3, 2))
    with pytest.raises(ApplicationError, match="不能删除"):
        rule_admin.delete_model(_request(sysadmin), rule)
