"""Public pages of the trace anchor (no login): /p/trace/ …

Anyone — an auditor, a higher bureau, a journalist — can keep copies of the signed checkpoints and
the public keys, so that a later rewrite of the ledger is caught by copies the bureau does not
hold. Only chain names (division prefix and shard), seqs, hashes and keys are shown: no record
content, no division data beyond the chain names.

- ``/p/trace/`` — the page: the pinned keys and the recent checkpoints;
- ``/p/trace/anchor.jsonl`` — every key line and the last 200 checkpoints in the anchor file's own
  format (``zhijian verify-trace --anchor copy.jsonl`` reads it);
- ``/p/trace/checkpoints.json`` — the same as JSON: ``{"keys": [...], "checkpoints": [...]}``.
"""
import json

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from . import anchor
from .models import TraceAnchorLine

PAGE_SIZE = 50


def _lines():
    return [json.loads(text) for text in anchor.portal_lines()]


@require_GET
def page(request):
    keys = [json.loads(t) for t in TraceAnchorLine.objects.filter(kind=TraceAnchorLine.Kind.KEY).values_list("line", flat=True)]
    rows = []
    for text in TraceAnchorLine.objects.filter(kind=TraceAnchorLine.Kind.CHECKPOINT).order_by("-id").values_list("line", flat=True)[:PAGE_SIZE]:
        cp = json.loads(text)
        rows.append({"n": cp["n"], "at": cp["at"], "reason": anchor.REASON_LABELS.get(cp.get("reason"), cp.get("reason", "")),
                     "kid": cp["kid"], "chains": cp["chains"], "sig": cp["sig"]})
    return render(request, "core/public_trace.html", {"keys": keys, "checkpoints": rows})


@require_GET
def anchor_jsonl(request):
    body = "".join(line + "\n" for line in anchor.portal_lines())
    response = HttpResponse(body, content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="trace-anchor.jsonl"'
    return response


@require_GET
def checkpoints_json(request):
    lines = _lines()
    return JsonResponse({"keys": [x for x in lines if x["type"] == "key"], "checkpoints": [x for x in lines if x["type"] == "checkpoint"]},
                        json_dumps_params={"ensure_ascii": False})


app_name = "trace_public"
urlpatterns = [
    path("", page, name="index"),
    path("anchor.jsonl", anchor_jsonl, name="jsonl"),
    path("checkpoints.json", checkpoints_json, name="json"),
]
