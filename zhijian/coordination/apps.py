from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoordinationConfig(AppConfig):
    name = "zhijian.coordination"
    label = "coordination"
    verbose_name = _("协同监管")

    def ready(self):
        # Imported once the apps are loaded (models): the procedure registers itself, and a clue
        # recorded anywhere is offered the departments the push rules would send it to.
        from zhijian.clues import intake

        from . import feedback  # noqa: F401  (registers the PUSH_ITEM procedure)
        from .rules import suggest_departments

        intake.register_suggester(suggest_departments)
        # Django's ready(): the ledger's labels and the names of codes are registered once every app is loaded.
        from zhijian.core import trace

        from .choices import TRACE_ACTIONS

        trace.register_action_labels(TRACE_ACTIONS)
        # The entity page's timeline (entities sits below: a registry this app fills).
        from zhijian.entities import timeline

        from .models import PushItem

        timeline.register_steps("coordination.pushes", procedure=feedback.PUSH_ITEM.name, kind=_("推送事项"), model=PushItem,
                                related=("matter", "department"), title=lambda i: f"{i.matter} → {i.department}")
