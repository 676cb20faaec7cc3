"""Sign-in pages: password (with lockout), TOTP second factor, enrolment, password change.
Thin: the checks live in zhijian.security.services."""
from __future__ import annotations

import re

import django_otp
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from .choices import RoleCode
from zhijian.security import audit, otp, services
from zhijian.security.choices import AuditEvent
from zhijian.security.forms import LoginForm, OTPForm
from zhijian.security.middleware import SESSION_PASSWORD_OK


def _next_url(request, default="home") -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return reverse(default)


# Phones and tablets by their User-Agent (Android, iPhone/iPad, HarmonyOS, "Mobile" browsers).
MOBILE_UA = re.compile(r"Mobi|Android|iPhone|iPad|iPod|HarmonyOS|OpenHarmony", re.IGNORECASE)


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "registration/login.html"

    def get_default_redirect_url(self):
        """No explicit ``next``: an enforcement officer signing in on a phone lands on the phone app."""
        user = self.request.user
        if MOBILE_UA.search(self.request.headers.get("User-Agent", "")) and user.has_role(RoleCode.ENFORCEMENT_OFFICER):
            return reverse("mobile:app")
        return super().get_default_redirect_url()


class LogoutView(auth_views.LogoutView):
    pass


@never_cache
@csrf_protect
@login_required
def otp_verify(request):
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    device = otp.confirmed_device(user)
    if device is None:
        return redirect(f"{reverse('otp-enrol')}?{request.GET.urlencode()}")
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.otp_check(request=request, user=user, token=form.cleaned_data["token"]):
            django_otp.login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", _("动态口令错误或已使用，请输入验证器上的新口令。"))
    return render(request, "registration/otp_verify.html", {"form": form, "next": request.GET.get("next", "")})


@never_cache
@csrf_protect
@login_required
def otp_enrol(request):
    user = request.user
    if otp.confirmed_device(user) is not None:
        # A second device only after a security administrator resets the first.
        return redirect(f"{reverse('otp-verify')}?{request.GET.urlencode()}")
    device = otp.pending_device(user)
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            audit.record(AuditEvent.OTP_ENROLLED, user=user, request=request, obj=device)
            messages.success(request, _("动态口令已绑定。"))
            return redirect(_next_url(request))
        audit.record(AuditEvent.OTP_FAILURE, outcome="failure", user=user, request=request, detail={"step": "enrol"})
        form.add_error("token", _("动态口令不正确，请核对手机时间后重试。"))
    secret = otp.secret_of(device)
    return render(request, "registration/otp_enrol.html", {
        "form": form, "qr": otp.qr_svg(device), "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "next": request.GET.get("next", ""),
    })


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session[SESSION_PASSWORD_OK] = True
        audit.record(AuditEvent.PASSWORD_CHANGE, user=self.request.user, request=self.request)
        messages.success(self.request, _("密码已修改。"))
        return redirect(_next_url(self.request)) if (self.request.POST.get("next") or "") else response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["next"] = self.request.GET.get("next", "")
        return context
