from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "zhijian.inspections"
    label = "inspections"
    verbose_name = _("现场检查")

    def ready(self):
        from . import requirements

        requirements.install()
