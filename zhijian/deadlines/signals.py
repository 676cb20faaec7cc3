"""Keep the per-process holiday cache honest: any change to the table clears it."""
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Holiday
from .workdays import invalidate_cache


@receiver(post_save, sender=Holiday)
@receiver(post_delete, sender=Holiday)
def _holiday_changed(**kwargs):
    invalidate_cache()
    # Again after commit: a reload inside the transaction may have cached uncommitted rows.
    transaction.on_commit(invalidate_cache)
