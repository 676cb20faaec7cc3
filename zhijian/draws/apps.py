from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DrawsConfig(AppConfig):
    name = "zhijian.draws"
    label = "draws"
    verbose_name = _("双随机抽查")

    def ready(self):
        # Django's ready(): the registries are filled once every app is loaded.
        from zhijian.core import trace

        from .choices import TRACE_ACTIONS

        trace.register_action_labels(TRACE_ACTIONS)
        from . import procedure  # noqa: F401  (declares the draw's procedure: its step labels)
        # The entity page's timeline (entities sits below: a registry this app fills).
        from . import timeline_rows

        timeline_rows.install()
