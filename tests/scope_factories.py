"""One factory per scoped model, making an instance that lies in a given division.

The jurisdiction matrix (tests/test_jurisdiction_matrix.py) fails for any model registered with
``@register_scoped`` that has no factory here, so a new scoped model cannot skip the matrix.
"""
from __future__ import annotations

import itertools

from tests.factories import make_bureau, make_entity, make_user

_n = itertools.count(1)
FACTORIES = {}


def factory(label):
    def deco(fn):
        FACTORIES[label] = fn
        return fn
    return deco


@factory("org.bureau")
def _bureau(div):
    return make_bureau(div[:4], division_code=div)


@factory("org.department")
def _department(div):
    from zhijian.org.models import Department

    return Department.objects.create(name=f"卫健局{next(_n)}", code=f"dept{next(_n)}", division_code=div, jurisdiction=div[:4])


@factory("org.user")
def _user(div):
    return make_user(bureau=make_bureau(div[:4], division_code=div))


@factory("geo.division")
def _division(div):
    from zhijian.geo.models import Division

    d, _ = Division.objects.get_or_create(code=div, defaults={"name": f"测试村{next(_n)}", "level": 5})
    return d


@factory("geo.grid")
def _grid(div):
    from zhijian.geo.models import Grid

    return Grid.objects.create(code=f"G{div}{next(_n)}", name=f"网格{next(_n)}", level=2, division_code=div)


@factory("geo.gridstaff")
def _gridstaff(div):
    from zhijian.geo.models import GridStaff

    return GridStaff.objects.create(grid=_grid(div), user=_user(div), role="supervisor")


@factory("entities.marketentity")
def _entity(div):
    return make_entity(div)


@factory("entities.entitychange")
def _change(div):
    return make_entity(div).changes.first()


@factory("entities.importjob")
def _importjob(div):
    from zhijian.entities.models import ImportJob

    return ImportJob.objects.create(bureau=make_bureau(div[:4], division_code=div), filename="x.csv")


@factory("core.traceentry")
def _trace(div):
    from zhijian.core import trace

    return trace.record(actor=None, action="test.done", after={"n": next(_n)}, object_type="test", object_id=str(next(_n)), division_code=div)


@factory("core.event")
def _event(div):
    from zhijian.core import events

    return events.emit("test.happened", payload={"n": next(_n)}, division_code=div)


@factory("core.delivery")
def _delivery(div):
    import uuid

    from django.utils import timezone

    from zhijian.core.models import Delivery, WebhookSubscription

    sub = WebhookSubscription.objects.create(name=f"订阅{next(_n)}", url="http://127.0.0.1:9/hook", secret="s")
    return Delivery.objects.create(subscription=sub, event=_event(div), idempotency_key=uuid.uuid4().hex, next_attempt_at=timezone.now())


@factory("supervision.task")
def _task(div):
    from zhijian.supervision.models import Task

    return Task.objects.create(title=f"日常检查{next(_n)}", entity=make_entity(div), division_code=div)


@factory("supervision.tasktemplate")
def _tasktemplate(div):
    from zhijian.supervision.models import TaskTemplate

    return TaskTemplate.objects.create(name=f"专项检查{next(_n)}", kind="campaign", division_code=div)


@factory("supervision.templaterun")
def _templaterun(div):
    from zhijian.supervision.models import TemplateRun

    return TemplateRun.objects.create(template=_tasktemplate(div), run_key=str(next(_n)), bureau=make_bureau(div[:4], division_code=div), division_code=div)


@factory("core.workflowstep")
def _workflowstep(div):
    from zhijian.core.models import WorkflowStep

    task = _task(div)
    return WorkflowStep.objects.create(procedure="supervision.task", object_id=task.pk, division_code=div, entity_id=task.entity_id,
                                       action="create", to_state="registered")


@factory("supervision.taskrecord")
def _taskrecord(div):
    from zhijian.supervision.models import TaskRecord

    return TaskRecord.objects.create(task=_task(div), kind="inspection_record", record_id=str(next(_n)))


@factory("supervision.taskurge")
def _taskurge(div):
    from zhijian.supervision.models import TaskUrge

    return TaskUrge.objects.create(task=_task(div), message="请尽快办理")


def _draw_plan(div):
    from zhijian.draws import services

    bureau = make_bureau(div[:4], division_code=div)
    return services.plan_create(actor=None, bureau=bureau, name=f"抽查计划{next(_n)}", period="2026", division_code=div,
                                ratios={"B": "100"})


@factory("draws.drawplan")
def _drawplan(div):
    return _draw_plan(div)


def _executed_draw(div):
    from zhijian.draws import services

    plan = _draw_plan(div)
    make_entity(div)
    for _i in range(2):
        make_user("enforcement_officer", bureau=plan.bureau, enforcement_cert_no=f"C{div}{next(_n)}")
    return services.draw_execute(actor=None, draw=services.draw_commit(actor=None, plan=plan))


@factory("draws.draw")
def _draw(div):
    return _executed_draw(div)


@factory("draws.drawitem")
def _drawitem(div):
    return _executed_draw(div).items.first()


@factory("draws.jointinspection")
def _joint(div):
    from zhijian.draws import services

    draw = _executed_draw(div)
    return services.joint_merge(actor=None, period=draw.plan.period)[0]


def _inspection_in(div):
    import datetime as dt

    from django.utils import timezone

    from zhijian.inspections.models import ChecklistVersion, Inspection

    version, _ = ChecklistVersion.objects.get_or_create(number=1, defaults={"effective_on": dt.date(2016, 1, 1), "published": True})
    entity = make_entity(div)
    user = make_user("enforcement_officer", bureau=make_bureau(div[:4], division_code=div), enforcement_cert_no="44190099999")
    now = timezone.now()
    return Inspection.objects.create(
        client_key=f"factory-{next(_n)}", entity=entity, entity_name=entity.name, bureau=user.bureau, division_code=div,
        checklist_version=version, created_by=user, started_at=now, finished_at=now, conclusion="pass",
    )


@factory("inspections.inspection")
def _inspection(div):
    return _inspection_in(div)


# --- grid (G1–G4, C3) ---


def _grid_case(div):
    from zhijian.grid import cases

    return cases.case_open(actor=None, trigger="registration", entity=make_entity(div), trigger_ref=f"t{next(_n)}")


@factory("grid.gridcase")
def _gridcase(div):
    return _grid_case(div)


def _grid_visit(div):
    from zhijian.grid.models import Visit, VisitItem

    visit = Visit.objects.create(case=_grid_case(div), kind="first", visited_on="2026-03-02")
    VisitItem.objects.create(visit=visit, matter="address", result="ok")
    return visit


@factory("grid.visit")
def _gridvisit(div):
    return _grid_visit(div)


@factory("grid.visititem")
def _gridvisititem(div):
    return _grid_visit(div).items.first()


@factory("grid.dutystatus")
def _dutystatus(div):
    from zhijian.grid.models import DutyStatus

    return DutyStatus.objects.create(user=_user(div), division_code=div)


def _grid_order(div):
    from zhijian.grid.models import EmergencyOrder, OrderRecipient

    order = EmergencyOrder.objects.create(title="应急处置", lng=113.75, lat=23.02, division_code=div)
    OrderRecipient.objects.create(order=order, officer=_user(div), rank=1, distance_m=100)
    return order


@factory("grid.emergencyorder")
def _gridorder(div):
    return _grid_order(div)


@factory("grid.orderrecipient")
def _gridorderrecipient(div):
    return _grid_order(div).recipients.first()


@factory("grid.warning")
def _gridwarning(div):
    from zhijian.grid.models import Warning

    return Warning.objects.create(item_type="grid.case", item_id=next(_n), step="first_visit", level=0, due_on="2026-03-02", division_code=div)
# --- end grid ---


def _push_item(div):
    from zhijian.coordination.models import PushItem, SupervisionMatter

    matter = SupervisionMatter.objects.create(code=f"m{next(_n)}", name=f"监管事项{next(_n)}")
    return PushItem.objects.create(entity=make_entity(div), department=_department(div), matter=matter, trigger="created",
                                   trigger_key=f"event:{next(_n)}", division_code=div)


@factory("coordination.pushitem")
def _pushitem(div):
    return _push_item(div)


@factory("clues.clue")
def _clue(div):
    from zhijian.clues import intake

    bureau = make_bureau(div[:4], division_code=div)
    return intake.record(source="manual", actor=None, text=f"无证经营线索{next(_n)}", division_code=div, bureau=bureau)


@factory("deadlines.clock")
def _clock(div):
    import datetime as dt

    from zhijian.deadlines import clocks

    return clocks.start(procedure="tests.item", object_id=next(_n), rule="grid.first_visit", start=dt.date(2026, 3, 2),
                        division_code=div)
