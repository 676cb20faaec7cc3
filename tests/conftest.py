import os

import pytest

from tests.factories import make_bureau, make_user


def pytest_collection_modifyitems(config, items):
    is_pg = "postgres" in os.environ.get("ZHIJIAN_DATABASE_URL", "")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (ZHIJIAN_DATABASE_URL=postgres://…)")
    for item in items:
        if "postgres" in item.keywords and not is_pg:
            item.add_marker(skip_pg)


def _seed_reference_rows():
    """The rows data migrations seed (deadline rules, holidays, routing rules, business lines), written again."""
    from importlib import import_module

    from django.apps import apps

    for name in ("zhijian.deadlines.migrations.0002_seed_rules_and_holidays", "zhijian.grid.migrations.0002_seed_rules"):
        import_module(name).seed(apps, None)
    import_module("zhijian.deadlines.migrations.0004_seed_rule_data").seed(apps, None)
    import_module("zhijian.grid.migrations.0006_kernel_clocks_clues").rules(apps, None)
    import_module("zhijian.inspections.migrations.0004_businessline_industry_codes").seed(apps, None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test ends with a flush that also empties what the data migrations seeded;
    put it back so the next test in this worker sees the database as migrations left it."""
    yield
    marker = item.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))
    if transactional and nextitem is not None:  # after the last test the database is already gone
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            _seed_reference_rows()


@pytest.fixture(autouse=True)
def _fresh_code_names():
    """Names of codes are cached per process for minutes; each test's database has its own."""
    from zhijian.core.api import clear_code_name_cache

    clear_code_name_cache()
    yield


@pytest.fixture(autouse=True)
def _own_trace_anchor(tmp_path_factory, settings, monkeypatch):
    """Each test writes its trace checkpoints (core.anchor) to a file of its own, and child processes
    too: one test's checkpoints must never be held against another test's database."""
    path = str(tmp_path_factory.mktemp("anchor") / "trace-anchor.jsonl")
    settings.TRACE_ANCHOR_FILE = path
    monkeypatch.setenv("ZHIJIAN_TRACE_ANCHOR_FILE", path)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (a request switched to English must not leak)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _force_login_passes_otp(monkeypatch):
    """``force_login`` stands for a full sign-in, TOTP step included (see zhijian/security/testing.py)."""
    from django.test import Client

    from zhijian.security.testing import force_login_verified

    monkeypatch.setattr(Client, "force_login", force_login_verified)


@pytest.fixture
def bureau(db):
    return make_bureau("4419")


@pytest.fixture
def officer(db, bureau):
    return make_user("enforcement_officer", "registry_clerk", bureau=bureau, enforcement_cert_no="44190012345")


@pytest.fixture
def outsider(db):
    """Someone whose jurisdiction (济南, 3701) does not overlap 东莞 (4419)."""
    return make_user("enforcement_officer", "registry_clerk", jurisdiction="3701")


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login
