"""Audit handlers for Django's own events: sign-in, sign-out, admin-site changes; API tokens
revoked when their owner's password changes."""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from . import audit
from .choices import AuditEvent
from .passwords import record_password
from .services import revoke_user_tokens
from .middleware import SESSION_LAST_SEEN, SESSION_LOGIN_AT

_ACTIONS = {ADDITION: "add", CHANGE: "change", DELETION: "delete"}


@receiver(user_logged_in, dispatch_uid="security_logged_in")
def on_logged_in(sender, request, user, **kwargs):
    if request is None:
        return
    now = time.time()
    if hasattr(request, "session"):
        request.session[SESSION_LOGIN_AT] = now
        request.session[SESSION_LAST_SEEN] = now
    audit.record(AuditEvent.LOGIN_SUCCESS, user=user, request=request)


@receiver(user_logged_out, dispatch_uid="security_logged_out")
def on_logged_out(sender, request, user, **kwargs):
    if user is None or request is None or getattr(request, "_zj_timeout", False):
        return
    audit.record(AuditEvent.LOGOUT, user=user, request=request)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security_new_account")
def on_account_created(sender, instance, created, raw=False, **kwargs):
    """``create_user`` hashes without ``set_password``, so validators' ``password_changed`` is not
    called: start the password's history and age here."""
    if created and not raw:
        record_password(instance)


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security_password_unusable")
def on_account_saving(sender, instance, raw=False, update_fields=None, **kwargs):
    """``set_unusable_password`` sets no ``_password``: note a usable password becoming unusable."""
    instance._zj_password_disabled = False
    if raw or instance.pk is None or instance.has_usable_password():
        return
    if update_fields is not None and "password" not in update_fields:
        return
    old = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._zj_password_disabled = bool(old) and old != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security_password_changed_tokens")
def on_password_changed(sender, instance, created, raw=False, **kwargs):
    """Every path that sets a new password — the change page, the administrator's set-password
    form, ``createadmin``, a script — goes through ``set_password``, which leaves the raw password
    in ``_password`` until the save is done (a hash upgrade at sign-in clears it first): then
    every API token of the account is revoked, and the old keys answer 401."""
    if created or raw:
        return
    if getattr(instance, "_password", None) is not None or getattr(instance, "_zj_password_disabled", False):
        revoke_user_tokens(instance)


@receiver(post_save, sender=LogEntry, dispatch_uid="security_admin_logentry")
def on_admin_logentry(sender, instance, created, **kwargs):
    if not created:
        return
    audit.record(
        AuditEvent.ADMIN_ACTION,
        user=instance.user,
        object_type=instance.content_type.model_class()._meta.label_lower if instance.content_type_id and instance.content_type.model_class() else "",
        object_id=instance.object_id or "",
        object_repr=instance.object_repr,
        detail={"action": _ACTIONS.get(instance.action_flag, str(instance.action_flag)), "change": instance.get_change_message()},
    )
