from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EntitiesConfig(AppConfig):
    name = "zhijian.entities"
    label = "entities"
    verbose_name = _("市场主体")

    def ready(self):
        # Signals are wired here, once the models exist (the tally imports them).
        from django.db.models.signals import post_delete

        from . import exports, tally  # noqa: F401  exports registers the registry's exporter
        from .models import MarketEntity

        post_delete.connect(tally.on_delete, sender=MarketEntity, dispatch_uid="entities.tally.on_delete")
        # Django's ready(): the registries are filled once every app is loaded (names.py reads models).
        from zhijian.core import api, trace

        from .choices import TRACE_ACTIONS
        from .names import industry_names

        trace.register_action_labels(TRACE_ACTIONS)
        api.register_code_names(industry_names, "industry_code", "industry_prefixes")
