"""Personal data masked for everyone without the right to see it."""
import pytest
from django.template import Context, Template
from django.test import RequestFactory
from rest_framework import serializers

from tests.factories import make_user
from zhijian.security.audit import current_request
from zhijian.security.fields import MaskedField
from zhijian.security.masking import can_see_personal_data, mask_id_number, mask_name, mask_phone

pytestmark = pytest.mark.django_db


def test_mask_functions():
    assert mask_id_number("110101199003071234") == "110101********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_id_number("") == mask_phone(None) == ""


class Record:
    def __init__(self, handler_id):
        self.handler_id = handler_id
        self.phone = "13812345678"
        self.id_number = "110101199003071234"


def test_who_may_see_personal_data():
    reviewer = make_user("legal_reviewer")
    leader = make_user("leader")
    officer = make_user("enforcement_officer")
    admin = make_user("system_admin")
    assert can_see_personal_data(reviewer) and can_see_personal_data(leader)
    assert not can_see_personal_data(officer) and not can_see_personal_data(admin)
    assert can_see_personal_data(officer, Record(handler_id=officer.pk))
    assert not can_see_personal_data(officer, Record(handler_id=officer.pk + 1000))
    assert not can_see_personal_data(admin, Record(handler_id=admin.pk))


def render_as(user, source, **context):
    request = RequestFactory().get("/")
    request.user = user
    token = current_request.set(request)
    try:
        return Template("{% load security %}" + source).render(Context({"request": request, **context}))
    finally:
        current_request.reset(token)


def test_template_filter_and_tag():
    officer = make_user("enforcement_officer")
    reviewer = make_user("legal_reviewer")
    src = '{{ v|masked:"id" }}'
    assert render_as(officer, src, v="110101199003071234") == "110101********1234"
    assert render_as(reviewer, src, v="110101199003071234") == "110101199003071234"
    tag = '{% masked_for r.phone "phone" r %}'
    assert render_as(officer, tag, r=Record(handler_id=officer.pk)) == "13812345678"
    assert render_as(officer, tag, r=Record(handler_id=0)) == "138****5678"


class ComplainantSerializer(serializers.Serializer):
    phone = MaskedField("phone")
    id_number = MaskedField("id")


def test_serializer_field():
    officer = make_user("enforcement_officer")
    leader = make_user("leader")
    request = RequestFactory().get("/")
    request.user = officer
    rows = [Record(handler_id=officer.pk), Record(handler_id=0)]
    data = ComplainantSerializer(rows, many=True, context={"request": request}).data
    assert [r["phone"] for r in data] == ["13812345678", "138****5678"]
    request.user = leader
    assert ComplainantSerializer(rows[1], context={"request": request}).data["id_number"] == "110101199003071234"
