from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "zhijian.org"
    label = "org"
    verbose_name = _("组织与权限")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system check: Django registers checks in ready(), once the app registry is loaded)
        # Django's ready(): the ledger's labels and the names of codes are registered once every app is loaded.
        from zhijian.core import trace

        from .choices import TRACE_ACTIONS

        trace.register_action_labels(TRACE_ACTIONS)
