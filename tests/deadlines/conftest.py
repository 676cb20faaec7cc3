import pytest

from zhijian.deadlines.services import load_deadline_rules, load_holidays
from zhijian.deadlines.workdays import invalidate_cache


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """The holiday cache is per process: never let one test's (rolled-back) rows leak into another."""
    invalidate_cache()
    yield
    invalidate_cache()


@pytest.fixture
def holidays(db):
    load_holidays()


@pytest.fixture
def rules(db):
    load_deadline_rules()
