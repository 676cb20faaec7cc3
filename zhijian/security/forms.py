from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from zhijian.core.errors import ApplicationError

from . import services


class LoginForm(AuthenticationForm):
    """Django's login form with the lockout and per-IP slow-down of ``services.login_authenticate``."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = services.login_authenticate(request=self.request, username=username, password=password)
            except ApplicationError as exc:
                raise ValidationError(exc.message, code=exc.code) from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class OTPForm(forms.Form):
    token = forms.CharField(
        label=_("动态口令"), min_length=6, max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )
