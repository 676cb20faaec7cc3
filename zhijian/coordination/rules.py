"""Supervision matters and push rules (configuration): their administration and what they suggest.

Every change raises the rule-set revision, so compiled indexes (``engine.current_index``) know they
are stale; a rule's own version rises with each change (items keep the version that pushed them).
"""
from __future__ import annotations

import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.core.workflow import Forbidden
from zhijian.deadlines.models import DeadlineRule
from zhijian.org.choices import RoleCode
from zhijian.org.models import Department

from . import engine
from .models import PushRule, RuleSetRevision, SupervisionMatter

RULE_ADMINS = {RoleCode.LEADER, RoleCode.SYSTEM_ADMIN}


def need_role(actor, roles, message) -> None:
    """Refuse (403) unless the actor (a person; the system passes) holds one of ``roles``."""
    if actor is not None and not (getattr(actor, "is_superuser", False) or actor.has_role(*roles)):
        raise Forbidden(message)


def _bump_revision() -> None:
    # A random stamp, not a counter: after a rollback a counter could come back to a value a
    # process already compiled an index for (with other rules), and that index would look fresh.
    stamp = secrets.randbits(62) + 1
    if not RuleSetRevision.objects.filter(pk=1).update(value=stamp):
        RuleSetRevision.objects.create(pk=1, value=stamp)


def rules_changed() -> None:
    """Tell compiled indexes that matters, rules or their departments changed (admin saves call it)."""
    _bump_revision()


@transaction.atomic
def matter_save(*, actor, matter: SupervisionMatter | None = None, departments=None, **fields) -> SupervisionMatter:
    need_role(actor, RULE_ADMINS, _("只有领导或系统管理员可以维护监管事项"))
    if fields.get("deadline_rule") and not DeadlineRule.objects.filter(code=fields["deadline_rule"]).exists():
        raise ApplicationError(_("期限规则“%(code)s”不存在") % {"code": fields["deadline_rule"]}, code="bad_rule")
    before = None
    if matter is None:
        matter = SupervisionMatter(**fields)
    else:
        before = {"name": matter.name, "deadline_rule": matter.deadline_rule, "deadline_hours": matter.deadline_hours}
        for k, v in fields.items():
            setattr(matter, k, v)
    matter.full_clean(exclude=["departments"])
    matter.save()
    if departments is not None:
        matter.departments.set(departments)
    _bump_revision()
    trace.record(actor=actor, action="push.matter_saved", obj=matter, object_type="coordination.supervisionmatter", before=before,
                 after={"code": matter.code, "name": matter.name, "deadline_rule": matter.deadline_rule,
                        "deadline_hours": matter.deadline_hours, "departments": sorted(d.pk for d in matter.departments.all())})
    return matter


RULE_FIELDS = ("name", "industry_prefixes", "keywords", "licence_types", "active")


@transaction.atomic
def rule_save(*, actor, matter, rule: PushRule | None = None, **fields) -> PushRule:
    """Create a rule or change one; every change raises its version (items keep the version that pushed them)."""
    need_role(actor, RULE_ADMINS, _("只有领导或系统管理员可以维护推送规则"))
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ApplicationError(_("未知字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    if rule is None:
        rule = PushRule(matter=matter, updated_by=actor if actor and actor.pk else None, **fields)
        before = None
    else:
        rule = PushRule.objects.select_for_update().get(pk=rule.pk)
        before = {f: getattr(rule, f) for f in RULE_FIELDS} | {"version": rule.version}
        for k, v in fields.items():
            setattr(rule, k, v)
        rule.matter = matter
        rule.version += 1
        rule.updated_by = actor if actor and actor.pk else None
    for p in rule.industry_list():
        if not engine.industry_keys(p):
            raise ApplicationError(_("行业代码前缀“%(p)s”无效") % {"p": p}, code="bad_prefix")
    if not (rule.industry_list() or rule.keyword_list() or rule.licence_list()):
        raise ApplicationError(_("规则至少要有一个行业代码前缀、关键词或许可证类型"), code="empty_rule")
    rule.full_clean()
    rule.save()
    _bump_revision()
    after = {f: getattr(rule, f) for f in RULE_FIELDS} | {"version": rule.version, "matter": matter.code}
    trace.record(actor=actor, action="push.rule_saved", obj=rule, object_type="coordination.pushrule", before=before, after=after)
    events.emit("push.rule_changed", payload={"rule_id": rule.pk, **after}, object_type="coordination.pushrule", object_id=rule.pk)
    return rule


def suggest_departments(*, text: str, entity=None, division_code: str) -> list[dict]:
    """Departments the push rules would send this clue to (by its text and the entity's industry).
    Registered with the clue intake (``clues.intake.register_suggester``) at start-up."""
    index = engine.current_index()
    matches = index.match(industry_code=entity.industry_code if entity else "",
                          business_scope=" ".join(filter(None, [text, entity.business_scope if entity else ""])))
    targets = engine.targets(matches, division_code)
    depts = {d.pk: d for d in Department.objects.filter(pk__in={d for _m, d in targets})}
    return [{"department_id": d, "department": depts[d].name, "matter_id": m.rule.matter_id, "matter": m.rule.matter_name,
             "why": "；".join(m.reasons)} for m, d in targets if d in depts]
