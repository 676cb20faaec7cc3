from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CluesConfig(AppConfig):
    name = "zhijian.clues"
    label = "clues"
    verbose_name = _("线索")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the CLUE procedure (step labels, the clock sweep's overdue events).
        from . import workflow  # noqa: F401
