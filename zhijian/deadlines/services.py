"""Writes: holiday and rule loading, sweep leases (numbers: ``numbering.py``; clocks: ``clocks.py``)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError

from . import clocks
from .choices import HolidaySource, SweepStatus
from .models import Clock, DeadlineRule, Holiday, SweepLease
from .workdays import invalidate_cache

# --- holidays ------------------------------------------------------------------------------------


def holidays_dir() -> Path:
    return Path(settings.DATA_DIR) / "holidays"


def read_holiday_files(directory: Path | None = None) -> list[dict]:
    """The day entries of every ``YYYY.json`` (holiday-cn format) in ``directory``."""
    directory = Path(directory or holidays_dir())
    entries = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9].json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        paper = (data.get("papers") or [""])[0]
        for day in data.get("days", []):
            entries.append(
                {"date": dt.date.fromisoformat(day["date"]), "is_off_day": bool(day["isOffDay"]), "name": day["name"], "year": int(data["year"]), "note": paper[:200]}
            )
    return entries


@transaction.atomic
def load_holidays(*, directory: Path | None = None, model=Holiday) -> dict[str, int]:
    """Load the holiday files into the table. Idempotent.

    Rows that came from the files (source holiday-cn) are created or brought up to date; a row an
    administrator entered for the same date (any other source) wins and is left alone.
    ``model`` lets the data migration pass its historical model.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0, "kept_admin": 0}
    existing = {h.date: h for h in model.objects.all()}
    new = []
    for e in read_holiday_files(directory):
        row = existing.get(e["date"])
        if row is None:
            new.append(model(source=HolidaySource.HOLIDAY_CN, **e))
            existing[e["date"]] = new[-1]
            counts["created"] += 1
        elif row.source != HolidaySource.HOLIDAY_CN:
            counts["kept_admin"] += 1
        elif row.pk and any(getattr(row, k) != v for k, v in e.items()):
            for k, v in e.items():
                setattr(row, k, v)
            row.save()
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    model.objects.bulk_create(new, batch_size=500)
    invalidate_cache()
    transaction.on_commit(invalidate_cache)
    return counts


def _holiday_row(h: Holiday) -> dict:
    return {"date": h.date.isoformat(), "is_off_day": h.is_off_day, "name": h.name, "year": h.year, "source": h.source, "note": h.note}


def _calendar_changed(*, actor) -> int:
    """The holiday table changed: forget the cache and recompute the open provisional clocks."""
    invalidate_cache()
    transaction.on_commit(invalidate_cache)
    return clocks.recompute_provisional(actor=actor)


@transaction.atomic
def holidays_enter(year: int, rows: list[dict], *, actor, source: str = HolidaySource.STATE_COUNCIL, note: str = "") -> dict:
    """Enter the State Council's schedule of ``year``: one row per day that differs from the
    normal week (``{"date", "is_off_day", "name"[, "note"]}``). Existing rows of those dates are
    replaced. Traced (one entry for the schedule) and announced (``deadlines.holidays_entered``);
    then every open provisional clock is recomputed (``clock.recomputed`` per changed clock).
    Returns ``{"created", "updated", "recomputed"}``."""
    created = updated = 0
    before = {h.date: _holiday_row(h) for h in Holiday.objects.filter(year=year)}
    for row in rows:
        day = row["date"] if isinstance(row["date"], dt.date) else dt.date.fromisoformat(row["date"])
        values = {"is_off_day": bool(row["is_off_day"]), "name": row["name"], "year": year, "source": row.get("source", source),
                  "note": (row.get("note") or note)[:200]}
        _obj, was_created = Holiday.objects.update_or_create(date=day, defaults=values)
        created += was_created
        updated += not was_created
    after = [_holiday_row(h) for h in Holiday.objects.filter(year=year).order_by("date")]
    trace.record(actor=actor, action="deadlines.holidays_enter", object_type="deadlines.holiday_schedule", object_id=str(year),
                 before={"rows": [before[d] for d in sorted(before)]}, after={"rows": after})
    events.emit("deadlines.holidays_entered", payload={"year": year, "created": created, "updated": updated, "days": len(after)},
                object_type="deadlines.holiday_schedule", object_id=str(year))
    recomputed = _calendar_changed(actor=actor)
    return {"created": created, "updated": updated, "recomputed": recomputed}


@transaction.atomic
def holiday_save(holiday: Holiday, *, actor, change: bool) -> Holiday:
    """One day saved by an administrator (the admin form): traced, provisional clocks recomputed."""
    before = _holiday_row(Holiday.objects.get(pk=holiday.pk)) if change and holiday.pk else None
    holiday.save()
    trace.record(actor=actor, action="deadlines.holiday_change" if change else "deadlines.holiday_add", obj=holiday,
                 before=before, after=_holiday_row(holiday))
    _calendar_changed(actor=actor)
    return holiday


@transaction.atomic
def holiday_delete(holiday: Holiday, *, actor) -> None:
    row = _holiday_row(holiday)
    trace.record(actor=actor, action="deadlines.holiday_delete", obj=holiday, before=row, after=None)
    holiday.delete()
    _calendar_changed(actor=actor)


def _rule_row(rule: DeadlineRule) -> dict:
    return {f.name: (str(v) if isinstance(v := getattr(rule, f.attname), (dt.date, dt.datetime)) else v)
            for f in DeadlineRule._meta.concrete_fields if f.name not in ("created_at", "updated_at")}


@transaction.atomic
def rule_save(rule: DeadlineRule, *, actor, change: bool) -> DeadlineRule:
    """A deadline rule saved by an administrator: validated, traced, announced (``deadlines.rule_changed``).
    Running clocks keep the version they started under; a changed figure is a new version."""
    rule.full_clean()
    before = _rule_row(DeadlineRule.objects.get(pk=rule.pk)) if change and rule.pk else None
    rule.save()
    trace.record(actor=actor, action="deadlines.rule_change" if change else "deadlines.rule_add", obj=rule, before=before,
                 after=_rule_row(rule))
    events.emit("deadlines.rule_changed", payload={"code": rule.code, "version": rule.version, "created": not change},
                object_type="deadlines.deadlinerule", object_id=str(rule.pk))
    return rule


@transaction.atomic
def rule_delete(rule: DeadlineRule, *, actor) -> None:
    """Delete a rule version no clock was started under (those must stay recomputable)."""
    if Clock.objects.filter(rule_code=rule.code, rule_version=rule.version).exists():
        raise ApplicationError(_("已有计时按此规则版本计算，不能删除；请设置失效日期并新增版本"), code="rule_in_use")
    trace.record(actor=actor, action="deadlines.rule_delete", obj=rule, before=_rule_row(rule), after=None)
    events.emit("deadlines.rule_changed", payload={"code": rule.code, "version": rule.version, "deleted": True},
                object_type="deadlines.deadlinerule", object_id=str(rule.pk))
    rule.delete()


# --- deadline rules ------------------------------------------------------------------------------


@transaction.atomic
def load_deadline_rules(*, update: bool = False, refresh: tuple[str, ...] = (), model=DeadlineRule) -> dict[str, int]:
    """Create the seed rules that are missing (by code and version). Idempotent.

    Existing rows are an administrator's to edit and are left alone unless ``update`` is true
    (every seeded field reset) or a field is named in ``refresh`` (only those fields set: a data
    migration bringing a new column to its seeded value). Seed fields the model does not have
    (a data migration's historical model) are skipped.
    """
    from .seed_rules import RULES  # here: the seed is a large literal needed only when loading

    known = {f.name for f in model._meta.get_fields()}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for seed in RULES:
        fields = {k: v for k, v in seed.items() if k not in ("code", "version") and k in known}
        row = model.objects.filter(code=seed["code"], version=seed["version"]).first()
        if row is None:
            model.objects.create(code=seed["code"], version=seed["version"], **fields)
            counts["created"] += 1
            continue
        wanted = fields if update else {k: v for k, v in fields.items() if k in refresh}
        if any(getattr(row, k) != v for k, v in wanted.items()):
            for k, v in wanted.items():
                setattr(row, k, v)
            row.save()
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts


# --- sweep leases --------------------------------------------------------------------------------


def _ensure_lease_row(name: str) -> None:
    SweepLease.objects.bulk_create([SweepLease(name=name)], ignore_conflicts=True)


def acquire_lease(*, name: str, holder: str, ttl: dt.timedelta, due_only: bool = False, now: dt.datetime | None = None) -> bool:
    """Take the lease of sweep ``name`` for ``holder``; True if taken.

    One conditional ``UPDATE … WHERE expires_at IS NULL OR expires_at <= now``: of any number of
    concurrent attempts exactly one matches the row. An expired lease (a crashed holder) is taken
    over. With ``due_only`` the sweep must also be due (``next_run_at`` passed), so two schedulers
    do not run the same sweep twice in one period.
    """
    now = now or timezone.now()
    _ensure_lease_row(name)
    free = Q(expires_at__isnull=True) | Q(expires_at__lte=now)
    if due_only:
        free &= Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    with transaction.atomic():
        won = SweepLease.objects.filter(free, name=name).update(
            holder=holder, expires_at=now + ttl, last_started_at=now, last_status=SweepStatus.RUNNING
        )
    return won == 1


def release_lease(
    *, name: str, holder: str, status: str = SweepStatus.OK, message: str = "", next_run_at: dt.datetime | None = None
) -> bool:
    """Record the run's outcome and free the lease, only if ``holder`` still holds it."""
    now = timezone.now()
    fields = {
        "holder": "",
        "expires_at": None,
        "last_finished_at": now,
        "last_status": status,
        "last_message": message[:4000],
        "run_count": F("run_count") + 1,
    }
    if next_run_at is not None:
        fields["next_run_at"] = next_run_at
    with transaction.atomic():
        return SweepLease.objects.filter(name=name, holder=holder).update(**fields) == 1
