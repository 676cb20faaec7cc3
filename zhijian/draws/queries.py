"""Reads, always scoped for staff; the public pages read only executed or committed draws by public id."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _, gettext_lazy

from zhijian.core.api import code_names
from zhijian.entities.choices import EntityStatus, EntityType
from zhijian.inspections.models import BusinessLine
from zhijian.org.models import User
from zhijian.security.masking import mask_name

from .choices import DrawState, RecusalKind, RiskClass
from .models import Draw, DrawItem, DrawPlan

# Prefix lengths of the home-division recusal rule, as people say them.
LEVEL_WORDS = {2: gettext_lazy("省"), 4: gettext_lazy("市"), 6: gettext_lazy("区县"), 9: gettext_lazy("乡镇街道"), 12: gettext_lazy("村居")}


def plans(user):
    return DrawPlan.objects.scoped(user).select_related("bureau").order_by("-id")


def draws_of(plan):
    return plan.draws.order_by("-id")


def live_draw(plan) -> Draw | None:
    """The plan's one draw that is not voided (committed or executed), if any."""
    return plan.draws.exclude(state=DrawState.VOIDED).order_by("id").first()


def public_draw(public_id: str) -> Draw:
    return get_object_or_404(Draw.objects.select_related("plan", "plan__bureau", "predecessor", "voided_by", "voided_by__bureau"),
                             public_id=public_id)


def successors(draw) -> list[Draw]:
    """The draws committed after this one was voided (each names it as its predecessor)."""
    return list(Draw.objects.filter(predecessor=draw).order_by("id").only("id", "public_id", "state", "created_at", "plan_id"))


def public_voider(draw) -> str:
    """Who voided a draw, as the public page names them: the unit and the masked name (as the
    published inspector list names inspectors)."""
    user = draw.voided_by
    if user is None:
        return ""
    name = mask_name(user.full_name or user.username)
    return f"{user.bureau.name} {name}" if user.bureau_id else name


def items(draw):
    return DrawItem.objects.filter(draw=draw).select_related("entity").order_by("stratum", "rank")


def with_inspector_names(items) -> None:
    """Set ``inspectors`` ("name (cert no)", …) on each item of a page: staff read names, the
    published files keep certificate numbers only."""
    certs = {c for i in items for c in i.cert_nos}
    names = dict(User.objects.filter(enforcement_cert_no__in=certs).values_list("enforcement_cert_no", "full_name"))
    for i in items:
        i.inspectors = [f"{names[c]}（{c}）" if names.get(c) else c for c in i.cert_nos]


def line_names(codes) -> list[str]:
    """Business-line codes as their names in the checklist (a code the list lacks stays a code)."""
    names = dict(BusinessLine.objects.filter(code__in=list(codes)).values_list("code", "name"))
    return [names.get(c, c) for c in codes]



def plan_words(params: dict) -> dict:
    """A plan's frozen parameters as a person reads them: names, never codes."""
    division = params.get("division_prefix") or ""
    industries = list(params.get("industry_prefixes") or [])
    line_codes = list(params.get("line_industries") or [])
    names = code_names("industry_code", industries + line_codes)

    def label(choices, value):
        try:
            return str(choices(value).label)
        except ValueError:
            return value

    recusal = []
    for r in params.get("recusal") or []:
        text = label(RecusalKind, r["kind"])
        if r["kind"] == RecusalKind.HOME_DIVISION:
            text += _("（%(level)s级）") % {"level": LEVEL_WORDS.get(int(r["level"]), r["level"])}
        recusal.append(text)
    if industries:
        industry_text = "、".join(names.get(c, c) for c in industries)
    elif line_codes:
        industry_text = _("按业务条线：%(names)s") % {"names": "、".join(names.get(c, c) for c in line_codes)}
    else:
        industry_text = _("不限")
    return {
        "division": (code_names("division_code", [division]).get(division) or division) if division else _("不限"),
        "industries": industry_text,
        "statuses": "、".join(label(EntityStatus, s) for s in params.get("statuses") or []) or str(EntityStatus.ACTIVE.label),
        "entity_types": "、".join(label(EntityType, t) for t in params.get("entity_types") or []) or _("不限"),
        "percent": [f"{label(RiskClass, k)} {v}%" for k, v in (params.get("percent") or {}).items()],
        "recusal": recusal,
    }
