"""Deadline rules as versioned data, ``due()`` and the API."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from zhijian.deadlines.choices import Unit
from zhijian.deadlines.models import DeadlineRule
from zhijian.deadlines.rules import RuleNotFound, due
from zhijian.deadlines.services import load_deadline_rules

D = dt.date
pytestmark = pytest.mark.usefixtures("holidays", "rules")

# (code, amount, unit) for every time limit the brief names from LAW.md.
EXPECTED = [
    ("complaint.accept", 7, Unit.WORKDAYS),
    ("complaint.mediation", 45, Unit.WORKDAYS),
    ("complaint.mediation_end_notice", 7, Unit.WORKDAYS),
    ("complaint.clue_verify", 15, Unit.WORKDAYS),
    ("complaint.clue_verify_extension", 15, Unit.WORKDAYS),
    ("complaint.reporter_notice", 5, Unit.WORKDAYS),
    ("penalty.clue_verify", 15, Unit.WORKDAYS),
    ("penalty.clue_verify_extension", 15, Unit.WORKDAYS),
    ("penalty.decision", 90, Unit.DAYS),
    ("penalty.decision_extension", 30, Unit.DAYS),
    ("penalty.publicity", 20, Unit.WORKDAYS),
    ("penalty.publicity_withdrawal", 3, Unit.WORKDAYS),
    ("penalty.evidence_handling", 7, Unit.WORKDAYS),  # 行政处罚法 art. 85: 7 days are working days
    ("penalty.decision_delivery", 7, Unit.WORKDAYS),
    ("penalty.hearing_request", 5, Unit.WORKDAYS),
    ("penalty.hearing_notice", -7, Unit.WORKDAYS),
    ("penalty.fine_payment", 15, Unit.DAYS),
    ("registration.decision", 3, Unit.WORKDAYS),
    ("registration.decision_extension", 3, Unit.WORKDAYS),
    ("licence.decision", 20, Unit.WORKDAYS),  # 行政许可法 art. 82: licensing limits are working days
    ("licence.decision_extension", 10, Unit.WORKDAYS),
    ("licence.missing_materials", 5, Unit.WORKDAYS),
    ("licence.certificate_issue", 10, Unit.WORKDAYS),
    ("inspection.result_publicity", 20, Unit.WORKDAYS),
    ("grid.first_visit", 10, Unit.WORKDAYS),
    ("grid.recheck", 10, Unit.WORKDAYS),
    ("credit.disclosure", 20, Unit.WORKDAYS),
]


@pytest.mark.parametrize("code, amount, unit", EXPECTED)
def test_seeded_rule(code, amount, unit):
    rule = DeadlineRule.objects.filter(code=code).order_by("version").first()
    assert (rule.amount, rule.unit) == (amount, unit)
    assert rule.legal_basis


def test_complaint_rules_have_two_versions_split_on_2026_04_15():
    for code in [c for c, _a, _u in EXPECTED if c.startswith("complaint.")]:
        old, new = DeadlineRule.objects.filter(code=code).order_by("version")
        assert (old.effective_to, old.confirmed) == (D(2026, 4, 14), True)
        assert (new.effective_from, new.effective_to, new.confirmed) == (D(2026, 4, 15), None, False)
        assert (old.amount, old.unit) == (new.amount, new.unit)
        assert "第20号" in old.legal_basis and "第121号" in new.legal_basis


def test_load_rules_is_idempotent_and_keeps_admin_edits():
    count = DeadlineRule.objects.count()
    DeadlineRule.objects.filter(code="grid.first_visit").update(amount=5)
    assert load_deadline_rules()["created"] == 0
    assert DeadlineRule.objects.count() == count
    assert DeadlineRule.objects.get(code="grid.first_visit").amount == 5
    assert load_deadline_rules(update=True)["updated"] == 1
    assert DeadlineRule.objects.get(code="grid.first_visit").amount == 10


def test_complaint_received_before_the_new_order_follows_the_old_rule():
    """Received Fri 3 Apr 2026 (Qingming 4–6 Apr off): 7, 8, 9, 10, 13, 14, 15 Apr — order 20 applies."""
    d = due("complaint.accept", D(2026, 4, 3))
    assert d.due_date == D(2026, 4, 15)
    assert d.version == 1
    assert "第20号" in d.legal_basis
    assert any("第2版自 2026-04-15 起施行" in w for w in d.warnings)


def test_complaint_received_under_order_121_warns_until_confirmed():
    d = due("complaint.accept", D(2026, 4, 15))  # Wed: 16, 17, 20, 21, 22, 23, 24
    assert (d.due_date, d.version) == (D(2026, 4, 24), 2)
    assert any("尚待管理员对照法规原文确认" in w for w in d.warnings)
    DeadlineRule.objects.filter(code="complaint.accept", version=2).update(confirmed=True)
    assert due("complaint.accept", D(2026, 4, 15)).warnings == ()


def test_at_picks_the_version_independently_of_start():
    """Mediation counted from acceptance (after 15 Apr) of a complaint received under order 20."""
    d = due("complaint.mediation_end_notice", D(2026, 4, 20), at=D(2026, 4, 10))
    assert d.version == 1
    assert d.due_date == D(2026, 4, 29)  # 21, 22, 23, 24, 27, 28, 29


def test_due_overdue_and_days_left_in_the_rules_unit():
    d = due("complaint.accept", D(2026, 2, 13))  # 14, 24, 25, 26, 27, Sat 28 Feb, Mon 2 Mar
    assert d.due_date == D(2026, 3, 2)
    assert d.days_left(D(2026, 2, 13)) == 7
    assert d.days_left(D(2026, 2, 20)) == 6  # during the holiday
    assert d.days_left(D(2026, 3, 2)) == 0
    assert not d.is_overdue(D(2026, 3, 2))
    assert d.is_overdue(D(2026, 3, 3))
    assert d.days_left(D(2026, 3, 3)) == -1
    fine = due("penalty.fine_payment", D(2026, 2, 13))
    assert fine.due_date == D(2026, 2, 28)
    assert fine.days_left(D(2026, 2, 20)) == 8  # natural days


def test_other_units_and_the_annual_window():
    assert due("penalty.decision", D(2025, 10, 1)).due_date == D(2025, 12, 30)
    assert due("penalty.publicity", D(2026, 9, 21)).due_date == D(2026, 10, 26)
    assert due("penalty.hearing_notice", D(2026, 10, 12)).due_date == D(2026, 9, 24)
    assert due("licence.missing_materials", D(2025, 9, 30)).due_date == D(2025, 10, 14)
    assert due("penalty.publicity_period_minor", D(2025, 11, 30)).due_date == D(2026, 2, 28)
    report = due("credit.annual_report", D(2026, 3, 1))
    assert (report.opens_on, report.due_date) == (D(2026, 1, 1), D(2026, 6, 30))
    assert report.is_overdue(D(2026, 7, 1)) and not report.is_overdue(D(2026, 6, 30))


def test_unknown_rule_or_date_before_any_version():
    with pytest.raises(RuleNotFound, match="没有在 2026-01-05 有效的期限规则“no.such”"):
        due("no.such", D(2026, 1, 5))
    with pytest.raises(RuleNotFound):
        due("complaint.accept", D(2019, 12, 31))


def test_working_day_rule_in_an_unknown_year_is_provisional_not_refused():
    """2099 has no schedule: the date is computed on the statutory holidays and weekends, marked
    provisional, with a warning; nothing is refused."""
    d = due("complaint.accept", D(2099, 3, 2))
    assert d.due_date == D(2099, 3, 11)  # 7 working days: Tue 3 … Wed 11
    assert d.provisional is True
    assert d.display() == "2099-03-11（暂定）"
    assert any("2099 年的法定节假日安排尚未公布" in w for w in d.warnings)
    assert due("complaint.accept", D(2026, 3, 2)).provisional is False


def test_overlapping_versions_are_refused():
    rule = DeadlineRule(
        code="complaint.accept", version=3, name="x", amount=7, unit=Unit.WORKDAYS, legal_basis="x", effective_from=D(2026, 5, 1)
    )
    with pytest.raises(ValidationError, match="有效期重叠"):
        rule.full_clean()


# --- API -----------------------------------------------------------------------------------------


def test_api_due(client_for, officer):
    client = client_for(officer)
    r = client.get("/api/v1/deadlines/due/", {"rule": "complaint.accept", "start": "2025-01-24", "today": "2025-02-05"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["due_date"] == "2025-02-10"
    assert body["version"] == 1
    assert body["days_left"] == 4  # 6, 7, Sat 8, 10 Feb
    assert body["is_overdue"] is False
    assert "第20号" in body["legal_basis"]


def test_api_due_errors(client_for, officer, client):
    assert client.get("/api/v1/deadlines/due/", {"rule": "complaint.accept", "start": "2025-01-24"}).status_code in (401, 403)
    client = client_for(officer)
    r = client.get("/api/v1/deadlines/due/", {"rule": "nope", "start": "2025-01-24"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "rule_not_found"
    r = client.get("/api/v1/deadlines/due/", {"rule": "complaint.accept", "start": "2099-03-02"})
    assert r.status_code == 200  # an unknown year is provisional, never refused
    assert r.json()["provisional"] is True and r.json()["due_date"] == "2099-03-11"
    r = client.get("/api/v1/deadlines/due/", {"rule": "complaint.accept", "start": "24/01/2025"})
    assert r.status_code == 400


def test_api_rule_list(client_for, officer):
    r = client_for(officer).get("/api/v1/deadlines/rules/", {"code": "complaint.accept"})
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [(x["version"], x["effective_from"]) for x in rows] == [(1, "2020-01-01"), (2, "2026-04-15")]
