from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Trace actions of the grid-drawing services.
TRACE_ACTIONS = {
    "grids.imported": _("导入网格边界"),
    "grid.create": _("新建网格"), "grid.update": _("修改网格"), "grid.delete": _("删除网格"), "grid.import": _("导入网格"),
    "grid.staff_assign": _("配备网格人员"), "grid.staff_remove": _("撤出网格人员"),
}


class GeoConfig(AppConfig):
    name = "zhijian.geo"
    label = "geo"
    verbose_name = _("区划与网格")

    def ready(self):
        # Django's ready(): the registries are filled once every app is loaded (names.py reads models).
        from zhijian.core import api, trace

        from .names import division_names

        trace.register_action_labels(TRACE_ACTIONS)
        api.register_code_names(division_names, "division_code", "jurisdiction", "own_jurisdiction", "scope_division",
                                "home_division")
