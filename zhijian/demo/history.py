"""The demo city's last three weeks, made by the services themselves on the days they happened.

Nothing here writes a state or a date by hand: each step calls the service a person or the system
would call, on its own day (the clock is set back with freezegun while the step runs), and the
event dispatcher runs after each day as the running system would. So the first visits of
registrations two and three weeks old are overdue, those of last week due soon; the daily
inspections typed with a due date ten working days on are late or close; the warnings come
from the clock sweep run today.

Work is placed in 历下区解放路街道, the area of the demo's station (officer1, grid1, dispatcher).
"""
from __future__ import annotations

import base64
import datetime as dt
import random
import struct
import uuid
import zlib

from django.utils import timezone
from shapely.geometry import shape

from zhijian.clues import intake
from zhijian.clues import services as clues
from zhijian.clues.choices import ClueSource
from zhijian.clues.models import Clue
from zhijian.coordination import feedback
from zhijian.coordination.models import PushItem
from zhijian.core.dispatch import Dispatcher
from zhijian.deadlines import clocks
from zhijian.deadlines.workdays import add_workdays
from zhijian.entities import services as entities
from zhijian.entities import synth
from zhijian.entities.models import MarketEntity
from zhijian.geo import demo as geo_demo
from zhijian.geo.models import Division, Grid
from zhijian.grid import alerts
from zhijian.grid import cases as grid_cases
from zhijian.grid.choices import CaseState, Matter
from zhijian.grid.models import GridCase
from zhijian.core.errors import ApplicationError
from zhijian.inspections import lines
from zhijian.inspections import services as inspections
from zhijian.inspections.models import CheckItem
from zhijian.org.models import Bureau, Department, User
from zhijian.supervision import tasks, templates_run
from zhijian.supervision.choices import TaskSource
from zhijian.supervision.models import Task

TOWN = "370102001"  # 历下区解放路街道: the demo station's area
DAYS_BACK = (20, 16, 13, 9, 6, 3, 1)  # calendar days before today on which something happened
NEW_PER_DAY = 4
NEW_REGISTRATIONS = len(DAYS_BACK) * NEW_PER_DAY  # of the city's ``--entities``
DAILY_LINES = (("food_sales", "食品销售日常检查"), ("catering", "餐饮服务日常检查"))


def on(day: dt.date):
    """Run the enclosed services on ``day`` at 10:00 (the clock ticks on from there)."""
    import freezegun  # the demo's own dependency; only the demo moves the clock

    at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
    return freezegun.freeze_time(at, tick=True)


def dispatch() -> int:
    """Run the event dispatcher until nothing is due (the handlers the running system would run), in
    batches of 5,000 (measured at 3,000 entities: 9 s instead of 15–17 s with batches of 500)."""
    worker = Dispatcher(batch=5000, concurrency=1, timeout=1)
    try:
        return worker.drain()
    finally:
        worker.close()


def sweep() -> str:
    """Today's clock sweep and receipt-limit warnings, then their reactions (the warnings)."""
    counts = clocks.sweep(timezone.localdate())
    dispatch()
    receipts = alerts.receipt_warnings()
    return (f"期限计时：提醒 {counts.get('reminder', 0)}，逾期 {counts.get('overdue', 0)}；"
            f"签收时限预警 {sum(receipts.values())} 条")


def build_history(*, seed: int = 2026, log=print) -> None:
    if Task.objects.filter(source_ref="demo").exists():
        return
    rng = random.Random(seed + 1)
    today = timezone.localdate()
    days = [today - dt.timedelta(days=d) for d in DAYS_BACK]
    people = {u.username: u for u in User.objects.filter(username__in=["dispatcher", "officer1", "grid1", "health", "leader"])}
    for i, day in enumerate(days):
        with on(day):
            _registrations(rng, day, i)
            dispatch()  # the push and the village's first visit, received on the day
            if i in (0, 1, 2):
                _grid_work(people, day, visit=i < 2)
            if i == 1:
                _daily_tasks(people, day, count=2)
            if i == 2:
                _clues(people, day)
            if i == 3:
                _inspections(people, log)
            if i == 4:
                _daily_tasks(people, day, count=2)
                _patrol_templates(people)
            if i == 5:
                _clue_feedback(people)
            dispatch()
    _daily_tasks(people, today, count=1)
    _inbox(people)
    log(f"新设立登记 {len(days) * NEW_PER_DAY} 户（历下区解放路街道，{days[0]:%m-%d} 起）")


def _town_places():
    names = dict(Division.objects.filter(code__startswith="3701").values_list("code", "name"))
    places, shapes = [], {}
    for g in Grid.objects.filter(level=2, division_code__startswith=TOWN).only("division_code", "geometry"):
        if g.geometry and g.division_code[:6] in names and g.division_code[:9] in names:
            places.append(synth.Place(g.division_code, g.division_code[:6], "济南市", names[g.division_code[:6]],
                                      names[g.division_code[:9]], names.get(g.division_code, "")))
            shapes[g.division_code] = shape(g.geometry)
    return places, shapes


def _registrations(rng, day: dt.date, i: int) -> list[MarketEntity]:
    """New registrations of the day, through the registry's service (pushed on ``entity.created``)."""
    places, shapes = _town_places()
    if not places:
        return []

    def point(place, r):
        p = geo_demo.random_point_in(shapes[place.division_code], r)
        return round(p.x, 6), round(p.y, 6)

    made = []
    for row in synth.synth_entities(places, NEW_PER_DAY * 3, seed=rng.randrange(10**9), point=point):
        if len(made) >= NEW_PER_DAY:
            break
        if row["status"] != "active" or MarketEntity.objects.filter(credit_code=row["credit_code"]).exists():
            continue
        made.append(entities.entity_create(
            actor=None, credit_code=row["credit_code"], name=row["name"], division_code=row["division_code"], address=row["address"],
            legal_type=row["legal_type"], legal_rep=row["legal_rep"], capital=row["capital"], established_on=day,
            industry_code=row["industry_code"], business_scope=row["business_scope"], lng=row["lng"], lat=row["lat"]))
    return made


def _grid_work(people, day: dt.date, *, visit: bool) -> None:
    """The dispatcher assigns the day's first visits to grid1; the older ones are visited (one with
    problems: a written notice and a re-check date)."""
    grid1 = people["grid1"]
    for n, case in enumerate(GridCase.objects.filter(division_code__startswith=TOWN, received_on=day, state=CaseState.PENDING_ASSIGN)
                             .exclude(grid__isnull=True).order_by("id")[:3]):
        case = grid_cases.case_assign(actor=people["dispatcher"], case=case, assignee=grid1)
        if visit and n < 2:
            items = {m: ("ok", "") for m in Matter.values}
            if n == 1:
                items["display"] = ("problem", "营业执照未在经营场所醒目位置悬挂")
            grid_cases.visit_first(actor=grid1, case=case, items=items, note="现场走访")


def _line_shops(line: str):
    industries = lines.industries_of([line]) or []
    return (MarketEntity.objects.filter(lines.industry_q(industries), division_code__startswith=TOWN, status="active")
            .order_by("id"))


def _daily_tasks(people, day: dt.date, *, count: int) -> None:
    """Daily inspections of officer1 on shops of each line (a restaurant for catering, a food shop for
    food sales), due ten working days after the day they were given."""
    officer = people["officer1"]
    for line, title in DAILY_LINES:
        taken = Task.objects.filter(source_ref="demo", business_line=line).values_list("entity_id", flat=True)
        for entity in _line_shops(line).exclude(pk__in=list(taken))[:count]:
            task = tasks.task_create(actor=people["dispatcher"], entity=entity, title=title, source=TaskSource.PATROL, business_line=line,
                                     source_ref="demo", assignee=officer, due_on=add_workdays(day, 10))
            tasks.task_accept(actor=officer, task=task)


def _patrol_templates(people) -> None:
    """The station's monthly patrols by line: each shop gets the task of its own line, unclaimed."""
    station = Bureau.objects.filter(division_code=TOWN).first()
    if station is None:
        return
    for line, title in DAILY_LINES:
        tpl = templates_run.template_create(actor=people["dispatcher"], name=f"解放路街道{title}", kind="patrol", division_code=TOWN,
                                            business_lines=line, description="每月一次，按业务条线对应行业的主体生成")
        templates_run.template_generate(actor=people["dispatcher"], template=tpl, bureau=station, limit=6)


CLUES = [
    ("fire", "商场安全出口被货物堵塞，疏散通道不畅", "unlicensed"),
    ("health", "无证经营的美容美发店，使用未消毒器具", "unlicensed"),
    ("", "门店招牌与营业执照名称不一致", "other"),
]


def _clues(people, day: dt.date) -> None:
    """grid1 records what the villages reported; the dispatcher (the town's office) sends two to
    the departments that handle them."""
    place = MarketEntity.objects.filter(division_code__startswith=TOWN, status="active").order_by("id").first()
    for dept, text, kind in CLUES:
        clue = intake.record(source=ClueSource.VILLAGE, actor=people["grid1"], text=text, kind=kind, division_code=place.division_code,
                             place=place.address, place_name=place.name, lng=place.lng, lat=place.lat)
        if dept:
            clues.clue_assign(actor=people["dispatcher"], clue=clue, department=Department.objects.get(code=dept),
                              comment="请按职责核查处理")


def _clue_feedback(people) -> None:
    clue = Clue.objects.filter(state="assigned", department__code="health").order_by("id").first()
    if clue is not None:
        clues.clue_report(actor=people["health"], clue=clue, report="已现场核查，责令停止无证经营，立案调查")


def _inbox(people) -> None:
    """The health commission claims its oldest pushed items and finishes two."""
    health = people["health"]
    items = list(PushItem.objects.filter(department__code="health", state="pushed").order_by("id")[:5])
    for n, item in enumerate(items):
        item = feedback.item_claim(actor=health, item=item)
        if n < 3:
            item = feedback.item_accept(actor=health, item=item, comment="已受理，安排现场核查")
        if n < 2:
            feedback.item_finish(actor=health, item=item, result="已核发公共场所卫生许可证并现场检查")


def _png(shade: int) -> str:
    """A small grey PNG as a data URL: the handwritten signature of the demo's people."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([(x * 7 + shade) % 256 for x in range(60)]) for _ in range(20))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60, 20, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _inspections(people, log) -> None:
    """officer1 and officer2 inspect two of officer1's oldest daily tasks as the phone uploads them:
    key items answered, one problem found, 责令限期改正 in 10 working days, signed by both officers
    and the shop's representative, sealed; the tasks move on in the task loop."""
    officers = [people["officer1"], User.objects.get(username="officer2")]
    for task in Task.objects.filter(source_ref="demo", assignee=officers[0], state="accepted").order_by("id")[:2]:
        items = list(CheckItem.objects.filter(business_line__code=task.business_line, version__number=1, key_item=True).order_by("order"))
        if not items:
            continue
        now = timezone.now().replace(microsecond=0)
        results = [{"item_id": it.pk, "result": "problem" if k == 0 else "ok",
                    "note": "部分食品未按要求分区存放，标签不全" if k == 0 else ""} for k, it in enumerate(items)]
        try:
            inspections.inspection_sync(
                actor=officers[0], client_key=uuid.uuid4().hex, entity=task.entity, tasks=[task], officers=officers,
                started_at=now - dt.timedelta(hours=1), finished_at=now - dt.timedelta(minutes=10), lng=task.entity.lng,
                lat=task.entity.lat, results=results, conclusion="correct", correction_days=10,
                opinion="发现食品贮存不规范，责令十个工作日内改正。",
                attachments=[{"client_id": "t1", "kind": "text", "name": "现场记录", "content_type": "text/plain",
                              "data_base64": base64.b64encode("冷藏柜温度正常，散装食品标签不全".encode()).decode()}],
                signatures={"officers": {str(o.pk): _png(o.pk) for o in officers},
                            "representative": {"name": task.entity.legal_rep or "店长", "image": _png(3)}},
            )
        except ApplicationError as exc:  # the demo goes on without this record; say why
            log(f"示范检查笔录未生成（{task.number}）：{exc}")
