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
