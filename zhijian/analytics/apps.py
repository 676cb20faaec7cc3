from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "zhijian.analytics"
    label = "analytics"
    verbose_name = _("统计分析")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connected once the app registry is loaded: Holiday (a model) and workcal (which reads
        # models) cannot be imported while apps.py itself is being loaded.
        from django.db.models.signals import post_delete, post_save

        from zhijian.deadlines.models import Holiday

        from zhijian.supervision import queries as task_queries

        from . import rollups, workcal

        # The unit board's header counts come from the open-work rollup when it can answer.
        task_queries.register_board_counter(rollups.board_counts)

        # A changed holiday changes every ordinal from its date on: drop them, refilled on demand.
        post_save.connect(workcal.on_holiday_change, sender=Holiday, dispatch_uid="analytics.workcal.save")
        post_delete.connect(workcal.on_holiday_change, sender=Holiday, dispatch_uid="analytics.workcal.delete")
