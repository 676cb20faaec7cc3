"""The phone app's page, manifest and service worker (the browser flow is tests/e2e/test_inspection_e2e.py)."""
import json


from tests.factories import make_user
from zhijian.mobile import shell


def test_app_needs_login(client, db):
    response = client.get("/m/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_app_is_for_enforcement_officers_only(client_for, bureau):
    """A dispatcher has no on-site inspections to do: 403."""
    response = client_for(make_user("dispatcher", bureau=bureau)).get("/m/")
    assert response.status_code == 403


def test_app_page_carries_config_strings_and_csrf_cookie(client_for, officer):
    response = client_for(officer).get("/m/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'rel="manifest" href="/m/manifest.webmanifest"' in html
    assert "<script>" not in html, "the CSP forbids inline scripts: data only, as application/json"
    config = json.loads(html.split('id="mobile-config" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert config["user"] == {"id": officer.pk, "name": str(officer), "cert_no": "44190012345"}
    assert config["db"] == f"zhijian-mobile-{officer.pk}"
    assert config["sync"] == "/api/v1/inspections/sync/"
    assert "csrftoken" in response.cookies
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_manifest_is_public_and_installable(client, db):
    response = client.get("/m/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["name"] == "智监执法"
    assert data["start_url"] == data["scope"] == "/m/"
    assert data["display"] == "standalone"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in data["icons"]}
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_service_worker_lists_the_shell_and_is_never_http_cached(client, db):
    response = client.get("/m/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert f'const VERSION = "{shell.version()}";' in body
    assert 'const PAGE = "/m/";' in body
    listed = json.loads(body.split("const SHELL = ", 1)[1].split(";\n", 1)[0])
    assert listed == shell.static_urls() + ["/m/manifest.webmanifest"]
    for url in shell.static_urls():
        assert client.get(url).status_code == 200, url


def test_shell_version_follows_the_files(tmp_path, settings):
    """A changed shell file gives a new version, so phones install the new release."""
    # Through the fixture, not @override_settings: mixing the two restores DEBUG=True for the rest
    # of the worker's tests (the decorator unwinds before the fixture does).
    settings.DEBUG = True
    before = shell.version()
    (tmp_path / "mobile").mkdir()
    for name in shell.SHELL_STATIC:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("changed")
    settings.STATICFILES_DIRS = [tmp_path] + list(settings.STATICFILES_DIRS)
    from django.contrib.staticfiles import finders

    finders.get_finder.cache_clear()
    try:
        assert shell.version() != before
    finally:
        finders.get_finder.cache_clear()
