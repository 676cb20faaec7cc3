"""Test helpers. ``force_login_verified`` stands in for a full sign-in (password + TOTP) on a Django
test client; tests/conftest.py makes ``Client.force_login`` use it so tests of business pages need
not replay the second factor. Tests of the sign-in itself use ``client.login`` or the login page.
"""
from __future__ import annotations

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from .otp import ensure_device, mark_session_verified

_plain_force_login = Client.force_login


def force_login_verified(client, user, backend=None):
    _plain_force_login(client, user, backend)
    ensure_device(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    session = client.session
    mark_session_verified(session, device)
    session.save()


def force_login_unverified(client, user, backend=None):
    """A session that has passed the password step only."""
    _plain_force_login(client, user, backend)
