from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "zhijian.inspections"
    label = "inspections"
    verbose_name = _("现场检查")

    def ready(self):
        # Registers with the task loop once the app registry is loaded (requirements imports the
        # services, which import models: not importable while apps.py itself is being loaded).
        from zhijian.supervision import lines as task_lines

        from . import lines, requirements

        requirements.install()
        # The task loop's daily-inspection templates pick the entities of a line by its industries.
        task_lines.register(lines.industries_of)
        # Django's ready(): the ledger's labels and the names of codes are registered once every app is loaded.
        from zhijian.core import api, trace

        from .choices import InspectionAction
        from .names import line_names, part_names

        trace.register_action_labels(dict(InspectionAction.choices))
        api.register_code_names(line_names, "business_line", "business_lines")
        api.register_code_names(part_names, "part")
        from zhijian.supervision.choices import RECORD_KIND_NAMES  # ready(): the registries of names

        from .sealing import TASK_RECORD_KIND  # ready(): sealing reads models

        RECORD_KIND_NAMES[TASK_RECORD_KIND] = _("现场检查笔录")
        # The entity page's timeline (entities sits below: a registry this app fills).
        from . import timeline_rows

        timeline_rows.install()
