"""django.contrib.admin with the platform's site (``admin_site.ZhijianAdminSite``) as ``admin.site``.
Kept apart from ``apps.py`` so that ``zhijian.org`` still has exactly one AppConfig of its own."""
from django.contrib.admin.apps import AdminConfig


class AdminSiteConfig(AdminConfig):
    default_site = "zhijian.org.admin_site.ZhijianAdminSite"
