from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "zhijian.grid"
    label = "grid"
    verbose_name = _("网格化监管")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here, as Django requires: models of other apps may be imported only once the
        # app registry is ready.
        from zhijian.supervision import requirements

        from .village import CASE_RECORD_KIND, VILLAGE_TASK_LINE, carrying_case

        # The village's first-visit task is worked as a grid case (4+2 visit, notice, re-check,
        # joint handling), where no inspection record is made: its ended case is its proof.
        # The case *is* the first visit: the task is its entry in the task loop, moved by the case.
        requirements.register_own_record(VILLAGE_TASK_LINE, CASE_RECORD_KIND, _("缺少已办结的网格事项"), carrier=carrying_case)

        # Django's ready(): the ledger's labels and the names of codes are registered once every app is loaded.
        from zhijian.core import trace

        from . import procedure  # noqa: F401  (declares the grid case's procedure: its step labels)
        from .choices import TRACE_ACTIONS

        trace.register_action_labels(TRACE_ACTIONS)
        from zhijian.supervision.choices import LINE_NAMES, RECORD_KIND_NAMES  # ready(): the registries of names

        RECORD_KIND_NAMES[CASE_RECORD_KIND] = _("网格事项")
        LINE_NAMES[VILLAGE_TASK_LINE] = _("网格首次走访")
        # The entity page's timeline (entities sits below: a registry this app fills).
        from . import timeline_rows

        timeline_rows.install()
