from django.db import models
from django.utils.translation import gettext_lazy as _

PUSH_PROCEDURE = "coordination.pushitem"  # the push item's procedure: steps, trace entries, events


class Principle(models.TextChoices):
    APPROVAL = "approval", _("谁审批谁监管")
    COMPETENT = "competent", _("谁主管谁监管")
    LICENSING = "licensing", _("谁许可谁监管")


class PushTrigger(models.TextChoices):
    CREATED = "created", _("设立登记")
    CHANGED = "changed", _("经营范围/行业变更")
    ADDRESS_CHANGED = "address_changed", _("地址变更")
    IMPORTED = "imported", _("批量导入")
    REPLAY = "replay", _("规则回放")
    REASSIGNED = "reassigned", _("部门转办")


class PushState(models.TextChoices):
    PUSHED = "pushed", _("待签收")
    CLAIMED = "claimed", _("已签收")
    ACCEPTED = "accepted", _("办理中")
    RETURNED = "returned", _("已退回")
    REASSIGNED = "reassigned", _("已转办")
    FINISHED = "finished", _("已办结")


OPEN_PUSH_STATES = (PushState.PUSHED, PushState.CLAIMED, PushState.ACCEPTED)


class PushAction(models.TextChoices):
    CREATE = "create", _("推送")
    CLAIM = "claim", _("签收")
    ACCEPT = "accept", _("受理")
    RETURN = "return", _("退回")
    REASSIGN = "reassign", _("转办")
    FINISH = "finish", _("办结")


# Trace actions of the push services besides the push item's procedure steps (registered in apps.ready()).
TRACE_ACTIONS = {
    "push.overdue": _("推送事项逾期"), "push.rule_changed": _("推送规则变更"),
    "push.created": _("推送事项"), "push.replayed": _("重新推送"), "push.rule_saved": _("保存推送规则"),
    "push.matter_saved": _("保存监管事项"),
}
