"""Thin views: staff pages (scoped) and the public pages of a draw (no login)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zhijian.core.errors import ApplicationError

from . import algorithm, queries, services
from .choices import DrawAction, DrawState
from .forms import PlanForm, ResultForm
from .models import Draw, DrawItem, DrawPlan
from .procedure import DRAW

PAGE = 50


def _page(request, qs):
    return Paginator(qs, PAGE).get_page(request.GET.get("page"))


@login_required
def plan_list(request):
    return render(request, "draws/plan_list.html", {"plans": _page(request, queries.plans(request.user))})


@login_required
def plan_create(request):
    form = PlanForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(actor=request.user, **form.service_kwargs())
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            return redirect(plan)
    return render(request, "draws/plan_form.html", {"form": form})


@login_required
def plan_detail(request, pk):
    plan = DrawPlan.objects.select_related("bureau").get_scoped_or_404(request.user, pk=pk)
    params = services.plan_params(plan)
    return render(request, "draws/plan_detail.html", {"plan": plan, "params": params, "words": queries.plan_words(params),
                                                      "draws": queries.draws_of(plan), "live": queries.live_draw(plan),
                                                      "lines": queries.line_names(plan.business_lines)})


@login_required
@require_POST
def plan_commit(request, pk):
    plan = DrawPlan.objects.get_scoped_or_404(request.user, pk=pk)
    try:
        draw = services.draw_commit(actor=request.user, plan=plan)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(plan)
    return redirect(draw)


@login_required
def draw_detail(request, pk):
    draw = Draw.objects.select_related("plan", "predecessor", "voided_by").get_scoped_or_404(request.user, pk=pk)
    items = _page(request, queries.items(draw).scoped(request.user))
    queries.with_inspector_names(items)
    return render(request, "draws/draw_detail.html", {
        "draw": draw, "items": items, "result_form": ResultForm(), "today": timezone.localdate(),
        "can_void": DRAW.can(draw, DrawAction.VOID, request.user, reason="-"), "successors": queries.successors(draw),
        "void_max": services.VOID_REASON_MAX,
    })


@login_required
@require_POST
def draw_execute(request, pk):
    draw = Draw.objects.get_scoped_or_404(request.user, pk=pk)
    try:
        services.draw_execute(actor=request.user, draw=draw)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(draw)


@login_required
@require_POST
def draw_void(request, pk):
    draw = Draw.objects.select_related("plan").get_scoped_or_404(request.user, pk=pk)
    try:
        services.draw_void(actor=request.user, draw=draw, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("该抽查批次已作废，作废理由已公示"))
    return redirect(draw)


@login_required
@require_POST
def draw_merge(request, pk):
    draw = Draw.objects.select_related("plan").get_scoped_or_404(request.user, pk=pk)
    try:
        joints = services.joint_merge(actor=request.user, period=draw.plan.period)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已合并为 %(n)d 个联合检查并生成监管任务") % {"n": len(joints)})
    return redirect(draw)


@login_required
@require_POST
def item_result(request, pk):
    item = DrawItem.objects.get_scoped_or_404(request.user, pk=pk)
    form = ResultForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(form.errors.as_text())
        services.draw_record_result(actor=request.user, item=item, result=form.cleaned_data["result"],
                                    note=form.cleaned_data["note"], inspected_on=form.cleaned_data["inspected_on"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(item.draw)


@login_required
@require_POST
def item_publish(request, pk):
    item = DrawItem.objects.get_scoped_or_404(request.user, pk=pk)
    try:
        services.draw_publish_result(actor=request.user, item=item)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(item.draw)


# --- public -------------------------------------------------------------------------------------


def public_draw(request, public_id):
    draw = queries.public_draw(public_id)
    files = [(name, sha) for name, sha in draw.files.items()]
    return render(request, "draws/public_draw.html", {"draw": draw, "files": files, "executed": draw.state == DrawState.EXECUTED,
                                                       "strata": algorithm.STRATA, "public": True,
                                                       "voider": queries.public_voider(draw), "successors": queries.successors(draw),
                                                       "lines": queries.line_names(draw.params.get("business_lines", []))})


def public_file(request, public_id, name):
    draw = queries.public_draw(public_id)
    if name == "draw.json":
        response = HttpResponse(services.canonical(services.public_summary(draw)), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{draw.public_id}-draw.json"'
        return response
    if name not in draw.files:
        raise Http404(name)
    path = services.draw_dir(draw.public_id) / name
    if not path.exists():
        raise Http404(name)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{draw.public_id}-{name}", content_type="text/csv; charset=utf-8")


def public_results(request, public_id):
    draw = queries.public_draw(public_id)
    if draw.state != DrawState.EXECUTED:
        raise Http404(public_id)
    return render(request, "draws/public_results.html", {"draw": draw, "items": _page(request, queries.items(draw)),
                                                         "today": timezone.localdate()})
