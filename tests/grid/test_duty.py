"""G3: consent, the position rate limit, stale positions, nearest-N and emergency orders."""
import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from zhijian.core.errors import ApplicationError
from zhijian.geo import coords
from zhijian.grid import duty, orders
from zhijian.grid.models import DutyStatus

T0 = dt.datetime(2026, 10, 9, 9, 0, tzinfo=dt.timezone.utc)


def test_no_position_without_duty_and_consent(city):
    with pytest.raises(ApplicationError, match="未上岗或未同意共享位置"):
        duty.position_report(actor=city.officer, lng=113.72, lat=23.01, now=T0)
    with pytest.raises(ApplicationError, match="请勾选同意后再上岗"):
        duty.duty_start(actor=city.officer, consent=False)
    duty.duty_start(actor=city.officer, consent=True)
    status = duty.position_report(actor=city.officer, lng=113.72, lat=23.01, now=T0)
    # Stored in GCJ-02: the browser's WGS-84 point converted.
    assert (status.lng, status.lat) == pytest.approx(coords.wgs84_to_gcj02(113.72, 23.01))
    duty.duty_end(actor=city.officer)
    status = DutyStatus.objects.get(user=city.officer)
    assert status.lng is None and status.consent_at is None
    with pytest.raises(ApplicationError, match="未上岗或未同意共享位置"):
        duty.position_report(actor=city.officer, lng=113.72, lat=23.01, now=T0 + dt.timedelta(minutes=5))


@override_settings(GRID_POSITION_MIN_INTERVAL=30)
def test_rate_limit_one_report_per_interval(city):
    duty.duty_start(actor=city.officer, consent=True)
    duty.position_report(actor=city.officer, lng=113.72, lat=23.01, now=T0)
    with pytest.raises(ApplicationError) as e:
        duty.position_report(actor=city.officer, lng=113.73, lat=23.01, now=T0 + dt.timedelta(seconds=29))
    assert e.value.status == 429 and e.value.extra["retry_after"] == 1
    assert DutyStatus.objects.get(user=city.officer).reported_at == T0
    duty.position_report(actor=city.officer, lng=113.73, lat=23.01, now=T0 + dt.timedelta(seconds=30))


@override_settings(GRID_POSITION_MAX_AGE_MIN=10)
def test_stale_positions_drop_off(city):
    duty.duty_start(actor=city.officer, consent=True)
    duty.position_report(actor=city.officer, lng=113.72, lat=23.01, system="gcj02", now=T0)
    assert [s.user for s in duty.live_positions(city.dispatcher, now=T0 + dt.timedelta(minutes=10))] == [city.officer]
    assert list(duty.live_positions(city.dispatcher, now=T0 + dt.timedelta(minutes=10, seconds=1))) == []


def test_haversine_is_right():
    # One degree of latitude ≈ 111.2 km; 0.01° of longitude at 23° N ≈ 1.024 km.
    assert duty.haversine_m(113.0, 23.0, 113.0, 24.0) == pytest.approx(111_195, rel=1e-3)
    assert duty.haversine_m(113.70, 23.0, 113.71, 23.0) == pytest.approx(1_023.6, rel=1e-3)


def _on_duty(user, lng, lat, now=None):
    duty.duty_start(actor=user, consent=True)
    duty.position_report(actor=user, lng=lng, lat=lat, system="gcj02", now=now or timezone.now())


def test_nearest_n_and_orders_acknowledged(city):
    _on_duty(city.officer, 113.720, 23.010)   # ~1.0 km from the scene
    _on_duty(city.officer2, 113.735, 23.010)  # ~0.5 km
    _on_duty(city.officer3, 113.790, 23.050)  # far
    _on_duty(city.assistant, 113.7305, 23.010)  # nearest, ~50 m
    ranked = duty.nearest_on_duty(city.dispatcher, lng=113.730, lat=23.010, n=3)
    assert [s.user for s, _d in ranked] == [city.assistant, city.officer2, city.officer]
    assert [d for _s, d in ranked] == pytest.approx([51.2, 511.8, 1023.5], abs=1)

    with pytest.raises(ApplicationError, match="只有调度员或领导可以下达应急指令"):
        orders.order_issue(actor=city.officer, title="x", lng=113.73, lat=23.01, wanted=2)
    order = orders.order_issue(actor=city.dispatcher, title="市场火情疏散", lng=113.730, lat=23.010, wanted=2)
    assert [r.officer for r in order.recipients.all()] == [city.assistant, city.officer2]
    orders.order_acknowledge(actor=city.officer2, order=order)
    with pytest.raises(ApplicationError):
        orders.order_acknowledge(actor=city.officer3, order=order)  # not a recipient
    assert [r.acknowledged_at is not None for r in order.recipients.all()] == [False, True]


def test_order_refused_when_nobody_on_duty(city):
    with pytest.raises(ApplicationError, match="当前没有在岗并共享位置的人员"):
        orders.order_issue(actor=city.dispatcher, title="x", lng=113.73, lat=23.01, wanted=2)


def test_outsiders_positions_are_not_seen(city, outsider):
    _on_duty(city.officer, 113.720, 23.010)
    assert list(duty.live_positions(outsider)) == []
