from django.db import models
from django.utils.translation import gettext_lazy as _


class EntityType(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    INDIVIDUAL = "individual", _("个体工商户")
    COOPERATIVE = "cooperative", _("农民专业合作社")
    OTHER = "other", _("其他")


class EntityStatus(models.TextChoices):
    ACTIVE = "active", _("存续（在业）")
    REVOKED = "revoked", _("吊销")
    CANCELLED = "cancelled", _("注销")
    MOVED_OUT = "moved_out", _("迁出")
    SUSPENDED = "suspended", _("歇业")


class ChangeKind(models.TextChoices):
    CREATED = "created", _("设立")
    UPDATED = "updated", _("变更")
    ADDRESS = "address", _("地址变更")
    STATUS = "status", _("状态变更")
    PLACED = "placed", _("网格落位")
    IMPORTED = "imported", _("批量导入")


# Trace actions of the registry services (registered in apps.ready()).
TRACE_ACTIONS = {
    "entity.created": _("登记市场主体"), "entity.changed": _("变更市场主体信息"), "entity.address_changed": _("变更经营地址"),
    "entity.status_changed": _("变更登记状态"), "entity.imported": _("批量导入市场主体"), "entity.placed": _("落图定位"),
}
