"""Every write of the double-random workflow: plan, commit, execute, merge, results, publication."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import mmap
import os
import re
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, trace
from zhijian.core.errors import ApplicationError
from zhijian.core.scoping import in_jurisdiction
from zhijian.core.transactions import no_flush_wait
from zhijian.deadlines import clocks
from zhijian.entities.importer import insert_rows
from zhijian.entities.models import MarketEntity
from zhijian.inspections import lines as line_industries
from zhijian.org.choices import RoleCode
from zhijian.org.models import User
from zhijian.security.masking import mask_name
from zhijian.supervision.tasks import task_create

from . import algorithm, pgpool, queries, sources
from .choices import DEFAULT_RATIOS, DrawAction, DrawState, InspectionResult, RecusalKind
from .models import DeclaredRelation, Draw, DrawItem, DrawPlan, EntityRiskClass, JointInspection, RecusalRule, RiskClassRatio
from .procedure import DRAW, DRAW_ROLES
# The result-publicity clock of a drawn item (deadlines.clocks), started on the inspection's day.
PUBLICITY_CLOCK = "draws.drawitem"
BATCH = 50_000
PARALLEL_MIN = 1_000_000  # registries this large are read by one connection per core


def draw_dir(public_id: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "draws" / public_id


def _check(actor, division_code: str) -> None:
    if actor is None:
        return
    if not actor.has_role(*DRAW_ROLES):
        raise ApplicationError(_("您没有组织双随机抽查的权限"), code="forbidden")
    if not in_jurisdiction(actor, division_code):
        raise ApplicationError(_("不存在或不在您的辖区内"), code="not_found")


class DrawExists(ApplicationError):
    """The plan already has a live draw: a plan is drawn once (void it, with a reason, to draw again)."""

    status = 409

    def __init__(self, live: Draw):
        super().__init__(
            _("该抽查计划已有抽查批次 %(id)s（%(state)s），不能再次锁定名录或抽取。如确需重新抽取，须由领导填写理由作废该批次")
            % {"id": live.public_id, "state": live.get_state_display()},
            code="draw_exists", extra={"draw": live.pk, "public_id": live.public_id, "state": live.state})


def _percent(value) -> Decimal:
    try:
        p = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ApplicationError(_("抽查比例必须是数字"), code="invalid_ratio") from exc
    if not Decimal(0) <= p <= Decimal(100):
        raise ApplicationError(_("抽查比例必须在 0 到 100 之间"), code="invalid_ratio")
    return p


# --- plans ------------------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, actor, bureau, name: str, period: str, division_code: str, business_lines=(), check_items=(),
                industry_prefixes=(), entity_types=(), statuses=("active",), ratios=None, inspector_units=(),
                inspectors_per_entity: int = 2, departments=(), recusal=None,
                publicity_rule: str = "inspection.result_publicity") -> DrawPlan:
    """Create a plan. ``ratios`` maps risk class to percent; ``recusal`` maps rule kind to level (or None)."""
    _check(actor, division_code)
    if not division_code.isdigit() or not any(division_code.startswith(p) for p in bureau.jurisdiction_prefixes()):
        raise ApplicationError(_("抽查范围必须在组织机构的辖区内"), code="out_of_scope")
    if inspectors_per_entity < 2:
        raise ApplicationError(_("每户检查人员不得少于 2 人"), code="too_few_inspectors")
    plan = DrawPlan.objects.create(
        name=name, bureau=bureau, period=period, division_code=division_code, business_lines=list(business_lines),
        check_items=list(check_items), industry_prefixes=list(industry_prefixes), entity_types=list(entity_types),
        statuses=list(statuses) or ["active"], inspectors_per_entity=inspectors_per_entity, publicity_rule=publicity_rule,
        created_by=actor,
    )
    plan.inspector_units.set(list(inspector_units) or [bureau])
    plan.departments.set(list(departments))
    for cls, value in (DEFAULT_RATIOS if ratios is None else ratios).items():
        RiskClassRatio.objects.create(plan=plan, risk_class=cls, percent=_percent(value))
    rules = {k: (9 if k == RecusalKind.HOME_DIVISION else 0) for k in RecusalKind.values} if recusal is None else recusal
    for kind, level in rules.items():
        RecusalRule.objects.create(plan=plan, kind=kind, level=level or 9)
    trace.record(actor=actor, action="draw.plan_created", obj=plan, after=plan_params(plan))
    events.emit("draw.plan_created", payload={"plan": plan.pk, "name": plan.name}, division_code=plan.division_code,
                object_type="draws.drawplan", object_id=plan.pk)
    return plan


def plan_params(plan: DrawPlan) -> dict:
    """The plan as a draw freezes it (and the plan page shows it)."""
    return {
        "plan": plan.pk, "name": plan.name, "period": plan.period, "bureau": plan.bureau.name,
        "departments": [d.name for d in plan.departments.all()], "business_lines": plan.business_lines,
        "check_items": plan.check_items, "division_prefix": plan.division_code, "industry_prefixes": plan.industry_prefixes,
        "line_industries": [] if plan.industry_prefixes else pool_industries(plan),
        "entity_types": plan.entity_types, "statuses": plan.statuses,
        "percent": {r.risk_class: str(r.percent) for r in plan.ratios.all()},
        "per_entity": plan.inspectors_per_entity,
        "recusal": [{"kind": r.kind, "level": r.level} for r in plan.recusal_rules.order_by("kind")],
        "inspector_units": sorted(b.name for b in plan.inspector_units.all()),
        "publicity_rule": plan.publicity_rule,
    }


# --- commit -------------------------------------------------------------------------------------


def pool_industries(plan: DrawPlan) -> list[str]:
    """The industries the pool is restricted to: the plan's own prefixes, else those of its business
    lines (a draw of 食品销售 picks food shops only); empty: every industry (no line, or a line
    without industries)."""
    return list(plan.industry_prefixes) or (line_industries.industries_of(plan.business_lines) or [])


def pool_queryset(plan: DrawPlan):
    qs = MarketEntity.objects.filter(division_code__startswith=plan.division_code, status__in=plan.statuses or ["active"])
    if plan.entity_types:
        qs = qs.filter(entity_type__in=plan.entity_types)
    industries = pool_industries(plan)
    if industries:
        q = Q()
        for p in industries:
            q |= Q(industry_code__startswith=p)
        qs = qs.filter(q)
    return qs


def _pool_sql(plan: DrawPlan, pages: tuple[int, int | None] | None = None, risk: bool = True) -> tuple[str, list]:
    """SQL of the pool rows ``(risk_class, credit_code, division_code, id)``: an entity without a
    credit-risk class row is class B (one outer join, no per-row lookup); without ``risk`` only
    the last three. ``pages`` (PostgreSQL) keeps the rows stored on heap pages lo ≤ page < hi (hi
    None: to the end)."""
    qs = pool_queryset(plan)
    if pages is not None:
        table = MarketEntity._meta.db_table
        lo, hi = pages
        where = [f"{table}.ctid >= '({int(lo)},0)'::tid"] + ([f"{table}.ctid < '({int(hi)},0)'::tid"] if hi is not None else [])
        qs = qs.extra(where=where)
    if risk:
        qs = qs.annotate(risk=Coalesce(F("credit_risk__risk_class"), Value("B"), output_field=CharField()))
    qs = qs.order_by().values_list(*(["risk"] if risk else []), "credit_code", "division_code", "id")
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def _pool_blocks(plan: DrawPlan):
    """Yield the pool in blocks ``(rows, lines, ids, classes)`` as :func:`.pgpool.split_part` takes
    them (SQLite; see :mod:`.pgpool` for PostgreSQL): per range of ids, SQLite's ``group_concat``
    joins the lines ``credit_code,division_code`` by newlines, the ids by commas and the class
    letters, all three in the order of one scan; Python only converts the ids."""
    inner, params = _pool_sql(plan)
    table = MarketEntity._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"SELECT min(id), max(id) FROM {table}")
        lo, hi = cur.fetchone()
        if lo is None:
            return
        for start in range(lo, hi + 1, BATCH * 4):
            cur.execute(f"SELECT count(*), group_concat(p.credit_code || ',' || p.division_code, char(10)), group_concat(p.id), "
                        f"group_concat(p.risk, '') FROM ({inner}) p WHERE p.id >= %s AND p.id < %s", [*params, start, start + BATCH * 4])
            n, lines, ids, risks = cur.fetchone()
            if n:
                yield (n, lines.encode("utf-8"), np.array(ids.split(","), dtype=np.int64).astype(">i8").tobytes(),
                       risks.encode("utf-8"))


def _pool_error(exc: pgpool.BadPool) -> ApplicationError:
    if exc.code == "bad_risk_class":
        return ApplicationError(_("未知的信用风险分类：%(cls)s") % {"cls": exc.value}, code="bad_risk_class")
    return ApplicationError(_("信用代码或区划代码含有非法字符：%(code)s") % {"code": exc.value}, code="bad_code")


def _write_pool_pg(plan: DrawPlan, writer: pgpool.PoolWriter, rows_hint: int) -> None:
    """The pool in order read, in one pass (see :mod:`.pgpool`); a registry of ``PARALLEL_MIN`` rows
    and more is read on one connection per core (at most 4), each taking ranges of heap pages in
    turn (three a connection, more for a registry beyond ``PART_PAGES`` a range), all in the
    snapshot this transaction exports."""
    classes = EntityRiskClass._meta.db_table
    if rows_hint < PARALLEL_MIN:
        connection.ensure_connection()
        writer.add(pgpool.run_part(connection.connection, *pgpool.part_sql(*_pool_sql(plan, risk=False), classes)))
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        # Pages now, after the snapshot: a row the snapshot sees lies on one of them (the last part is open-ended anyway).
        cur.execute("SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", [MarketEntity._meta.db_table])
        pages = cur.fetchone()[0]
    if not re.fullmatch(r"[0-9A-F-]+", snapshot):
        raise ApplicationError(_("数据库快照无效"), code="bad_snapshot")
    workers = max(1, min(os.cpu_count() or 1, 4))
    # Three ranges a connection: one that happens to run slower is not waited for alone (measured:
    # 6.2 s with one range a core, 5.1 s with three, at 7.3 M rows on 2 cores).
    parts = max(3 * workers, -(-pages // pgpool.PART_PAGES))
    step = -(-pages // parts)
    jobs = [pgpool.part_sql(*_pool_sql(plan, (i * step, (i + 1) * step if i < parts - 1 else None), risk=False))
            for i in range(parts)]
    pgpool.run_parts(lambda: connection.get_new_connection(connection.get_connection_params()), snapshot, jobs, classes, writer,
                     workers)


def _write_pool(plan: DrawPlan, folder: Path):
    """Write the pool into one file per stratum (and the entity ids in the same order into a
    private ``ids-S.bin``); return counts, SHA-256 per pool file and per ids file."""
    try:
        with pgpool.PoolWriter(str(folder)) as writer:
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [MarketEntity._meta.db_table])
                    rows_hint = max(0, (cur.fetchone() or [0])[0] or 0)
                _write_pool_pg(plan, writer, rows_hint)
            else:
                for block in _pool_blocks(plan):
                    writer.add(pgpool.split_part(*block))
    except pgpool.BadPool as exc:
        raise _pool_error(exc) from exc
    return writer.result()


def _inspectors(plan: DrawPlan) -> list[dict]:
    people = (User.objects.filter(bureau__in=plan.inspector_units.all(), roles__code=RoleCode.ENFORCEMENT_OFFICER, is_active=True)
              .exclude(enforcement_cert_no="").select_related("bureau", "department").prefetch_related("roles").distinct())
    rows, seen = [], {}
    for u in people:
        cert = u.enforcement_cert_no.strip()
        if any(c in cert for c in ",;\n\r"):
            raise ApplicationError(_("执法证号含有非法字符：%(cert)s") % {"cert": cert}, code="bad_cert")
        if cert in seen:
            raise ApplicationError(_("执法证号重复：%(cert)s") % {"cert": cert}, code="duplicate_cert")
        prefixes = sorted(set(u.jurisdiction_prefixes()))
        if not prefixes:
            continue
        seen[cert] = u.pk
        rows.append({"cert": cert, "prefixes": prefixes, "name": mask_name(u.full_name or u.username), "id": u.pk,
                     "home": u.home_division, "unit": u.bureau.name if u.bureau_id else ""})
    rows.sort(key=lambda r: r["cert"].encode())
    return rows


def _recusal_inputs(plan: DrawPlan, inspectors: list[dict]) -> dict:
    rules = [{"kind": r.kind, "level": r.level} for r in plan.recusal_rules.order_by("kind")]
    kinds = {r["kind"] for r in rules}
    cert_of = {r["id"]: r["cert"] for r in inspectors}
    inputs = {"rules": rules, "ids": {r["cert"]: r["id"] for r in inspectors}, "home": {}, "relations": [], "last": {}}
    if RecusalKind.HOME_DIVISION in kinds:
        inputs["home"] = {r["cert"]: r["home"] for r in inspectors if r["home"]}
    if RecusalKind.DECLARED_RELATION in kinds:
        rel = DeclaredRelation.objects.filter(inspector_id__in=list(cert_of)).values_list("inspector_id", "credit_code")
        inputs["relations"] = sorted([cert_of[i], code] for i, code in rel)
    if RecusalKind.LAST_INSPECTOR in kinds:
        for code, ids in sources.last_inspectors().items():
            certs = sorted(cert_of[i] for i in ids if i in cert_of)
            if certs:
                inputs["last"][code] = certs
    return inputs


def _no_flush_wait() -> None:
    """Commit an execution without waiting for the WAL flush: if a crash in the next instant loses
    it, the draw is still committed and executing it again recomputes the same selection from the
    same seed, so the wait buys nothing but seconds on a large draw. (Not for the commit itself: a
    published seed commitment must never vanish.)"""
    no_flush_wait()


def canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@transaction.atomic
def draw_commit(*, actor, plan: DrawPlan) -> Draw:
    """Freeze the entity and inspector pools, then generate and hide the seed and publish its SHA-256.

    A plan has one live draw: the plan's row is locked first, so of two commits at once the second
    waits and is then refused (``DrawExists``, 409, naming the live draw); the partial unique index
    ``draw_one_live_per_plan`` holds it at the database as well."""
    _check(actor, plan.division_code)
    plan = DrawPlan.objects.select_for_update(of=("self",)).select_related("bureau").get(pk=plan.pk)
    live = queries.live_draw(plan)
    if live is not None:
        raise DrawExists(live)
    if plan.inspectors_per_entity < 2:
        raise ApplicationError(_("每户检查人员不得少于 2 人"), code="too_few_inspectors")
    params = plan_params(plan)
    if not params["percent"]:
        raise ApplicationError(_("请先设置各风险分类的抽查比例"), code="no_ratios")
    public_id = secrets.token_hex(16)
    folder = draw_dir(public_id)
    folder.mkdir(parents=True, exist_ok=False)
    try:
        return _commit(actor, plan, params, public_id, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a refused commit leaves no files behind
        raise


def _commit(actor, plan: DrawPlan, params: dict, public_id: str, folder: Path) -> Draw:
    """:func:`draw_commit` once its folder exists."""
    counts, files, ids = _write_pool(plan, folder)
    inspectors = _inspectors(plan)
    if len(inspectors) < plan.inspectors_per_entity:
        raise ApplicationError(_("检查人员名录不足 %(n)d 人") % {"n": plan.inspectors_per_entity}, code="pool_too_small")
    data = "".join(f"{r['cert']},{';'.join(r['prefixes'])},{r['name']}\n" for r in inspectors).encode("utf-8")
    (folder / "inspectors.csv").write_bytes(data)
    files["inspectors.csv"] = hashlib.sha256(data).hexdigest()
    recusal = _recusal_inputs(plan, inspectors)
    params["counts"] = counts
    params["quota"] = {s: algorithm.quota(params["percent"].get(s, "0"), n) for s, n in counts.items()}
    params["inspector_count"] = len(inspectors)
    params["algorithm"] = algorithm.ALGORITHM
    params["ids"] = ids  # SHA-256 of the private ids-S.bin (entity ids in pool-line order; not published)
    # The seed is drawn only now, when every file it will select from is written and hashed: no
    # order or content of a pool could have been chosen knowing it.
    seed = secrets.token_bytes(32)
    predecessor = Draw.objects.filter(plan=plan, state=DrawState.VOIDED).order_by("-id").first()
    try:
        with transaction.atomic():
            draw = Draw.objects.create(
                plan=plan, public_id=public_id, seed_hex=seed.hex(), seed_sha256=algorithm.commitment(seed), params=params,
                files=files, recusal_inputs=recusal, recusal_sha256=hashlib.sha256(canonical(recusal)).hexdigest(),
                pool_size=sum(counts.values()), committed_by=actor, predecessor=predecessor,
            )
    except IntegrityError:
        live = queries.live_draw(plan)  # a commit that did not take the plan's lock (the index refused it)
        if live is None:
            raise
        raise DrawExists(live) from None
    public = {"public_id": public_id, "seed_sha256": draw.seed_sha256, "files": files, "recusal_sha256": draw.recusal_sha256,
              "pool_size": draw.pool_size, "quota": params["quota"],
              "predecessor": predecessor.public_id if predecessor else None}
    trace.record(actor=actor, action="draw.committed", obj=draw, after=public, division_code=plan.division_code)
    events.emit("draw.committed", payload={"draw": draw.pk, **public}, division_code=plan.division_code,
                object_type="draws.draw", object_id=draw.pk)
    return draw


# --- execute ------------------------------------------------------------------------------------


def public_summary(draw: Draw) -> dict:
    """What ``draw.json`` publishes: everything a verifier needs besides the files themselves."""
    p = draw.params
    return {"public_id": draw.public_id, "algorithm": p.get("algorithm", ""), "seed_sha256": draw.seed_sha256,
            "seed": draw.revealed_seed, "percent": p["percent"], "counts": p["counts"], "quota": p["quota"],
            "per_entity": p["per_entity"], "files": draw.files, "recusal_sha256": draw.recusal_sha256, "state": draw.state,
            "predecessor": draw.predecessor.public_id if draw.predecessor_id else None,
            "void": {"at": draw.voided_at.isoformat(), "reason": draw.void_reason} if draw.state == DrawState.VOIDED else None}


def _changed(name: str) -> ApplicationError:
    return ApplicationError(_("名录文件 %(name)s 已被改动") % {"name": name}, code="file_changed")


def _select(draw: Draw, seed: bytes, s: str, folder: Path, hasher, with_ids: bool) -> tuple[list[tuple], object]:
    """The drawn lines of stratum ``s`` in rank order, [(credit_code, division_code[, entity id])],
    and a check (to call before anything is kept) that the pool file is the one committed.

    The file is hashed in the ``hasher`` thread (hashlib releases the GIL) while the lines are
    picked; with ``with_ids`` the entity ids come from the private ``ids-S.bin`` written with it.
    """
    name = f"entities-{s}.csv"
    with open(folder / name, "rb") as fh:
        # Mapped and read ahead by the kernel in one go (no copy, no fault per page).
        data = mmap.mmap(fh.fileno(), 0, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0), prot=mmap.PROT_READ) \
            if os.fstat(fh.fileno()).st_size else b""
    digest = hasher.submit(lambda: hashlib.sha256(data).hexdigest())
    n, k = draw.params["counts"][s], draw.params["quota"][s]

    def check():
        if digest.result() != draw.files[name]:
            raise _changed(name)
    ends = algorithm.line_ends(data)
    if len(ends) != n or (n and ends[-1] != len(data) - 1):
        check()
        raise _changed(name)
    picks = algorithm.positions(seed, s, n, k)
    lines = algorithm.pick_lines(data, picks, ends)
    if lines is None:
        check()
        raise _changed(name)
    if not with_ids:
        return lines, check
    ids_name = f"ids-{s}.bin"
    raw = (folder / ids_name).read_bytes()
    if len(raw) != 8 * n or hashlib.sha256(raw).hexdigest() != draw.params.get("ids", {}).get(s):
        raise _changed(ids_name)
    ids = np.frombuffer(raw, dtype=">i8")[np.asarray(picks, dtype=np.int64)].tolist() if picks else []
    return [(code, division, pk) for (code, division), pk in zip(lines, ids)], check


def _prepare(draw: Draw, hasher, with_ids: bool):
    """Everything an assignment needs, from the seed and the frozen files: (seed, strata, checks,
    coverage, exclusions). ``checks`` must all pass before anything computed is kept."""
    seed = bytes.fromhex(draw.seed_hex)
    if algorithm.commitment(seed) != draw.seed_sha256:
        raise ApplicationError(_("随机种子与承诺值不符"), code="seed_mismatch")
    if draw.params.get("algorithm") != algorithm.ALGORITHM:
        raise ApplicationError(_("该批次使用的抽取算法版本（%(v)s）已不再支持") % {"v": draw.params.get("algorithm") or "1"},
                               code="old_algorithm")
    folder = draw_dir(draw.public_id)
    strata, checks = {}, []
    for s in algorithm.STRATA:
        strata[s], check = _select(draw, seed, s, folder, hasher, with_ids)
        checks.append(check)
    data = (folder / "inspectors.csv").read_bytes()
    if hashlib.sha256(data).hexdigest() != draw.files["inspectors.csv"]:
        raise _changed("inspectors.csv")
    if hashlib.sha256(canonical(draw.recusal_inputs)).hexdigest() != draw.recusal_sha256:
        raise ApplicationError(_("回避数据已被改动"), code="recusal_changed")
    inspectors = algorithm.parse_inspectors(data)
    selected = [row[:2] for s in algorithm.STRATA for row in strata[s]]
    cover = algorithm.Coverage(inspectors)
    excluded = algorithm.exclusions(selected, inspectors, draw.recusal_inputs, cover)
    return seed, strata, checks, cover, excluded


def _too_small(exc: algorithm.PoolTooSmall) -> ApplicationError:
    return ApplicationError(
        _("主体 %(code)s 回避后仅有 %(n)d 名符合条件的检查人员，需要 %(k)d 名：请扩大检查人员名录")
        % {"code": exc.credit_code, "n": exc.eligible, "k": exc.needed},
        code="pool_too_small", extra={"credit_code": exc.credit_code, "eligible": exc.eligible},
    )


def _run_checks(checks) -> None:
    for check in checks:
        check()


def compute(draw: Draw):
    """Recompute a draw from its seed and frozen files: (strata, chosen, excluded). Checks file hashes."""
    with ThreadPoolExecutor(max_workers=1) as hasher:  # pool files are hashed beside the work (hashlib releases the GIL)
        seed, strata, checks, cover, excluded = _prepare(draw, hasher, with_ids=False)
        selected = [row for s in algorithm.STRATA for row in strata[s]]
        try:
            chosen = algorithm.assign(seed, selected, None, excluded, draw.params["per_entity"], cover)
        except algorithm.PoolTooSmall as exc:
            _run_checks(checks)
            raise _too_small(exc) from exc
        _run_checks(checks)
    return strata, chosen, excluded


ITEM_COLUMNS = ("draw_id", "entity_id", "credit_code", "division_code", "stratum", "rank", "cert_nos", "inspector_ids",
                "excluded", "result", "result_note")


def _store_items(draw: Draw, assigned, certs: list[str], excluded: dict, ids: dict, plain: bool) -> dict[str, str]:
    """Store the items as ``assigned`` yields them (``((code, division, stratum, rank, entity id),
    picked)`` in credit-code order: :func:`.algorithm.assign_iter`) and return the inspectors per
    credit code joined by ``;``.

    PostgreSQL: one COPY stream; each batch of entities is assigned, then formatted column by
    column (no Python work per line) and sent, and the database stores it while the next batch
    is assigned. Elsewhere batches of prepared inserts. The JSON lists are written as
    ``json.dumps`` writes them, each distinct list formatted once. ``plain``: no code or division
    holds a backslash (COPY's escape character).
    """
    pg = connection.vendor == "postgresql"
    # COPY's text format: tab-separated, \N for NULL, backslashes doubled. Codes are printable
    # ASCII without commas, and JSON escapes every control character, so a backslash is all there is.
    esc = (lambda v: v.replace("\\", "\\\\") if "\\" in v else v) if pg else (lambda v: v)
    picks: dict[tuple, tuple[str, str, str]] = {}  # picked -> (certs JSON, ids JSON, certs joined by ;)
    recused: dict[int, str] = {}  # id of an exclusion list (entities of a division share theirs) -> JSON
    joined: dict[str, str] = {}

    def of_pick(picked: tuple) -> tuple[str, str, str]:
        got = picks.get(picked)
        if got is None:
            names = [certs[p] for p in picked]
            got = picks[picked] = (esc(json.dumps(names)) if names else "[]", "[" + ", ".join(str(ids[c]) for c in names) + "]",
                                   ";".join(names))
        return got

    def recused_json(code: str) -> str:
        skip = excluded.get(code) or ()
        got = recused.get(id(skip))
        if got is None:
            got = recused[id(skip)] = esc(json.dumps(list(skip))) if skip else "[]"
        return got

    table = DrawItem._meta.db_table
    pk, step, null = str(draw.pk), BATCH // 5, "\\N"
    assigned = iter(assigned)
    with contextlib.ExitStack() as stack:
        if pg:
            cur = stack.enter_context(connection.cursor())
            copy = stack.enter_context(cur.cursor.copy(f"COPY {table} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"))
        while batch := list(itertools.islice(assigned, step)):
            rows = [row for row, _p in batch]
            codes = [row[0] for row in rows]
            formatted = [of_pick(picked) for _r, picked in batch]
            joined.update(zip(codes, [f[2] for f in formatted]))
            recused_lists = [recused_json(code) for code in codes]
            if not pg:
                insert_rows(table, [(draw.pk, r[4], r[0], r[1], r[2], r[3], f[0], f[1], x, "", "")
                                    for r, f, x in zip(rows, formatted, recused_lists)], ITEM_COLUMNS)
                continue
            entity_ids = [null if r[4] is None else str(r[4]) for r in rows]
            code_col, division_col = (codes, [r[1] for r in rows]) if plain else ([esc(c) for c in codes], [esc(r[1]) for r in rows])
            columns = (itertools.repeat(pk), entity_ids, code_col, division_col, [r[2] for r in rows], [str(r[3]) for r in rows],
                       [f[0] for f in formatted], [f[1] for f in formatted], recused_lists, itertools.repeat(""), itertools.repeat(""))
            copy.write(("\n".join(map("\t".join, zip(*columns))) + "\n").encode("utf-8"))
    return joined


@transaction.atomic
def draw_execute(*, actor, draw: Draw) -> Draw:
    """Reveal the seed and compute the selection with the public algorithm; store items and result.csv."""
    draw = Draw.objects.select_for_update(of=("self",)).select_related("plan").get(pk=draw.pk)
    _check(actor, draw.plan.division_code)
    DRAW.check(draw, DrawAction.EXECUTE, actor)  # executed or voided: 409, never a second selection
    _no_flush_wait()
    with ThreadPoolExecutor(max_workers=1) as hasher:
        seed, strata, checks, cover, excluded = _prepare(draw, hasher, with_ids=True)
        rows = [(code, division, s, rank, pk) for s in algorithm.STRATA for rank, (code, division, pk) in enumerate(strata[s], 1)]
        plain = "\\" not in "".join([code + division for code, division, *_rest in rows])
        try:
            # Items in credit-code order (the (draw, credit_code) index grows at its end), stored as they are assigned.
            chosen = _store_items(draw, algorithm.assign_iter(seed, rows, cover, excluded, draw.params["per_entity"]), cover.certs,
                                  excluded, draw.recusal_inputs["ids"], plain)
        except algorithm.PoolTooSmall as exc:
            _run_checks(checks)
            raise _too_small(exc) from exc
        _run_checks(checks)  # a changed file rolls the stored items back with everything else
    data = algorithm.result_text(strata, chosen, excluded)
    (draw_dir(draw.public_id) / "result.csv").write_bytes(data)
    draw.files = {**draw.files, "result.csv": hashlib.sha256(data).hexdigest()}
    draw.state = DrawState.EXECUTED
    draw.executed_by = actor
    draw.executed_at = timezone.now()
    draw.selected_count = len(rows)
    draw.version += 1
    draw.save(update_fields=["files", "state", "executed_by", "executed_at", "selected_count", "version", "updated_at"])
    public = {"public_id": draw.public_id, "seed": draw.seed_hex, "result_sha256": draw.files["result.csv"],
              "selected": draw.selected_count}
    trace.record(actor=actor, action="draw.executed", obj=draw, after=public, division_code=draw.plan.division_code)
    events.emit("draw.executed", payload={"draw": draw.pk, **public}, division_code=draw.plan.division_code,
                object_type="draws.draw", object_id=draw.pk)
    return draw


VOID_REASON_MAX = 500


@transaction.atomic
def draw_void(*, actor, draw: Draw, reason: str) -> Draw:
    """Void a committed or executed draw: only the approving role (领导), always with a reason.

    One move of the draw's procedure (``procedure.DRAW``): the step, the trace entry ``draw.void``
    (who, the reason) and the event ``draw.voided``. The void is shown on the public and the
    internal draw page; the plan may then be committed again, and the new draw names this one.
    Refused when the draw's items went on to joint inspections or results."""
    reason = " ".join(str(reason or "").split())
    if len(reason) > VOID_REASON_MAX:
        raise ApplicationError(_("作废理由不能超过 %(n)d 个字") % {"n": VOID_REASON_MAX}, code="reason_too_long")
    # Locked first: no result is recorded on its items while the guards look.
    list(Draw.objects.select_for_update().filter(pk=draw.pk).values_list("pk", flat=True))
    now = timezone.now()
    return DRAW.move(draw, DrawAction.VOID, actor=actor, reason=reason, comment=reason,
                     fields={"void_reason": reason, "voided_by_id": getattr(actor, "pk", None), "voided_at": now})


def verify(draw: Draw) -> list[str]:
    """Differences between a recomputation and the stored selection (empty when they agree). A
    draw voided after its execution verifies like any executed one."""
    if draw.executed_at is None:
        return [_("该批次未抽取即已作废") if draw.state == DrawState.VOIDED else _("该批次尚未抽取")]
    try:
        strata, chosen, excluded = compute(draw)
    except ApplicationError as exc:
        return [str(exc.message)]
    expected = [(s, rank, code, chosen[code], excluded[code]) for s in algorithm.STRATA for rank, (code, _d) in enumerate(strata[s], 1)]
    stored = [(i.stratum, i.rank, i.credit_code, list(i.cert_nos), list(i.excluded))
              for i in DrawItem.objects.filter(draw=draw).order_by("stratum", "rank").iterator()]
    diffs = []
    for want, got in zip(expected, stored):
        if want != got:
            diffs.append(f"{want[0]} #{want[1]}: expected {want[2]} {';'.join(want[3])}, stored {got[2]} {';'.join(got[3])}"
                         + (f" (excluded {want[4]} vs {got[4]})" if want[4] != got[4] else ""))
            break
    if not diffs and len(expected) != len(stored):
        diffs.append(f"expected {len(expected)} items, stored {len(stored)}")
    result = draw_dir(draw.public_id) / "result.csv"
    if not diffs and (not result.exists() or hashlib.sha256(result.read_bytes()).hexdigest() != draw.files.get("result.csv")):
        diffs.append("result.csv differs from its published SHA-256")
    if not diffs and result.read_bytes() != algorithm.result_lines(strata, chosen, excluded):
        diffs.append("result.csv differs from the recomputation")
    return diffs


# --- joint inspections and tasks -----------------------------------------------------------------


@transaction.atomic
def joint_merge(*, actor, period: str) -> list[JointInspection]:
    """Group the executed, unmerged items of ``period`` by entity into joint inspections with one task each.

    The lead item is the one from the earliest draw: its first inspector's unit carries out the
    inspection and that inspector receives the task; every department's business lines are checked
    in the same visit. Items drawn after the merge form a new joint inspection.
    """
    items = DrawItem.objects.filter(draw__plan__period=period, draw__state=DrawState.EXECUTED, joint__isnull=True, entity__isnull=False)
    if actor is not None:
        items = items.scoped(actor)
    groups: dict[int, list[DrawItem]] = {}
    for item in items.select_related("draw__plan", "entity").order_by("draw_id", "stratum", "rank"):
        groups.setdefault(item.entity_id, []).append(item)
    people = {u.pk: u for u in User.objects.filter(pk__in={i for its in groups.values() for it in its for i in it.inspector_ids}).select_related("bureau")}
    joints = []
    for entity_id, its in groups.items():
        lead = its[0]
        entity = lead.entity
        lines, check_items, inspectors = [], [], []
        for it in its:
            for x in it.draw.plan.business_lines:
                if x not in lines:
                    lines.append(x)
            for x in it.draw.plan.check_items:
                if x not in check_items:
                    check_items.append(x)
            for i in it.inspector_ids:
                if i not in inspectors:
                    inspectors.append(i)
        head = people.get(lead.inspector_ids[0]) if lead.inspector_ids else None
        joint = JointInspection.objects.create(
            period=period, entity=entity, credit_code=entity.credit_code, division_code=entity.division_code,
            business_lines=lines, bureau=head.bureau if head else lead.draw.plan.bureau, inspectors=inspectors,
        )
        DrawItem.objects.filter(pk__in=[it.pk for it in its]).update(joint=joint)
        names = "、".join(str(people[i]) for i in inspectors if i in people)
        description = _("双随机抽查联合检查。业务条线：%(lines)s；检查事项：%(items)s；检查人员：%(people)s") % {
            "lines": "、".join(lines) or "-", "items": "、".join(check_items) or "-", "people": names or "-"}
        joint.task = task_create(
            actor=actor, entity=entity, title=_("双随机抽查：%(name)s") % {"name": entity.name}, source="random_draw",
            business_line=lines[0] if len(lines) == 1 else "", source_ref=f"draw-joint-{joint.pk}",
            bureau=joint.bureau, assignee=head, description=description,
        )
        joint.save(update_fields=["task", "updated_at"])
        trace.record(actor=actor, action="draw.joint_created", obj=joint,
                     after={"credit_code": joint.credit_code, "period": period, "items": [it.pk for it in its], "business_lines": lines})
        events.emit("draw.joint_created", payload={"joint": joint.pk, "credit_code": joint.credit_code, "period": period,
                                                   "business_lines": lines, "task": joint.task_id},
                    division_code=joint.division_code, object_type="draws.jointinspection", object_id=joint.pk)
        joints.append(joint)
    return joints


# --- results --------------------------------------------------------------------------------------


@transaction.atomic
def draw_record_result(*, actor, item: DrawItem, result: str, note: str = "", inspected_on: dt.date | None = None) -> DrawItem:
    """Record an inspection result; publication is due 20 working days after the inspection.

    The publicity clock starts on the day of the inspection — ``inspected_on`` as given, else the
    day of the sealed on-site record that answered the item (``sources.sealed_inspection_date``) —
    never on the day the result is typed in. Without either the result is refused."""
    # The draw's row too: a void (which locks it before checking for results) and a result never cross.
    item = DrawItem.objects.select_for_update(of=("self", "draw")).select_related("draw__plan", "joint").get(pk=item.pk)
    _check(actor, item.division_code)
    if item.draw.state != DrawState.EXECUTED:
        raise ApplicationError(_("该抽查批次已作废，不能录入检查结果"), code="draw_voided")
    if result not in InspectionResult.values:
        raise ApplicationError(_("未知的检查结果"), code="invalid_result")
    if item.published_at:
        raise ApplicationError(_("结果已公示，不能修改"), code="already_published")
    day = inspected_on or sources.sealed_inspection_date(item)
    if day is None:
        raise ApplicationError(_("请填写检查日期：未找到该主体已签章的现场检查笔录"), code="no_inspection_date")
    if day > timezone.localdate():
        raise ApplicationError(_("检查日期不能晚于今天"), code="future_inspection_date")
    before = {"result": item.result, "inspected_on": str(item.inspected_on or "")}
    item.result, item.result_note = result, note
    item.inspected_on = day
    clock = clocks.start(procedure=PUBLICITY_CLOCK, object_id=item.pk, rule=item.draw.plan.publicity_rule, start=day,
                         division_code=item.division_code, entity_id=item.entity_id, actor=actor)
    item.publicity_due, item.publicity_provisional = clock.due_on, clock.provisional
    item.save(update_fields=["result", "result_note", "inspected_on", "publicity_due", "publicity_provisional"])
    after = {"result": result, "inspected_on": str(item.inspected_on), "publicity_due": str(item.publicity_due),
             "provisional": item.publicity_provisional}
    trace.record(actor=actor, action="draw.result_recorded", obj=item, before=before, after=after)
    events.emit("draw.result_recorded", payload={"item": item.pk, "credit_code": item.credit_code, **after},
                division_code=item.division_code, object_type="draws.drawitem", object_id=item.pk)
    return item


@transaction.atomic
def draw_publish_result(*, actor, item: DrawItem) -> DrawItem:
    """Publish a recorded result on the public results page."""
    item = DrawItem.objects.select_for_update(of=("self",)).select_related("draw").get(pk=item.pk)
    _check(actor, item.division_code)
    if item.draw.state != DrawState.EXECUTED:
        raise ApplicationError(_("该抽查批次已作废，不能公示检查结果"), code="draw_voided")
    if not item.result:
        raise ApplicationError(_("尚未录入检查结果"), code="no_result")
    if item.published_at:
        raise ApplicationError(_("结果已公示"), code="already_published")
    item.published_at = timezone.now()
    item.save(update_fields=["published_at"])
    clocks.stop_for(PUBLICITY_CLOCK, item.pk, on=timezone.localdate(item.published_at), actor=actor)
    after = {"result": item.result, "published_at": item.published_at.isoformat(), "overdue": item.publicity_due < timezone.localdate()}
    trace.record(actor=actor, action="draw.result_published", obj=item, after=after)
    events.emit("draw.result_published", payload={"item": item.pk, "credit_code": item.credit_code, **after},
                division_code=item.division_code, object_type="draws.drawitem", object_id=item.pk)
    return item
