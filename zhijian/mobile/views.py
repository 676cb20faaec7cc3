"""The officer's phone app (S3): one page, its web app manifest and its service worker."""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie

from zhijian.org.choices import RoleCode

from . import shell, strings, work


def _officer(request):
    if not request.user.has_role(RoleCode.ENFORCEMENT_OFFICER):
        raise PermissionDenied(_("只有执法人员可以使用移动执法"))


@login_required
@ensure_csrf_cookie
def app(request):
    """The whole app: “my work”, then the four steps drawn by mobile/app.js from what IndexedDB holds."""
    _officer(request)
    user = request.user
    config = {
        "user": {"id": user.pk, "name": str(user), "cert_no": user.enforcement_cert_no},
        "db": f"zhijian-mobile-{user.pk}",
        "scope": reverse("mobile:app"),
        "sw": reverse("mobile:sw"),
        "login": f"{reverse('login')}?next={reverse('mobile:app')}",
        "entities": "/api/v1/entities/",
        "work": reverse("mobile:work"),
        "prepare": "/api/v1/inspections/prepare/",
        "sync": "/api/v1/inspections/sync/",
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "lines": strings.business_lines(),
        "max_photo_px": 1600,
        # JSON and base64 make the body about 4/3 of the files; the server refuses larger requests.
        "max_record_bytes": settings.MAX_REQUEST_BYTES,
    }
    return render(request, "mobile/app.html", {"config": config, "strings": strings.js_strings()})


@login_required
def my_work(request):
    """“My work” as JSON (``?lng=&lat=``: nearest first); the page keeps the last answer for offline."""
    _officer(request)
    data = work.my_work(request.user, at=work.position(request.GET), lines=strings.business_lines())
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


def manifest(request):
    """Public: browsers fetch the manifest without cookies."""
    data = {
        "name": _("智监执法"),
        "short_name": _("智监执法"),
        "description": _("四步法现场检查：选主体、查事项、显结果、定意见"),
        "lang": "zh-CN",
        "start_url": reverse("mobile:app"),
        "scope": reverse("mobile:app"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f6f9",
        "theme_color": "#0b3d75",
        "icons": [
            {"src": static("mobile/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("mobile/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("mobile/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


def service_worker(request):
    """Served from /m/ so that its scope is /m/; public, it holds no data. Never cached by HTTP, so a
    new release is picked up at the next visit."""
    page = reverse("mobile:app")
    shell_urls = shell.static_urls() + [reverse("mobile:manifest")]
    body = render(request, "mobile/sw.js", {
        "version": json.dumps(shell.version()),
        "shell": json.dumps(shell_urls),
        "page": json.dumps(page),
    }).content
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
