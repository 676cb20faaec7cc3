"""django.contrib.admin with the platform's site (``admin_site.ZhijianAdminSite``) as ``admin.site``.
Kept apart from ``apps.py`` so that ``zhijian.org`` still has exactly one AppConfig of its own."""
from django.contrib.admin.apps import AdminConfig


class AdminSiteConfig(AdminConfig):
    default_site = "zhijian.org.admin_site.ZhijianAdminSite"

    def ready(self):
        # Short console commands (``zhijian otp``, ``token``, ``createadmin``) serve no pages:
        # the cli marks them so the admin modules — and the whole platform they import — are not
        # loaded just to print a code (seconds saved per call).
        import os  # noqa: PLC0415  (kept with its one use)

        if os.environ.get("ZHIJIAN_CONSOLE_ONLY") == "1":
            self.module.autodiscover = lambda: None
        super().ready()
