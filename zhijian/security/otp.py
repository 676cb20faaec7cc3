"""TOTP second factor (django-otp, otp_totp).

``ensure_device(user)`` gives a user a confirmed TOTP device and returns its base32 secret (what an
authenticator app is given); the demo builder and browser tests use it and compute codes with
``code_for(secret)``. A code is accepted once: django-otp refuses a time step at or before the
last one used, so a second login inside the same 30 s uses ``next_code(user)``.
"""
from __future__ import annotations

import base64
import time

import segno
from django.conf import settings
from django.utils.safestring import mark_safe
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "default"


def otp_required_for(user) -> bool:
    """Every person who signs in with a password needs the second factor when REQUIRE_OTP is on.
    Integrators use API tokens, which a system administrator issues and which are exempt."""
    return bool(settings.REQUIRE_OTP and user is not None and user.is_authenticated)


def secret_of(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii")


def ensure_device(user) -> str:
    """Return the base32 secret of the user's confirmed TOTP device, creating one if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
    return secret_of(device)


def pending_device(user) -> TOTPDevice:
    """The unconfirmed device an enrolling user scans; reused until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def code_for(secret: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """The TOTP code for a base32 secret at time ``at`` (default now)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    t = int((time.time() if at is None else at) // step)
    return str(hotp(key, t, digits)).zfill(digits)


def next_code(user) -> str:
    """A code the server will accept now (the next unused time step within the tolerance)."""
    device = confirmed_device(user)
    if device is None:
        raise LookupError("no confirmed TOTP device")
    now_t = int(time.time() - device.t0) // device.step + device.drift
    t = max(now_t, device.last_t + 1)
    return str(hotp(device.bin_key, t, device.digits)).zfill(device.digits)


def qr_svg(device: TOTPDevice) -> str:
    """The enrolment QR code as inline SVG (no external image, no script)."""
    return mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4, title="TOTP"))


def mark_session_verified(session, device: TOTPDevice) -> None:
    """For code paths without a request (test clients): what ``django_otp.login`` stores."""
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
