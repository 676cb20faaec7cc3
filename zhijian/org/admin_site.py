"""The admin site (/admin/) for the three administrators (三员分立).

- Who enters: ``security.roles.may_administer`` — the system, security and audit administrators,
  each seeing only the screens of their power (``ModelAdmin.has_*_permission`` by role, and
  ``roles.ADMIN_MODEL_PERMISSIONS`` for configuration tables). Not ``is_staff``, not
  ``is_superuser``.
- Sign-in: the platform's own login and TOTP pages (lockout, second factor); the admin has no
  login form. A signed-in person without an administrator role gets a Chinese page saying who may
  enter and whom to ask, with status 403 — never a redirect (the old /admin/ ↔ /admin/login/ loop).
"""
from __future__ import annotations

from functools import update_wrapper

from django.contrib import admin
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from zhijian.security.roles import ADMIN_ROLES, SECURITY_ADMIN, SYSTEM_ADMIN, may_administer


class ZhijianAdminSite(admin.AdminSite):
    site_header = _("智监 系统管理")
    site_title = _("智监 系统管理")
    index_title = _("配置与账户")

    def has_permission(self, request):
        return may_administer(request.user)

    def _next(self, request) -> str:
        target = request.GET.get("next") or ""
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            return target
        return reverse("admin:index", current_app=self.name)

    def login(self, request, extra_context=None):
        """No login form of its own: the platform's sign-in (password, then TOTP) and back."""
        if not request.user.is_authenticated:
            return redirect_to_login(self._next(request), reverse("login"))
        if self.has_permission(request):
            return HttpResponseRedirect(self._next(request))
        return self.denied(request)

    def logout(self, request, extra_context=None):
        if request.method == "POST":  # the admin header's 注销 (a POST form, CSRF-checked)
            auth_logout(request)
            return HttpResponseRedirect(reverse("login"))
        return HttpResponseRedirect(reverse("admin:index", current_app=self.name))

    def password_change(self, request, extra_context=None):
        return HttpResponseRedirect(reverse("password_change"))

    def admin_view(self, view, cacheable=False):
        def inner(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("login"))
            if not self.has_permission(request):
                return self.denied(request)
            return view(request, *args, **kwargs)

        if not cacheable:
            inner = never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            inner = csrf_protect(inner)
        return update_wrapper(inner, view)

    def denied(self, request):
        """Who may enter, and whom to ask: the administrators of the person's own bureau first."""
        from .models import User  # noqa: PLC0415  (admin sites are built while apps load; models only at request time)

        admins = User.objects.filter(is_active=True, roles__code__in=[SYSTEM_ADMIN, SECURITY_ADMIN]).distinct()
        bureau_id = getattr(request.user, "bureau_id", None)
        local = admins.filter(bureau_id=bureau_id) if bureau_id else admins.none()
        people = list((local if local.exists() else admins).prefetch_related("roles").select_related("bureau")[:6])
        contacts = [{"name": str(u), "roles": "、".join(str(r) for r in u.roles.all() if r.code in ADMIN_ROLES),
                     "unit": str(u.bureau or u.department or "")} for u in people]
        roles = "、".join(str(r) for r in request.user.roles.all()) if hasattr(request.user, "roles") else ""
        return render(request, "org/admin_denied.html", {"contacts": contacts, "my_roles": roles}, status=403)
