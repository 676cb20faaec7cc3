from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "zhijian.grid"
    label = "grid"
    verbose_name = _("网格化监管")
    default_auto_field = "django.db.models.BigAutoField"
