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
