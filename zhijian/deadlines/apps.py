from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeadlinesConfig(AppConfig):
    name = "zhijian.deadlines"
    label = "deadlines"
    verbose_name = _("期限与编号")

    def ready(self):
        # Django's ready(): app modules that touch models load after the registry.
        from . import signals  # noqa: F401  (cache invalidation)
        from .scheduling import autodiscover

        autodiscover()
        # Django's ready(): the ledger's labels and the names of codes are registered once every app is loaded.
        from zhijian.core import trace

        from .choices import TRACE_ACTIONS

        trace.register_action_labels(TRACE_ACTIONS)
