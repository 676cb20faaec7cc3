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
        # The entity page's timeline (entities sits below: a registry this app fills).
        from django.urls import reverse

        from zhijian.entities import timeline

        from .models import Clue

        timeline.register_steps("clues.clues", procedure=workflow.CLUE.name, kind=_("线索"), model=Clue,
                                url=lambda c: reverse("coordination:clue_detail", args=[c.pk]))
