"""Writes for divisions and grids: one function per business action, keyword-only, atomic.

Geo never writes entities. Every grid write emits its event (``grid.created``, ``grid.updated``,
``grid.deleted``, ``grids.imported``) carrying the grid ids, division codes and bounding boxes;
the registry re-places the entities concerned in reaction (``zhijian.entities.handlers``: inline,
so in the same transaction), recording each move as an entity change with its trace entry and event.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhijian.core import events, parsers, trace
from zhijian.core.errors import ApplicationError, OutOfScope
from zhijian.core.scoping import in_jurisdiction

from .geometry import GeometryError, polygonal_from_geojson, to_geojson
from .models import Division, Grid, GridLevel, GridRevision, GridRole, GridStaff, update_grids

# Who may hold a grid post (DOMAIN F2: the level-2 grid has one enforcement officer, one 协管员,
# one 信息员; the level-1 grid's station head is its supervisor).
ROLE_REQUIREMENTS = {
    GridRole.SUPERVISOR: {"enforcement_officer", "grid_officer", "leader"},
    GridRole.ASSISTANT: {"assistant", "grid_officer"},
    GridRole.INFORMANT: {"informant", "grid_officer"},
}


def _check_scope(actor, division_code: str) -> None:
    """``actor=None`` is the system (commands, demo); people act only inside their jurisdiction."""
    if actor is not None and not in_jurisdiction(actor, division_code):
        raise OutOfScope()


def _snapshot(grid: Grid) -> dict:
    """The grid as its trace entries and events carry it (``bbox`` and ``division_code`` tell the
    registry which entities the change may move)."""
    return {"code": grid.code, "name": grid.name, "level": grid.level, "division_code": grid.division_code,
            "parent": grid.parent_id, "bbox": [grid.min_lng, grid.min_lat, grid.max_lng, grid.max_lat]}


def _clean_geometry(geometry) -> dict | None:
    if geometry in (None, "", {}):
        return None
    if isinstance(geometry, str):
        try:
            geometry = parsers.loads(geometry, what=_("边界"))
        except parsers.JSONProblem as exc:
            raise ApplicationError(_("边界不是有效的 GeoJSON：%(reason)s") % {"reason": exc.message}, code="bad_geometry") from exc
    try:
        geom, _repaired = polygonal_from_geojson(geometry)
    except GeometryError as exc:
        raise ApplicationError(str(exc), code="bad_geometry") from exc
    return to_geojson(geom)


def _check_division(division_code: str) -> None:
    if not Division.objects.filter(code=division_code).exists():
        raise ApplicationError(_("区划代码 %(code)s 不存在") % {"code": division_code}, code="unknown_division")


@transaction.atomic
def grid_create(*, actor, code: str, name: str, level: int, division_code: str, geometry=None, parent: Grid | None = None) -> Grid:
    """Create one grid; the registry re-places the entities it now covers (``grid.created``)."""
    _check_scope(actor, division_code)
    if level not in GridLevel.values:
        raise ApplicationError(_("网格级别只能是 1 或 2"), code="bad_level")
    _check_division(division_code)
    if Grid.objects.filter(code=code).exists():
        raise ApplicationError(_("网格编码 %(code)s 已存在") % {"code": code}, code="duplicate")
    if parent is not None and parent.level >= level:
        raise ApplicationError(_("上级网格的级别必须高于本网格"), code="bad_parent")
    grid = Grid(code=code, name=name, level=level, division_code=division_code, geometry=_clean_geometry(geometry), parent=parent)
    grid.save()
    trace.record(actor=actor, action="grid.create", obj=grid, after=_snapshot(grid), division_code=division_code)
    events.emit("grid.created", payload=_snapshot(grid) | {"id": grid.pk}, division_code=division_code, object_type="geo.grid", object_id=str(grid.pk))
    return grid


@transaction.atomic
def grid_update(*, actor, grid: Grid, **changes) -> Grid:
    """Change name, division_code, geometry or parent; the registry re-places the entities that
    were in the grid or lie in its new area or division (``grid.updated``)."""
    allowed = {"name", "division_code", "geometry", "parent"}
    unknown = set(changes) - allowed
    if unknown:
        raise ApplicationError(_("不能修改这些字段：%(f)s") % {"f": ", ".join(sorted(unknown))}, code="bad_field")
    grid = Grid.objects.select_for_update().get(pk=grid.pk)
    _check_scope(actor, grid.division_code)
    before = _snapshot(grid)
    if "division_code" in changes:
        _check_scope(actor, changes["division_code"])
        _check_division(changes["division_code"])
    if "geometry" in changes:
        changes["geometry"] = _clean_geometry(changes["geometry"])
    if changes.get("parent") is not None and changes["parent"].level >= grid.level:
        raise ApplicationError(_("上级网格的级别必须高于本网格"), code="bad_parent")
    for key, value in changes.items():
        setattr(grid, key, value)
    grid.save()
    trace.record(actor=actor, action="grid.update", obj=grid, before=before, after=_snapshot(grid), division_code=grid.division_code)
    events.emit("grid.updated", payload=_snapshot(grid) | {"id": grid.pk}, division_code=grid.division_code, object_type="geo.grid", object_id=str(grid.pk))
    return grid


@transaction.atomic
def grid_delete(*, actor, grid: Grid) -> None:
    """Delete a grid. The event is written first, in the same transaction: the registry's inline
    reaction moves the grid's entities elsewhere (placing them as if the grid were gone) while
    they still name it, so each move records where the entity came from."""
    _check_scope(actor, grid.division_code)
    grid = Grid.objects.select_for_update().get(pk=grid.pk)
    before = _snapshot(grid)
    pk, division_code = grid.pk, grid.division_code
    trace.record(actor=actor, action="grid.delete", object_type="geo.grid", object_id=str(pk), before=before, division_code=division_code)
    events.emit("grid.deleted", payload=before | {"id": pk}, division_code=division_code, object_type="geo.grid", object_id=str(pk))
    grid.delete()


# --- staff -----------------------------------------------------------------------------------------
@transaction.atomic
def grid_staff_assign(*, actor, grid: Grid, user, role: str, replace: bool = False) -> GridStaff:
    """Put ``user`` in ``role`` for ``grid``. Each role has one holder per grid; ``replace=True``
    hands the post over from the current holder, otherwise an occupied post is refused."""
    if role not in GridRole.values:
        raise ApplicationError(_("未知的网格职责"), code="bad_role")
    _check_scope(actor, grid.division_code)
    if not in_jurisdiction(user, grid.division_code):
        raise ApplicationError(_("%(user)s 的辖区不包含该网格") % {"user": user}, code="out_of_jurisdiction")
    if not user.has_role(*ROLE_REQUIREMENTS[role]):
        raise ApplicationError(
            _("%(user)s 没有担任%(role)s所需的角色") % {"user": user, "role": GridRole(role).label}, code="missing_role"
        )
    current = list(GridStaff.objects.select_for_update().filter(grid=grid, role=role))
    if any(s.user_id == user.pk for s in current):
        return next(s for s in current if s.user_id == user.pk)
    if current and not replace:
        raise ApplicationError(
            _("该网格的%(role)s已由 %(user)s 担任") % {"role": GridRole(role).label, "user": current[0].user}, code="occupied"
        )
    for s in current:
        s.delete()
    staff = GridStaff.objects.create(grid=grid, user=user, role=role)
    after = {"grid": grid.code, "user": user.pk, "role": role, "replaced": [s.user_id for s in current]}
    trace.record(actor=actor, action="grid.staff_assign", obj=staff, after=after, division_code=grid.division_code)
    events.emit("grid.staff_assigned", payload=after, division_code=grid.division_code, object_type="geo.grid", object_id=str(grid.pk))
    return staff


@transaction.atomic
def grid_staff_remove(*, actor, grid: Grid, user, role: str) -> bool:
    _check_scope(actor, grid.division_code)
    deleted, _n = GridStaff.objects.filter(grid=grid, user=user, role=role).delete()
    if deleted:
        data = {"grid": grid.code, "user": user.pk, "role": role}
        trace.record(actor=actor, action="grid.staff_remove", object_type="geo.grid", object_id=str(grid.pk), before=data, division_code=grid.division_code)
        events.emit("grid.staff_removed", payload=data, division_code=grid.division_code, object_type="geo.grid", object_id=str(grid.pk))
    return bool(deleted)


# --- GeoJSON import ----------------------------------------------------------------------------------
@dataclass
class GridImportResult:
    created: int = 0
    updated: int = 0
    repaired: list[str] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)


class GridImportError(ApplicationError):
    """The file was refused as a whole; ``errors`` lists each problem (``extra["errors"]`` too)."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        message = _("GeoJSON 校验未通过，共 %(n)d 处错误，未导入任何网格") % {"n": len(errors)}
        super().__init__(message, code="invalid_geojson", extra={"errors": errors})

    def lines(self) -> list[str]:
        return [e["message"] for e in self.errors]


def _read(file_or_path) -> bytes:
    if isinstance(file_or_path, (str, os.PathLike)):
        try:
            return Path(file_or_path).read_bytes()
        except OSError as exc:
            raise ApplicationError(_("无法读取文件：%(e)s") % {"e": exc.strerror or exc}, code="unreadable") from exc
    data = file_or_path.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def _err(index: int | None, code: str, message: str) -> dict:
    if index is None:
        text = message
    elif code:
        text = _("第 %(i)d 个要素（编码 %(code)s）：%(msg)s") % {"i": index, "code": code, "msg": message}
    else:
        text = _("第 %(i)d 个要素：%(msg)s") % {"i": index, "msg": message}
    return {"feature": index, "code": code, "message": text}


def _text_prop(props: dict, key: str) -> str:
    value = props.get(key)
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_grid_features(data: bytes, *, level: int) -> tuple[list[dict], list[dict]]:
    """Validate a FeatureCollection without touching the database's grids.

    Returns (rows, errors); each row is {code, name, division_code, parent_code, geometry, repaired}.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [_err(None, "", _("文件不是 UTF-8 编码的文本"))]
    try:
        # Depth-limited (a file nested 100,000 deep is refused, not a RecursionError).
        doc = parsers.loads(text, what=_("文件"))
    except parsers.JSONProblem as exc:
        if exc.where:
            return [], [_err(None, "", _("文件不是有效的 JSON（%(where)s）") % {"where": exc.where})]
        return [], [_err(None, "", exc.message)]
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return [], [_err(None, "", _("不是 GeoJSON FeatureCollection（顶层 type 应为 FeatureCollection）"))]
    features = doc.get("features")
    if not isinstance(features, list):
        return [], [_err(None, "", _("FeatureCollection 缺少 features 数组"))]
    if not features:
        return [], [_err(None, "", _("FeatureCollection 中没有任何要素"))]

    rows: list[dict] = []
    errors: list[dict] = []
    seen: dict[str, int] = {}
    for i, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(_err(i, "", _("不是 GeoJSON Feature（type 应为 Feature）")))
            continue
        props = feature.get("properties")
        if not isinstance(props, dict):
            errors.append(_err(i, "", _("缺少 properties")))
            continue
        code = _text_prop(props, "code")
        missing = [k for k in ("code", "name", "division_code") if not _text_prop(props, k)]
        if missing:
            errors.append(_err(i, code, _("缺少属性 %(keys)s") % {"keys": "、".join(missing)}))
            continue
        problems = []
        if len(code) > 32:
            problems.append(_("网格编码超过 32 个字符"))
        name = _text_prop(props, "name")
        if len(name) > 100:
            problems.append(_("名称超过 100 个字符"))
        division_code = _text_prop(props, "division_code")
        if not division_code.isdigit() or len(division_code) > 12:
            problems.append(_("区划代码 %(c)s 格式错误") % {"c": division_code})
        if "level" in props and props["level"] not in (None, ""):
            if _text_prop(props, "level") != str(level):
                problems.append(_("要素层级 %(a)s 与导入层级 %(b)d 不一致") % {"a": _text_prop(props, "level"), "b": level})
        if code in seen:
            problems.append(_("网格编码与第 %(j)d 个要素重复") % {"j": seen[code]})
        seen.setdefault(code, i)
        geometry, repaired = None, False
        try:
            geom, repaired = polygonal_from_geojson(feature.get("geometry"))
            geometry = to_geojson(geom)
        except GeometryError as exc:
            problems.append(str(exc))
        for p in problems:
            errors.append(_err(i, code, p))
        # Rows with problems still go on to the database checks, so every error is listed at once.
        rows.append({"index": i, "code": code, "name": name, "division_code": division_code, "ok": not problems,
                     "parent_code": _text_prop(props, "parent_code"), "geometry": geometry, "repaired": repaired})
    return rows, errors


@transaction.atomic
def import_grids_geojson(file_or_path, *, level: int, actor) -> GridImportResult:
    """Create or update grids from a GeoJSON FeatureCollection — all or nothing.

    Each feature carries ``properties`` ``code``, ``name``, ``division_code`` and optionally
    ``level`` (must equal ``level``) and ``parent_code`` (a level-1 grid, in the database or the
    same file; when absent for a level-2 grid the level-1 grid of the longest division prefix is
    used). Geometry: Polygon or MultiPolygon in GCJ-02; invalid rings are repaired with make_valid.
    Any error refuses the whole file with a per-feature list (``GridImportError``).
    The registry re-places entities and refreshes counts in reaction to ``grids.imported`` (inline:
    before the transaction commits).
    """
    level = int(level)
    if level not in GridLevel.values:
        raise ApplicationError(_("网格级别只能是 1 或 2"), code="bad_level")
    rows, errors = parse_grid_features(_read(file_or_path), level=level)
    if not rows:
        raise GridImportError(errors)

    codes = {r["code"] for r in rows}
    division_codes = {r["division_code"] for r in rows}
    known_divisions = set(Division.objects.filter(code__in=division_codes).values_list("code", flat=True))
    existing = {g.code: g for g in Grid.objects.select_for_update().filter(code__in=codes)}
    parent_codes = {r["parent_code"] for r in rows if r["parent_code"]}
    parents = {g.code: g for g in Grid.objects.filter(code__in=parent_codes)}
    level1_by_division: dict[str, Grid] = {}
    if level == 2:
        prefixes = {dc[:n] for dc in division_codes for n in (2, 4, 6, 9) if n < len(dc)}
        for g in Grid.objects.filter(level=1, division_code__in=prefixes).order_by("code"):
            level1_by_division.setdefault(g.division_code, g)
    for r in rows:
        i, code = r["index"], r["code"]
        if r["division_code"] not in known_divisions:
            errors.append(_err(i, code, _("区划代码 %(c)s 不存在") % {"c": r["division_code"]}))
        elif actor is not None and not in_jurisdiction(actor, r["division_code"]):
            errors.append(_err(i, code, _("区划代码 %(c)s 不在您的辖区内") % {"c": r["division_code"]}))
        old = existing.get(code)
        if old is not None and old.level != level:
            errors.append(_err(i, code, _("网格编码已被%(level)s使用") % {"level": old.get_level_display()}))
        r["parent"] = None
        if r["parent_code"]:
            if level == 1:
                errors.append(_err(i, code, _("一级网格不能有上级网格")))
            elif r["parent_code"] in codes:
                errors.append(_err(i, code, _("上级网格 %(p)s 与本网格同为二级网格") % {"p": r["parent_code"]}))
            else:
                parent = parents.get(r["parent_code"])
                if parent is None or parent.level != 1:
                    errors.append(_err(i, code, _("上级网格 %(p)s 不存在或不是一级网格") % {"p": r["parent_code"]}))
                r["parent"] = parent
        elif level == 2:
            dc = r["division_code"]
            for n in (9, 6, 4, 2):
                if n < len(dc) and dc[:n] in level1_by_division:
                    r["parent"] = level1_by_division[dc[:n]]
                    break
    if errors:
        raise GridImportError(sorted(errors, key=lambda e: e["feature"] or 0))

    result = GridImportResult()
    to_create, to_update = [], []
    now = timezone.now()
    for r in rows:
        grid = existing.get(r["code"]) or Grid(code=r["code"], level=level)
        grid.name, grid.division_code, grid.geometry, grid.parent = r["name"], r["division_code"], r["geometry"], r["parent"]
        grid.set_bbox()
        grid.updated_at = now
        (to_update if grid.pk else to_create).append(grid)
        if r["repaired"]:
            result.repaired.append(_err(r["index"], r["code"], _("几何无效，已自动修复"))["message"])
    Grid.objects.bulk_create(to_create, batch_size=500)
    update_grids(to_update)
    GridRevision.bump()
    result.created, result.updated = len(to_create), len(to_update)
    grids = list(Grid.objects.filter(code__in=codes))
    result.grids = grids
    summary = {"level": level, "created": result.created, "updated": result.updated, "repaired": len(result.repaired)}
    common = os.path.commonprefix(sorted(division_codes))
    trace.record(actor=actor, action="grid.import", object_type="geo.grid", object_id="", after=summary | {"codes": sorted(codes)[:1000]}, division_code=common)
    events.emit("grids.imported", payload=summary | {"ids": sorted(g.pk for g in grids)}, division_code=common, object_type="geo.grid")
    return result
