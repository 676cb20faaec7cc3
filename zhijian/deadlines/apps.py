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
        from zhijian.core import api, trace

        from .choices import TRACE_ACTIONS
        from .names import rule_names

        trace.register_action_labels(TRACE_ACTIONS)
        api.register_code_names(rule_names, "deadline_rule", "rule_code", "step_rule")
