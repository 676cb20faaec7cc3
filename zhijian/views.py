"""Project-level pages that belong to no one app: the home page (工作台).

Leaders and dispatchers land on the leader overview (``analytics.overview``: today and this week in
their jurisdiction, every figure a link to its list); everyone else gets their own open work and
the links they use most.
"""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from django.utils import timezone

from zhijian.analytics import overview
from zhijian.deadlines.sweeps import calendar_gaps_message
from zhijian.security import roles as admin_roles
from zhijian.coordination import queries as coordination_queries
from zhijian.grid import queries as grid_queries
from zhijian.grid.choices import OPEN_STATES as OPEN_CASE_STATES
from zhijian.supervision import queries as task_queries

MY_WORK_ROWS = 8


@login_required
def home(request):
    user = request.user
    if user.has_role(*overview.OVERVIEW_ROLES):
        data = overview.overview(user, bureau=request.GET.get("bureau"), division=request.GET.get("division"))
        return render(request, "home.html", {"overview": data, "is_overview": True})
    if user.has_role(*admin_roles.ADMIN_ROLES):
        # The three administrators (三员分立) run the system, not the business: their home is
        # what each of them administers, and what needs them now.
        return render(request, "home.html", {
            "is_overview": False, "is_admin": True, "may_administer": admin_roles.may_administer(user),
            "is_system_admin": user.has_role(admin_roles.SYSTEM_ADMIN),
            "is_security_admin": user.has_role(admin_roles.SECURITY_ADMIN),
            "is_audit_admin": user.has_role(admin_roles.AUDIT_ADMIN),
            "calendar_gaps": calendar_gaps_message(timezone.localdate()),
        })
    ctx = {"is_overview": False, "entity_count": overview.entity_count(user),
           "is_officer": user.has_role("enforcement_officer", "grid_officer", "assistant", "informant")}
    if user.department_id and not user.bureau_id:
        ctx["pushes"] = list(coordination_queries.inbox(user)[:MY_WORK_ROWS])
    else:
        board = task_queries.my_board(user, limit=MY_WORK_ROWS)
        ctx["my_tasks"], ctx["unclaimed"] = board["mine"], board["unclaimed"]
        ctx["my_cases"] = list(grid_queries.cases(user, mine=True).filter(state__in=OPEN_CASE_STATES)[:MY_WORK_ROWS])
        ctx["my_warnings"] = list(grid_queries.my_warnings(user)[:MY_WORK_ROWS])
    return render(request, "home.html", ctx)
