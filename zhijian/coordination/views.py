"""Pages: the department inbox, push items, clue transfer (C4, over ``zhijian.clues``), rule
administration and replay. Thin views."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zhijian.clues import intake as clue_intake
from zhijian.clues import queries as clue_queries
from zhijian.clues import services as clue_services
from zhijian.clues.choices import ClueAction, ClueSource
from zhijian.clues.workflow import RECORDERS as CLUE_RECORDERS
from zhijian.core.errors import ApplicationError
from zhijian.core.paging import paged
from zhijian.entities.models import MarketEntity
from zhijian.org.models import Department

from . import feedback, queries, replay as replays, rules as rule_admin
from .choices import PushState
from .forms import ClueForm, MatterForm, ReplayScopeForm, RuleForm
from .models import PushReplay, PushRule, SupervisionMatter


def _departments_covering(division_code):
    return [d for d in Department.objects.order_by("division_code", "name")
            if any(division_code.startswith(p) for p in d.jurisdiction_prefixes())]


@login_required
def inbox(request):
    state = request.GET.get("state", "")
    state = state if state in PushState.values else ""
    page = paged(request, queries.inbox(request.user, state=state), per_page=50)
    for item in page.rows:
        item.actions = feedback.allowed_actions(item, request.user)
    return render(request, "coordination/inbox.html", {
        "items": page.rows, "page": page, "state": state, "states": PushState.choices, "department": request.user.department,
    })


@login_required
def item_detail(request, pk):
    item = get_object_or_404(queries.push_items(request.user), pk=pk)
    actions = feedback.allowed_actions(item, request.user)
    return render(request, "coordination/item_detail.html", {
        "item": item, "actions": actions, "steps": item.timeline(),
        "departments": [d for d in _departments_covering(item.division_code) if d.pk != item.department_id] if "reassign" in actions else [],
    })


@login_required
@require_POST
def item_action(request, pk, action):
    item = get_object_or_404(queries.push_items(request.user), pk=pk)
    user, post = request.user, request.POST
    done = {"claim": _("已签收"), "accept": _("已受理"), "return": _("已退回"), "reassign": _("已转办"), "finish": _("已办结")}
    if action not in done:
        raise PermissionDenied
    try:
        if action == "claim":
            feedback.item_claim(actor=user, item=item)
        elif action == "accept":
            feedback.item_accept(actor=user, item=item, comment=post.get("comment", ""))
        elif action == "return":
            feedback.item_return(actor=user, item=item, reason=post.get("reason", ""))
        elif action == "reassign":
            target = Department.objects.filter(pk=post.get("department") or 0).first() if str(post.get("department", "")).isdigit() else None
            feedback.item_reassign(actor=user, item=item, department=target, reason=post.get("reason", ""))
        else:
            feedback.item_finish(actor=user, item=item, result=post.get("result", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(entity)s：%(done)s") % {"entity": item.entity.name, "done": done[action]})
    if post.get("next") == "inbox":
        return redirect("coordination:inbox")
    return redirect("coordination:item_detail", item.pk)


# --- clues (C4) -----------------------------------------------------------------------------------


def _can_record(user) -> bool:
    return user.is_superuser or user.has_role(*CLUE_RECORDERS[ClueSource.VILLAGE])


@login_required
def clue_list(request):
    page = paged(request, clue_queries.clues(request.user), per_page=50)
    return render(request, "coordination/clue_list.html", {"clues": page.rows, "page": page, "can_record": _can_record(request.user)})


@login_required
def clue_new(request):
    if not _can_record(request.user):
        raise PermissionDenied(_("您没有登记线索的权限"))
    form = ClueForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        entity = None
        if d["credit_code"]:
            entity = MarketEntity.objects.scoped(request.user).filter(credit_code=d["credit_code"].upper()).first()
            if entity is None:
                form.add_error("credit_code", _("该统一社会信用代码的主体不存在或不在您的辖区内"))
        if not form.errors:
            try:
                clue = clue_intake.record(source=ClueSource.VILLAGE, actor=request.user, text=d["text"], division_code=d["division_code"],
                                          place=d["place"], entity=entity, lng=d["lng"], lat=d["lat"], via="web",
                                          photos=[request.FILES["photo"]] if request.FILES.get("photo") else [])
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("已登记线索 %(n)s") % {"n": clue.number})
                return redirect("coordination:clue_detail", clue.pk)
    return render(request, "coordination/clue_new.html", {"form": form})


@login_required
def clue_detail(request, pk):
    clue = get_object_or_404(clue_queries.clues(request.user), pk=pk)
    actions = clue_services.allowed_actions(clue, request.user)
    steps = list(clue.steps)
    names = dict(Department.objects.filter(pk__in={s.department_id for s in steps if s.department_id}).values_list("pk", "name"))
    for s in steps:
        s.department_name = names.get(s.department_id, "")
    return render(request, "coordination/clue_detail.html", {
        "clue": clue, "steps": steps, "attachments": clue.attachments.select_related("upload"),
        "can_assign": ClueAction.ASSIGN in actions, "can_report": ClueAction.REPORT in actions,
        "can_dismiss": ClueAction.DISMISS in actions, "verify_clock": clue_queries.verify_clock(clue),
        "departments": _departments_covering(clue.division_code) if ClueAction.ASSIGN in actions else [],
    })


@login_required
@require_POST
def clue_action(request, pk, action):
    clue = get_object_or_404(clue_queries.clues(request.user), pk=pk)
    post = request.POST
    try:
        if action == "assign":
            dept = Department.objects.filter(pk=post.get("department")).first() if str(post.get("department", "")).isdigit() else None
            clue_services.clue_assign(actor=request.user, clue=clue, department=dept, comment=post.get("comment", ""), via="web")
        elif action == "report":
            clue_services.clue_report(actor=request.user, clue=clue, report=post.get("report", ""), via="web")
        elif action == "return":
            clue_services.clue_return(actor=request.user, clue=clue, reason=post.get("reason", ""), via="web")
        elif action == "dismiss":
            clue_services.clue_dismiss(actor=request.user, clue=clue, reason=post.get("reason", ""), via="web")
        else:
            raise PermissionDenied
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("线索 %(n)s 已更新") % {"n": clue.number})
    return redirect("coordination:clue_detail", clue.pk)


# --- rules ---------------------------------------------------------------------------------------


def _need_rule_admin(user):
    if not (user.is_superuser or user.has_role(*rule_admin.RULE_ADMINS)):
        raise PermissionDenied(_("只有领导或系统管理员可以维护推送规则"))


@login_required
def rule_list(request):
    _need_rule_admin(request.user)
    matters = SupervisionMatter.objects.prefetch_related("departments", "rules").order_by("code")
    return render(request, "coordination/rule_list.html", {
        "matters": matters, "replays": PushReplay.objects.select_related("actor")[:10],
    })


@login_required
def matter_edit(request, pk=None):
    _need_rule_admin(request.user)
    matter = get_object_or_404(SupervisionMatter, pk=pk) if pk else None
    initial = {}
    if matter:
        initial = {f: getattr(matter, f) for f in ("code", "name", "principle", "legal_basis", "deadline_rule", "deadline_hours", "active")}
        initial["departments"] = list(matter.departments.all())
    form = MatterForm(request.POST or None, initial=initial, departments=Department.objects.order_by("division_code", "name"))
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        departments = d.pop("departments")
        try:
            rule_admin.matter_save(actor=request.user, matter=matter, departments=departments, **d)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已保存监管事项"))
            return redirect("coordination:rule_list")
    return render(request, "coordination/rule_form.html", {"form": form, "title": _("监管事项"), "obj": matter})


@login_required
def rule_edit(request, pk=None):
    _need_rule_admin(request.user)
    rule = get_object_or_404(PushRule, pk=pk) if pk else None
    initial = {f: getattr(rule, f) for f in ("matter", "name", "industry_prefixes", "keywords", "licence_types", "active")} if rule else {}
    form = RuleForm(request.POST or None, initial=initial, matters=SupervisionMatter.objects.order_by("code"))
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        matter = d.pop("matter")
        try:
            rule_admin.rule_save(actor=request.user, matter=matter, rule=rule, **d)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已保存推送规则（版本递增）"))
            return redirect("coordination:rule_list")
    return render(request, "coordination/rule_form.html", {"form": form, "title": _("推送规则"), "obj": rule})


@login_required
def replay(request):
    if not (request.user.is_superuser or request.user.has_role(*replays.REPLAYERS)):
        raise PermissionDenied(_("只有领导可以回放推送规则"))
    rules = PushRule.objects.select_related("matter").order_by("matter__code", "id")
    result = None
    scope = ReplayScopeForm(request.POST or None, user=request.user)
    if request.method == "POST" and not scope.is_valid():
        messages.error(request, scope.errors["division_prefix"][0])
    elif request.method == "POST":
        chosen = [r for r in rules if str(r.pk) in request.POST.getlist("rules")]
        try:
            result = replays.push_replay(actor=request.user, rules=chosen, dry_run=request.POST.get("run") != "1",
                                          division_prefix=scope.cleaned_data["division_prefix"] or "")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if not result.dry_run:
                messages.success(request, _("已按规则补推 %(n)s 条") % {"n": result.total})
    return render(request, "coordination/replay.html", {"rules": rules, "result": result, "scope": scope,
                                                         "chosen": {int(x) for x in request.POST.getlist("rules") if x.isdigit()}})
