"""Crawl the demo city as every demo role, in a zh-CN browser, and fail on what a new user would trip on.

For each role: the real sign-in (password + TOTP), then a breadth-first walk over every same-origin
page reachable by links from the home page (GET only; logout, the language switch, downloads and the
API docs' internals skipped; one page per URL pattern, numbers in paths grouped). Mobile pages (/m/)
are walked as officer1 on a phone. A finding is one of:

- an internal code in visible text (``food_sales``, ``grid.assign``, ``key=value``, a bare English
  status word such as ``active``, an industry or division code shown without its name, ``(year: 2027)``);
- an English phrase (two or more English words) on a Chinese page, outside a short allow-list;
- a console error or an uncaught script error;
- a failed subrequest (status >= 400 or the request failed);
- a page answering >= 500, or 404 for a link found on a page.

A deliberately missing URL must give a Chinese 404 page with the site navigation.

Run against a running demo instead of the test server (to look around while fixing):
``python -m tests.e2e.test_crawl http://127.0.0.1:8107`` with ZHIJIAN_DATABASE_URL pointing at its database.
"""
from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pytest

ROLES = ["leader", "officer1", "grid1", "assistant1", "informant1", "dispatcher", "complaints", "legal", "clerk",
         "health", "sysadmin", "secadmin", "auditor"]
MAX_PAGES = 45  # per role; one page per URL pattern keeps a role's walk well below this
PHONE_UA = ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36")

SKIP_PATH = re.compile(
    r"^/(accounts/logout|i18n/setlang|static/|media/|api/v1/schema)"
    r"|/(export|download)(/|$|\.)|\.(pdf|csv|xlsx|zip|json|geojson|png|jpg|svg)$"
    r"|^/api/v1/(?!docs/$)"  # the API itself is JSON; only its docs page is a page
)

# ---- what counts as a finding in visible text -------------------------------------------------------------
SNAKE = re.compile(r"(?<![\w/.@-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/@-])")
DOTTED = re.compile(r"(?<![\w/.@-])\(?[a-z][a-z_]+\.[a-z][a-z_]+\)?(?![\w/@-])")
KEY_VALUE = re.compile(r"(?<![\w/?&])[a-z][a-z_]*=[^\s&]+")
KEY_COLON = re.compile(r"\(\s*[a-z_]{3,}\s*:\s*[^)]*\)")
STATUS_WORDS = {
    "active", "inactive", "open", "opened", "closed", "pending", "draft", "done", "cancelled", "canceled", "accepted",
    "assigned", "executed", "committed", "revoked", "deregistered", "approved", "rejected", "returned", "submitted",
    "signed", "overdue", "created", "suspended", "running", "failed", "finished", "queued", "claimed", "received",
    "verified", "resolved", "review", "reviewing", "archived", "expired", "none", "true", "false", "null", "unknown",
    "low", "medium", "high", "supervisor", "assistant", "informant", "station", "county", "city", "province",
}
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ \t]+[A-Za-z][A-Za-z'’-]*)+")
ALLOWED_WORDS = {
    # product and format names, units, the API
    "zhijian", "echarts", "leaflet", "openstreetmap", "swagger", "openapi", "postgresql", "sqlite", "django", "redis",
    "api", "totp", "pdf", "csv", "xlsx", "excel", "json", "geojson", "gb", "ca", "id", "km", "m", "ms", "kb", "mb",
    "english", "ui", "url", "http", "https", "ok", "gis", "gps", "otp", "app",
}
FILE_EXT = {"pdf", "csv", "xlsx", "md", "html", "json", "png", "svg", "js", "css", "cn", "com", "org", "gov", "txt"}

# Per-page checks done in the browser: raw codes in columns headed 行业/区划, and the visible text.
PAGE_JS = r"""
() => {
  const raw = [];
  const codeLike = /^[A-Z]?\d{2,12}$/;
  for (const table of document.querySelectorAll('table')) {
    const heads = [...table.querySelectorAll('thead th, tr:first-child th')].map(th => th.innerText.trim());
    heads.forEach((h, i) => {
      if (!/行业|区划|所在地|辖区/.test(h) || /代码|编码/.test(h)) return;
      for (const row of table.querySelectorAll('tbody tr')) {
        const cell = row.children[i];
        if (cell && codeLike.test(cell.innerText.trim())) raw.push(h + ' ' + cell.innerText.trim());
      }
    });
  }
  for (const dt of document.querySelectorAll('dt, th[scope=row]')) {
    const dd = dt.nextElementSibling;
    if (dd && /行业|区划|所在地|辖区/.test(dt.innerText) && !/代码|编码/.test(dt.innerText) && codeLike.test(dd.innerText.trim())) raw.push(dt.innerText.trim() + ' ' + dd.innerText.trim());
  }
  return {raw, text: document.body.innerText, lang: document.documentElement.lang,
          links: [...document.querySelectorAll('a[href]')].filter(a => !a.hasAttribute('download')).map(a => a.href)};
}
"""


@dataclass(frozen=True)
class Finding:
    role: str
    url: str
    finding: str

    def __str__(self):
        return f"{self.role:<12} {self.url:<60} {self.finding}"


def text_findings(text: str, ignore: set[str] = frozenset()) -> list[str]:
    """The codes and English phrases in one page's visible text (each token once, with its first line)."""
    out, tokens = [], set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line in ignore:
            continue
        for pattern, label in ((SNAKE, "代码"), (DOTTED, "动作代码"), (KEY_VALUE, "键值片段"), (KEY_COLON, "键值片段")):
            for m in pattern.finditer(line):
                token = m.group(0)
                if label == "动作代码" and token.strip("()").rsplit(".", 1)[-1] in FILE_EXT:
                    continue
                if token not in tokens:
                    tokens.add(token)
                    out.append(f"{label} {token!r} in {line[:80]!r}")
        for m in ENGLISH_RUN.finditer(line):
            words = [w for w in re.split(r"[ \t]+", m.group(0)) if w]
            rest = [w for w in words if w.lower().strip("'’-") not in ALLOWED_WORDS and not (w.isupper() and len(w) <= 5)]
            if len(rest) >= 2 and m.group(0) not in tokens:
                tokens.add(m.group(0))
                out.append(f"英文短语 {m.group(0)!r} in {line[:80]!r}")
        for word in re.findall(r"(?<![\w/.@=-])[A-Za-z]{3,}(?![\w/.@=-])", line):
            if word.lower() in STATUS_WORDS and (word.islower() or word.istitle()) and word not in tokens:
                tokens.add(word)
                out.append(f"英文状态词 {word!r} in {line[:80]!r}")
    return sorted(set(out))


def pattern_of(url: str) -> str:
    """Group URLs: numbers (and number-bearing ids) in the path become {n}; the query's keys, not its values."""
    parts = urlsplit(url)
    path = "/".join("{n}" if re.search(r"\d", seg) else seg for seg in parts.path.split("/"))
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)} - {"page"})
    return path + ("?" + "&".join(keys) if keys else "")


class Crawler:
    def __init__(self, browser, base_url: str):
        self.browser, self.base = browser, base_url.rstrip("/")
        self.findings: list[Finding] = []
        self.pages = 0

    def _context(self, phone: bool):
        from tests.e2e.conftest import DESKTOP, PHONE

        if phone:
            return self.browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                            user_agent=PHONE_UA)
        return self.browser.new_context(viewport=DESKTOP, locale="zh-CN")

    def crawl(self, role: str, secret: str, password: str, *, phone: bool = False, start: str = "/",
              allow=lambda path: not path.startswith("/m/")):
        from tests.e2e.conftest import login

        label = f"{role}(手机)" if phone else role
        ctx = self._context(phone)
        page = ctx.new_page()
        current = {"url": ""}
        inflight = set()

        def note(finding):
            self.findings.append(Finding(label, current["url"], finding))

        def on_console(msg):
            if msg.type == "error" and "Failed to load resource" not in msg.text:
                note(f"控制台错误: {msg.text[:200]}")

        def on_response(resp):
            inflight.discard(resp.request)
            if resp.request.is_navigation_request() and resp.request.frame == page.main_frame:
                return  # the page's own status is judged below
            if resp.status >= 400:
                note(f"子请求失败 {resp.status} {resp.request.method} {resp.url}")

        def on_failed(req):
            inflight.discard(req)
            if req.failure and "ERR_ABORTED" in req.failure and (
                    req.resource_type in ("fetch", "xhr", "document") or req.url.endswith("/favicon.svg")):
                return  # cut short by the next navigation (the icon loads after the page and is dropped with it)
            note(f"子请求失败 {req.failure} {req.method} {req.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda e: note(f"脚本错误: {str(e)[:200]}"))
        page.on("request", lambda r: inflight.add(r))
        page.on("requestfinished", lambda r: inflight.discard(r))
        page.on("response", on_response)
        page.on("requestfailed", on_failed)

        current["url"] = "/accounts/login/"
        login(page, self.base, role, password, secret)
        seen_patterns: set[str] = set()
        queue = deque([(self.base + start, "")])
        visited: set[str] = set()
        pages = 0
        while queue and pages < MAX_PAGES:
            url, referrer = queue.popleft()
            if url in visited:
                continue
            visited.add(url)
            path = urlsplit(url).path
            current["url"] = url[len(self.base):]
            try:
                resp = page.goto(url, wait_until="load", timeout=20_000)
            except Exception as exc:  # a download starts instead of a page
                if "Download is starting" in str(exc) or "net::ERR_ABORTED" in str(exc):
                    continue
                note(f"打开失败: {str(exc).splitlines()[0][:160]}")
                continue
            pages += 1
            deadline = time.monotonic() + 3
            while inflight and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            if resp is None:
                continue
            status = resp.status
            ctype = resp.headers.get("content-type", "")
            if status >= 500:
                note(f"页面错误 {status}")
            elif status == 404:
                note(f"死链 404（链接来自 {referrer or '起始页'}）")
            if "text/html" not in ctype or "attachment" in resp.headers.get("content-disposition", ""):
                continue
            landed = urlsplit(page.url)
            if landed.netloc != urlsplit(self.base).netloc:
                continue
            info = page.evaluate(PAGE_JS)
            if phone and path == "/m/" and page.locator("#q").count():
                # The phone app is one page: its search view is reached by searching, not by a link.
                self._check_text(page, note)
                page.fill("#q", "济南")
                page.locator("#q").press("Enter")
                page.wait_for_timeout(800)
                info = page.evaluate(PAGE_JS)
            if not path.startswith("/api/v1/docs"):  # Swagger UI is a third-party English tool
                for f in text_findings(info["text"]):
                    note(f)
                for raw in info["raw"]:
                    note(f"代码未显示名称: {raw}")
            else:
                continue  # the API docs' links are its JS internals
            for link in info["links"]:
                parts = urlsplit(link)
                if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(self.base).netloc:
                    continue
                target = urlunsplit(parts._replace(fragment=""))
                if SKIP_PATH.search(parts.path) or not allow(parts.path) or target in visited:
                    continue
                key = pattern_of(target)
                if key in seen_patterns:
                    continue
                seen_patterns.add(key)
                queue.append((target, current["url"]))
        self.pages += pages
        ctx.close()
        return pages

    @staticmethod
    def _check_text(page, note):
        for f in text_findings(page.evaluate(PAGE_JS)["text"]):
            note(f)

    def missing_page(self, role: str, secret: str, password: str):
        from tests.e2e.conftest import DESKTOP, login

        ctx = self.browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = ctx.new_page()
        login(page, self.base, role, password, secret)
        url = "/no-such-page-zhijian/"
        resp = page.goto(self.base + url)
        body = page.inner_text("body")
        if resp.status != 404:
            self.findings.append(Finding(role, url, f"缺失页面返回 {resp.status}，应为 404"))
        if not re.search(r"[\u4e00-\u9fff]{4,}", body) or "Not Found" in body:
            self.findings.append(Finding(role, url, f"404 页面不是中文: {body[:80]!r}"))
        if page.locator("nav a[href='/'], a.brand[href='/'], nav a").count() < 2:
            self.findings.append(Finding(role, url, "404 页面没有站点导航"))
        for f in text_findings(body):
            self.findings.append(Finding(role, url, f))
        ctx.close()


def crawl_city(browser, base_url: str, secrets: dict[str, str], password: str) -> tuple[list[Finding], dict]:
    crawler = Crawler(browser, base_url)
    counts = {}
    for role in ROLES:
        counts[role] = crawler.crawl(role, secrets[role], password)
    counts["officer1(手机)"] = crawler.crawl("officer1", secrets["officer1"], password, phone=True, start="/m/",
                                           allow=lambda path: path.startswith("/m/"))
    crawler.missing_page("leader", secrets["leader"], password)
    return crawler.findings, counts


def report(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in sorted(set(findings), key=lambda f: (f.role, f.url, f.finding)))


@pytest.fixture
def demo_city(transactional_db):
    import io

    from django.core.management import call_command

    call_command("demo", "--build-only", "--entities", "300", stdout=io.StringIO())
    return demo_secrets()


def demo_secrets() -> dict[str, str]:
    from zhijian.org.models import User
    from zhijian.security.otp import ensure_device

    return {u.username: ensure_device(u) for u in User.objects.filter(username__in=ROLES)}


def test_every_page_of_the_demo_city_in_chinese_for_every_role(demo_city, live_server, browser):
    from zhijian.demo.builder import PASSWORD

    findings, counts = crawl_city(browser, live_server.url, demo_city, PASSWORD)
    assert not findings, f"{len(set(findings))} findings over {sum(counts.values())} pages {counts}:\n" + report(findings)
    # Every role got past the sign-in and found pages (the phone app is one page).
    assert all(n >= (1 if "手机" in role else 5) for role, n in counts.items()), counts


if __name__ == "__main__":  # crawl a running demo: python -m tests.e2e.test_crawl http://127.0.0.1:8107 [role …]
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijian.settings")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    django.setup()
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM
    from zhijian.demo.builder import PASSWORD

    base = sys.argv[1]
    only = sys.argv[2:]
    secrets = demo_secrets()
    started = time.monotonic()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        if only:
            c = Crawler(b, base)
            counts = {}
            for r in only:
                if r == "phone":
                    counts[r] = c.crawl("officer1", secrets["officer1"], PASSWORD, phone=True, start="/m/",
                                        allow=lambda path: path.startswith("/m/"))
                elif r == "404":
                    c.missing_page("leader", secrets["leader"], PASSWORD)
                else:
                    counts[r] = c.crawl(r, secrets[r], PASSWORD)
            found = c.findings
        else:
            found, counts = crawl_city(b, base, secrets, PASSWORD)
        b.close()
    print(report(found))
    print(f"{len(set(found))} findings; pages {counts}; {time.monotonic() - started:.0f} s")
