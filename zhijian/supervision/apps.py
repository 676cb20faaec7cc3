from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "zhijian.supervision"
    label = "supervision"
    verbose_name = _("监管任务")

    def ready(self):
        # Django's ready(): the procedure module reads models, loadable only once every app is.
        from zhijian.core import api, trace

        from . import procedure  # noqa: F401  (declares the task procedure: its step labels)
        from .choices import TRACE_ACTIONS, record_kind_names

        trace.register_action_labels(TRACE_ACTIONS)
        api.register_code_names(record_kind_names, "record_kind")
        # The entity page's timeline (entities sits below: a registry this app fills).
        from zhijian.entities import timeline

        from .models import Task
        from .procedure import TASK

        timeline.register_steps("supervision.tasks", procedure=TASK.name, kind=_("监管任务"), model=Task,
                                title=lambda t: f"{t.number} {t.title}".strip())
