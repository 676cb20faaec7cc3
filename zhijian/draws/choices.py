from django.db import models
from django.utils.translation import gettext_lazy as _


class RiskClass(models.TextChoices):
    """Credit-risk classes (国市监信发〔2022〕6号)."""

    A = "A", _("A类（低风险）")
    B = "B", _("B类（一般风险）")
    C = "C", _("C类（较高风险）")
    D = "D", _("D类（高风险）")


# Percentages a new plan starts with (a city's example rule; each bureau edits its own).
DEFAULT_RATIOS = {"A": "2", "B": "4", "C": "20", "D": "60"}


class DrawState(models.TextChoices):
    COMMITTED = "committed", _("已锁定（待抽取）")
    EXECUTED = "executed", _("已抽取")
    VOIDED = "voided", _("已作废")


class DrawAction(models.TextChoices):
    """The steps of a draw's procedure (``procedure.DRAW``); the commit creates the draw."""

    EXECUTE = "execute", _("执行抽取")
    VOID = "void", _("作废")


class RecusalKind(models.TextChoices):
    HOME_DIVISION = "home_division", _("检查人员住址与主体同一区划")
    DECLARED_RELATION = "declared_relation", _("检查人员申报的利害关系")
    LAST_INSPECTOR = "last_inspector", _("上次检查该主体的人员")


class InspectionResult(models.TextChoices):
    NO_PROBLEM = "no_problem", _("未发现问题")
    CORRECTED = "corrected", _("发现问题已责令改正")
    CASE = "case", _("发现问题已立案查处")
    NOT_OPERATING = "not_operating", _("未发现开展本次抽查涉及的经营活动")
    UNREACHABLE = "unreachable", _("通过登记的住所（经营场所）无法联系")
    REFUSED = "refused", _("不配合检查情节严重")


# Trace actions of the draw services (registered in apps.ready()).
TRACE_ACTIONS = {
    "draw.plan_created": _("制定抽查计划"), "draw.committed": _("锁定抽查名录"), "draw.executed": _("执行抽取"),
    "draw.joint_created": _("发起联合抽查"), "draw.result_recorded": _("录入抽查结果"), "draw.result_published": _("公示抽查结果"),
    "draw.relation_declared": _("申报利害关系"), "draw.relation_withdrawn": _("撤回利害关系申报"),
    "draw.past_inspection_recorded": _("登记既往检查"), "draw.past_inspection_removed": _("删除既往检查"),
    "draw.risk_class_set": _("设定风险分类"), "draw.risk_class_cleared": _("清除风险分类"),
}
