from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "zhijian.core"
    label = "core"
    verbose_name = _("核心")

    def ready(self):
        # Every model is loaded by now (ready() runs after all apps' models are imported).
        from .text import install_model_validators

        install_model_validators([c for c in apps.get_app_configs() if c.name.startswith("zhijian.")])
