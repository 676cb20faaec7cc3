"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = os.environ.get("ZHIJIAN_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    # The live server runs in a thread of this process; Playwright's sync API must not share its loop.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/setup.sh (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def shot():
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = False):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    return take


_LAST_WINDOW: dict[str, int] = {}


def _fresh_window(secret: str) -> None:
    """A TOTP code is accepted once: a second sign-in of the same person waits for the next 30 s window."""
    import time

    window = int(time.time() // 30)
    if _LAST_WINDOW.get(secret) == window:
        time.sleep(30 - time.time() % 30 + 0.5)
    _LAST_WINDOW[secret] = int(time.time() // 30)


def login(page, base_url: str, username: str, password: str, secret: str):
    """The real sign-in: password page, then the TOTP step with a code computed from the secret."""
    from zhijian.security.otp import code_for

    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#id_token")
    _fresh_window(secret)
    page.fill("#id_token", code_for(secret))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
