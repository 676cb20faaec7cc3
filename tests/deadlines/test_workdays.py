"""Working days on the real 2025 and 2026 schedules (data/holidays/2025.json, 2026.json).

Every expected date below was counted by hand on a calendar; the start day is never counted.
"""
import datetime as dt
import json

import chinese_calendar
import pytest
from django.conf import settings

from zhijian.deadlines.choices import HolidaySource
from zhijian.deadlines.models import Holiday
from zhijian.deadlines.services import load_holidays
from zhijian.deadlines.workdays import (
    CalendarUnknownYear,
    add_days,
    add_months,
    add_workdays,
    is_workday,
    library_knows,
    tracking,
    workdays_between,
)

D = dt.date
pytestmark = pytest.mark.usefixtures("holidays")


@pytest.mark.parametrize(
    "day, expected",
    [
        (D(2025, 1, 26), True),  # Sunday, make-up working day before the Spring Festival
        (D(2025, 1, 27), True),
        (D(2025, 1, 28), False),  # Tuesday, first day off
        (D(2025, 2, 4), False),  # Tuesday, last day off
        (D(2025, 2, 5), True),
        (D(2025, 2, 8), True),  # Saturday, make-up working day
        (D(2025, 2, 9), False),  # an ordinary Sunday
        (D(2025, 9, 28), True),  # Sunday before National Day, working
        (D(2025, 10, 8), False),  # Wednesday, National Day + Mid-Autumn
        (D(2025, 10, 11), True),  # Saturday, working
        (D(2026, 1, 4), True),  # Sunday after New Year, working
        (D(2026, 2, 14), True),  # Saturday before the Spring Festival, working
        (D(2026, 2, 23), False),  # Monday, last day off
        (D(2026, 2, 28), True),  # Saturday, working
        (D(2026, 9, 20), True),  # Sunday, working
        (D(2026, 9, 25), False),  # Friday, Mid-Autumn
        (D(2026, 10, 10), True),  # Saturday, working
        (D(2026, 3, 11), True),  # an ordinary Wednesday
    ],
)
def test_is_workday_on_real_schedule(day, expected):
    """Statutory days off are off, adjusted working weekends are working days."""
    assert is_workday(day) is expected


@pytest.mark.parametrize(
    "start, n, expected",
    [
        # Friday before the 2025 Spring Festival: Sunday 26 Jan is a working day.
        (D(2025, 1, 24), 1, D(2025, 1, 26)),
        (D(2025, 1, 24), 3, D(2025, 2, 5)),  # 26, 27, then 28 Jan–4 Feb off, 5 Feb
        (D(2025, 1, 24), 7, D(2025, 2, 10)),  # 26, 27, 5, 6, 7, Sat 8 Feb, Mon 10 Feb
        (D(2025, 1, 27), 1, D(2025, 2, 5)),
        # May Day 2025: Sunday 27 Apr is a working day.
        (D(2025, 4, 25), 2, D(2025, 4, 28)),
        # National Day 2025: Sun 28 Sep working, 1–8 Oct off, Sat 11 Oct working.
        (D(2025, 9, 26), 5, D(2025, 10, 10)),  # 28, 29, 30, 9, 10
        (D(2025, 9, 30), 7, D(2025, 10, 16)),  # 9, 10, Sat 11, 13, 14, 15, 16
        (D(2025, 9, 30), 5, D(2025, 10, 14)),  # 9, 10, 11, 13, 14
        # Across the year end into New Year 2026 (1–3 Jan off, Sunday 4 Jan working).
        (D(2025, 12, 31), 1, D(2026, 1, 4)),
        # Spring Festival 2026: Sat 14 Feb working, 15–23 Feb off, Sat 28 Feb working.
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 2, D(2026, 2, 24)),
        (D(2026, 2, 13), 7, D(2026, 3, 2)),  # 14, 24, 25, 26, 27, Sat 28, Mon 2 Mar
        # Mid-Autumn + National Day 2026: 25–27 Sep and 1–7 Oct off, Sat 10 Oct working.
        (D(2026, 9, 18), 1, D(2026, 9, 20)),
        (D(2026, 9, 24), 1, D(2026, 9, 28)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        (D(2026, 9, 21), 20, D(2026, 10, 26)),
        # n = 0 is the start itself; counting back skips days off the same way.
        (D(2026, 3, 11), 0, D(2026, 3, 11)),
        (D(2026, 10, 12), -7, D(2026, 9, 24)),  # Sat 10, 9, 8 Oct, 30, 29, 28 Sep, 24 Sep
    ],
)
def test_add_workdays(start, n, expected):
    """The start day is not counted (行政处罚法 art. 85); days off are skipped; 调休 weekends count."""
    assert add_workdays(start, n) == expected


def test_workdays_between_inverts_add_workdays():
    assert workdays_between(D(2025, 1, 24), D(2025, 2, 10)) == 7
    assert workdays_between(D(2026, 2, 20), D(2026, 3, 2)) == 6  # 24, 25, 26, 27, Sat 28, 2 Mar
    assert workdays_between(D(2026, 3, 2), D(2026, 2, 20)) == -6
    assert workdays_between(D(2026, 3, 2), D(2026, 3, 2)) == 0


def test_natural_days_and_roll_forward():
    """Natural days count every day; roll_forward moves a last day that is off to the next working day."""
    assert add_days(D(2025, 9, 30), 15) == D(2025, 10, 15)
    assert add_days(D(2025, 9, 20), 15) == D(2025, 10, 5)  # Sunday in the National Day week
    assert add_days(D(2025, 9, 20), 15, roll_forward=True) == D(2025, 10, 9)
    assert add_days(D(2025, 9, 25), 15, roll_forward=True) == D(2025, 10, 10)  # already a working day
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2025, 11, 30), 3) == D(2026, 2, 28)
    assert add_months(D(2025, 5, 15), -6) == D(2024, 11, 15)


def test_unknown_year_is_provisional_and_strict_raises_a_chinese_message_naming_the_year():
    """A year whose schedule neither the table nor the library knows is counted on its provisional
    calendar (statutory holidays + weekends); ``strict=True`` refuses it, naming the year."""
    assert not library_knows(2099)
    with pytest.raises(CalendarUnknownYear) as info:
        is_workday(D(2099, 3, 2), strict=True)
    assert info.value.year == 2099
    assert "2099 年的法定节假日安排尚未录入" in info.value.message
    with tracking() as used:
        assert is_workday(D(2099, 3, 2)) is True  # an ordinary Monday
        assert is_workday(D(2099, 1, 1)) is False  # 元旦
        assert add_workdays(D(2099, 1, 1), 1) == D(2099, 1, 2)
    assert used == {2099}


def test_admin_enters_a_new_year_and_the_cache_sees_it():
    """An administrator enters a year's notice: the year becomes known at once (cache cleared on save)."""
    with pytest.raises(CalendarUnknownYear):
        is_workday(D(2099, 1, 5), strict=True)  # also fills the per-process cache
    Holiday.objects.create(date=D(2099, 1, 1), is_off_day=True, name="元旦", source=HolidaySource.STATE_COUNCIL)
    assert Holiday.objects.get(date=D(2099, 1, 1)).year == 2099
    assert is_workday(D(2099, 3, 2), strict=True) is True  # an ordinary Monday of a table-known year
    assert is_workday(D(2099, 1, 1)) is False  # Thursday, entered as a day off
    assert add_workdays(D(2099, 1, 1), 2) == D(2099, 1, 5)  # Fri 2, Mon 5
    Holiday.objects.create(date=D(2099, 1, 4), is_off_day=False, name="元旦", source=HolidaySource.STATE_COUNCIL)
    assert add_workdays(D(2099, 1, 1), 2) == D(2099, 1, 4)  # Fri 2, Sun 4 (make-up day)


def test_table_overrides_library_and_delete_restores():
    """A local day off (e.g. a typhoon closure) entered by an administrator wins over the library."""
    day = D(2025, 3, 3)  # an ordinary Monday
    assert is_workday(day) is True
    row = Holiday.objects.create(date=day, is_off_day=True, name="台风停工", source=HolidaySource.LOCAL)
    assert is_workday(day) is False
    assert add_workdays(D(2025, 2, 28), 1) == D(2025, 3, 4)
    row.delete()
    assert is_workday(day) is True


def test_table_and_library_agree_on_2025_and_2026():
    """The shipped files and chinese-calendar give the same answer for every day of 2025–2026."""
    day = D(2025, 1, 1)
    while day.year < 2027:
        assert is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_load_holidays_is_idempotent_and_keeps_admin_rows():
    files = [json.loads(p.read_text()) for p in (settings.DATA_DIR / "holidays").glob("2*.json")]
    expected = len({d["date"] for f in files for d in f["days"]})
    from_files = Holiday.objects.all()
    assert from_files.count() == expected
    Holiday.objects.filter(date=D(2025, 10, 8)).update(source=HolidaySource.LOCAL, is_off_day=False, name="本地调整")
    Holiday.objects.filter(date=D(2025, 10, 7)).delete()
    counts = load_holidays()
    assert counts == {"created": 1, "updated": 0, "unchanged": expected - 2, "kept_admin": 1}
    assert from_files.count() == expected
    assert Holiday.objects.get(date=D(2025, 10, 8)).is_off_day is False
    assert load_holidays()["created"] == 0
