"""Pages of the task loop: thin views over queries and services."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zhijian.core.errors import ApplicationError
from zhijian.core.paging import paged
from zhijian.core.scoping import jurisdiction_of
from zhijian.entities.models import MarketEntity
from zhijian.geo.models import Division
from zhijian.org.models import Bureau, User

from . import queries, requirements, tasks, templates_run
from .choices import TaskSource
from .forms import RunForm, TaskCreateForm, TemplateForm
from .models import Task, TaskTemplate
from .procedure import EXECUTORS, TASK, TEMPLATE_RUNNERS, allowed_actions, covers

BOARD_ROLES = ("leader", "dispatcher", "legal_reviewer")
BOARD_CAP = 10_000  # a filtered board counts exactly up to this many tasks, then says "more than"


@login_required
def my_board(request):
    board = queries.my_board(request.user)
    return render(request, "supervision/my_board.html", {**board, "can_see_unit": request.user.has_role(*BOARD_ROLES)})


def _board_choices(user, f: queries.TaskFilter) -> dict:
    """What the board's filter form offers, by name: units, divisions (the chosen one, its parent and
    its children), people, sources, due."""
    bureaus = list(Bureau.objects.scoped(user).order_by("level", "division_code", "name").values_list("id", "name")[:500])
    prefixes = jurisdiction_of(user)
    division = f.division or (prefixes[0] if len(prefixes) == 1 else "")
    here = Division.objects.filter(code=division).first() if division else None
    children = Division.objects.scoped(user).filter(parent_id=division) if division else Division.objects.scoped(user).filter(
        code__in=[p for p in prefixes if p])
    people = User.objects.scoped(user).filter(is_active=True, roles__code__in=EXECUTORS)
    if f.bureau is not None:
        people = people.filter(bureau_id__in=queries.bureaus_under(user, f.bureau))
    return {
        "bureaus": bureaus,
        "division_here": here if f.division else None,
        "division_parent": Division.objects.scoped(user).filter(code=here.parent_id).first() if (here and f.division and here.parent_id) else None,
        "divisions": list(children.order_by("code").values_list("code", "name")[:400]),
        "people": list(people.distinct().order_by("full_name", "username").values_list("id", "full_name", "username")[:300]),
        "sources": TaskSource.choices,
        "dues": [("overdue", _("已逾期")), ("soon", _("%(n)s日内到期") % {"n": queries.SOON_DAYS})],
    }


@login_required
def unit_board(request):
    """The unit's tasks: counts by state, filters (state, due, unit, division, person, source) and a
    paged list with its total; the leader overview's figures link here with the same filters."""
    if not request.user.has_role(*BOARD_ROLES):
        raise PermissionDenied(_("只有领导、调度员和法制审核员可以查看单位任务看板"))
    f = queries.TaskFilter.from_query(request.GET)
    board = queries.unit_board(request.user, f)
    only_state = not any((f.due, f.assignee, f.source, f.created, f.closed))
    exact = None
    if only_state:  # the GROUP BY above already knows the total: no second COUNT
        counts = board["state_counts"]
        exact = board["open_total"] if f.state == "" else board["total"] if f.state == "all" else counts.get(f.state, 0)
    elif board["counts_as_of"] and f.state == "" and not any((f.assignee, f.source, f.created, f.closed)):
        exact = board["overdue"] if f.due == "overdue" else board["soon"]  # the rollup's figure, as of its refresh
    page = paged(request, board["listing"], per_page=50, cap=0 if exact is not None else BOARD_CAP,
                 total=(lambda: exact) if exact is not None else None)
    page.rows = queries.with_clocks(page.rows)
    today = timezone.localdate()
    for t in page.rows:
        t.can_urge = "urge" in allowed_actions(t, request.user)
        t.is_late = t.is_open and (t.overdue or (t.due_on is not None and t.due_on < today))
    return render(request, "supervision/unit_board.html", {
        **board, **_board_choices(request.user, f), "f": f, "page": page, "tasks": page.rows,
        "state": f.state, "only_overdue": f.due == "overdue",
        "state_links": [(value, label, n, urlencode(f.query(state=value))) for value, label, n in board["counts"]],
        "open_link": urlencode(f.query(state="")), "all_link": urlencode(f.query(state="all")),
        "overdue_link": urlencode(f.query(due="overdue", state="")), "query": urlencode(f.query()),
    })


def _dispatch_choices(user, task):
    """Units and people a dispatcher may send the task to (inside their jurisdiction, covering the entity)."""
    bureaus = [b for b in Bureau.objects.scoped(user).order_by("level", "division_code")
               if covers(b.jurisdiction_prefixes(), task.division_code)]
    people = (User.objects.scoped(user).filter(is_active=True, roles__code__in=EXECUTORS)
              .select_related("bureau").distinct().order_by("scope_division", "username")[:300])
    return bureaus, [p for p in people if covers(p.jurisdiction_prefixes(), task.division_code)]


@login_required
def task_detail(request, pk):
    task = Task.objects.select_related("entity", "bureau", "assignee", "template").get_scoped_or_404(request.user, pk=pk)
    actions = allowed_actions(task, request.user)
    ctx = {
        "task": task, "actions": actions, "is_overdue": task.is_overdue() or (task.overdue and task.is_open),
        "workdays_left": task.workdays_left(),
        "steps": TASK.timeline(task), "records": task.records.all(), "urges": task.urges.select_related("by"),
        "missing_submit": requirements.missing(task, requirements.SUBMIT) if "submit" in actions else [],
        "missing_archive": requirements.missing(task, requirements.ARCHIVE) if "archive" in actions else [],
    }
    if "dispatch" in actions:
        ctx["bureaus"], ctx["people"] = _dispatch_choices(request.user, task)
    return render(request, "supervision/task_detail.html", ctx)


def _target(model, user, raw):
    if not raw:
        return None
    if not str(raw).isdigit():
        raise ApplicationError(_("选择无效"))
    obj = model.objects.scoped(user).filter(pk=int(raw)).first()
    if obj is None:
        raise ApplicationError(_("所选对象不存在或不在您的辖区内"))
    return obj


@login_required
@require_POST
def task_action(request, pk, action):
    task = Task.objects.select_related("entity", "bureau", "assignee").get_scoped_or_404(request.user, pk=pk)
    user, post = request.user, request.POST
    done = {
        "dispatch": _("已派发"), "accept": _("已受领"), "start": _("已开始执行"), "submit": _("已提交审核"),
        "review": _("已审核"), "archive": _("已归档"), "cancel": _("已撤销"), "urge": _("已督办"),
    }
    if action not in done:
        raise PermissionDenied
    try:
        if action == "dispatch":
            tasks.task_dispatch(actor=user, task=task, bureau=_target(Bureau, user, post.get("bureau")),
                                   assignee=_target(User, user, post.get("assignee")))
        elif action == "review":
            tasks.task_review(actor=user, task=task, approve=post.get("approve") == "1", comment=post.get("comment", ""))
        elif action == "cancel":
            tasks.task_cancel(actor=user, task=task, reason=post.get("reason", ""))
        elif action == "urge":
            tasks.task_urge(actor=user, task=task, message=post.get("message", ""))
        else:
            getattr(tasks, f"task_{action}")(actor=user, task=task)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("任务 %(number)s %(done)s") % {"number": task.number, "done": done[action]})
    nxt = post.get("next", "")
    if nxt in ("my_board", "unit_board"):
        return redirect(f"supervision:{nxt}")
    return redirect("supervision:task_detail", task.pk)


@login_required
def task_new(request):
    form = TaskCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        entity = MarketEntity.objects.scoped(request.user).filter(credit_code=d["credit_code"].upper()).first()
        if entity is None:
            form.add_error("credit_code", _("该统一社会信用代码的主体不存在或不在您的辖区内"))
        else:
            try:
                task = tasks.task_create(
                    actor=request.user, entity=entity, title=d["title"], source=d["source"], source_ref=d["source_ref"],
                    business_line=d["business_line"], deadline_rule=d["deadline_rule"], due_on=d["due_on"], description=d["description"],
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("已登记任务 %(number)s") % {"number": task.number})
                return redirect(task)
    return render(request, "supervision/task_new.html", {"form": form})


@login_required
def template_list(request):
    can_edit = request.user.has_role(*TEMPLATE_RUNNERS)
    form = TemplateForm(request.POST or None)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            division = request.user.bureau.division_code if request.user.bureau_id else request.user.scope_division
            try:
                tpl = templates_run.template_create(actor=request.user, division_code=division, **form.cleaned_data)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("已创建模板“%(name)s”") % {"name": tpl.name})
                return redirect(tpl)
    templates = queries.templates_for(request.user)
    return render(request, "supervision/template_list.html", {"templates": templates, "form": form, "can_edit": can_edit})


@login_required
def template_detail(request, pk):
    template = TaskTemplate.objects.get_scoped_or_404(request.user, pk=pk)
    can_run = request.user.has_role(*TEMPLATE_RUNNERS)
    bureaus = Bureau.objects.scoped(request.user).order_by("level", "division_code")
    form = RunForm(request.POST or None, bureaus=bureaus, initial={"bureau": request.user.bureau_id})
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            try:
                created = templates_run.template_generate(actor=request.user, template=template, bureau=d["bureau"], limit=d["limit"],
                                                      run_key=d["run_key"] or None)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("本次生成任务 %(n)s 个（已有任务的主体不重复生成）") % {"n": len(created)})
                return redirect(template)
    runs = template.runs.select_related("bureau", "actor")[:50]
    return render(request, "supervision/template_detail.html", {"template": template, "form": form, "runs": runs, "can_run": can_run})
