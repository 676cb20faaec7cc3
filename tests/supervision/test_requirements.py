"""The requirement registry: other apps' checks block submit and archive, naming every missing item."""
import pytest

from zhijian.core.errors import ApplicationError
from zhijian.core.models import Event
from zhijian.supervision import requirements
from zhijian.supervision import tasks
from zhijian.supervision.choices import TaskState
from zhijian.supervision.models import TaskRecord

pytestmark = pytest.mark.django_db


def _signed_inspection_record(task):
    if not task.records.filter(kind="inspection_record", signed=True).exists():
        return "缺少已签名的现场检查笔录"
    return None


def _photo(task):
    return None if task.records.filter(kind="photo").exists() else "缺少现场照片"


@pytest.fixture
def executing(make_task, station, officer_a):
    return make_task(TaskState.EXECUTING, bureau=station, assignee=officer_a, business_line="食品销售")


def test_submit_refused_with_all_missing_items(clean_requirements, executing, officer_a):
    requirements.register("test.signed_record", _signed_inspection_record)
    requirements.register("test.photo", _photo)
    with pytest.raises(ApplicationError) as exc:
        tasks.task_submit(actor=officer_a, task=executing)
    assert exc.value.code == "requirements_missing"
    assert exc.value.message == "任务还不能提交审核，缺少：缺少已签名的现场检查笔录；缺少现场照片"
    assert exc.value.extra["missing"] == ["缺少已签名的现场检查笔录", "缺少现场照片"]
    executing.refresh_from_db()
    assert executing.state == TaskState.EXECUTING


def test_linked_records_satisfy_the_checks(clean_requirements, executing, officer_a):
    requirements.register("test.signed_record", _signed_inspection_record)
    tasks.task_link_record(task=executing, kind="inspection_record", record_id="JC-1", signed=False)
    with pytest.raises(ApplicationError, match="缺少已签名的现场检查笔录"):
        tasks.task_submit(actor=officer_a, task=executing)
    # The same record, now signed: relinking updates the mark instead of adding a row.
    tasks.task_link_record(task=executing, kind="inspection_record", record_id="JC-1", signed=True)
    assert TaskRecord.objects.filter(task=executing).count() == 1
    tasks.task_submit(actor=officer_a, task=executing)
    assert executing.state == TaskState.REVIEW
    assert [e.payload["signed"] for e in Event.objects.filter(type="task.record_linked").order_by("id")] == [False, True]


def test_archive_stage_check_runs_on_archive_only(clean_requirements, executing, officer_a, leader):
    requirements.register("test.photo", _photo, stages=[requirements.ARCHIVE])
    tasks.task_submit(actor=officer_a, task=executing)  # not a submit requirement
    tasks.task_review(actor=leader, task=executing, approve=True)
    with pytest.raises(ApplicationError, match="任务还不能归档，缺少：缺少现场照片"):
        tasks.task_archive(actor=leader, task=executing)
    assert executing.state == TaskState.APPROVED
    tasks.task_link_record(task=executing, kind="photo", record_id="P1", signed=False)
    tasks.task_archive(actor=leader, task=executing)
    assert executing.state == TaskState.ARCHIVED


def test_records_cannot_be_linked_to_closed_tasks(make_task, station, officer_a):
    task = make_task(TaskState.ARCHIVED, bureau=station, assignee=officer_a)
    with pytest.raises(ApplicationError, match="不能再关联记录"):
        tasks.task_link_record(task=task, kind="inspection_record", record_id="X", signed=True)


def test_unknown_stage_is_a_programming_error(clean_requirements):
    with pytest.raises(ValueError):
        requirements.register("x", _photo, stages=["finish"])


def test_grid_first_visit_tasks_are_proven_by_their_ended_grid_case(make_task, station, officer_a, leader):
    """The village's grid task is worked as a grid case, never as an inspection: the ended case
    (kind grid_case, final) is its record instead of the registered checks; other lines keep them."""
    grid = make_task(TaskState.EXECUTING, bureau=station, assignee=officer_a, business_line="grid_first_visit")
    with pytest.raises(ApplicationError) as exc:
        tasks.task_submit(actor=officer_a, task=grid)
    assert exc.value.extra["missing"] == ["缺少已办结的网格事项"]
    tasks.task_link_record(task=grid, kind="grid_case", record_id="7", signed=False)
    with pytest.raises(ApplicationError, match="缺少已办结的网格事项"):
        tasks.task_submit(actor=officer_a, task=grid)
    tasks.task_link_record(task=grid, kind="grid_case", record_id="7", signed=True)
    tasks.task_submit(actor=officer_a, task=grid)
    tasks.task_review(actor=leader, task=grid, approve=True)
    tasks.task_archive(actor=leader, task=grid)
    assert grid.state == TaskState.ARCHIVED

    food = make_task(TaskState.EXECUTING, bureau=station, assignee=officer_a, business_line="食品销售")
    tasks.task_link_record(task=food, kind="grid_case", record_id="8", signed=True)
    with pytest.raises(ApplicationError, match="现场检查笔录"):  # the inspections app's check still applies
        tasks.task_submit(actor=officer_a, task=food)


def test_a_task_on_an_unregistered_place_names_its_division(dispatcher, station, far_officer):
    with pytest.raises(ApplicationError, match="请选择市场主体"):
        tasks.task_create(actor=dispatcher, entity=None, title="无照经营核查", source="clue")
    task = tasks.task_create(actor=dispatcher, entity=None, division_code="441900003001", title="无照经营核查", source="clue",
                                bureau=station)
    assert task.entity is None and task.division_code == "441900003001" and task.state == TaskState.DISPATCHED
    assert Event.objects.get(type="task.created", object_id=str(task.pk)).payload["credit_code"] == ""
    with pytest.raises(ApplicationError) as exc:
        tasks.task_create(actor=far_officer, entity=None, division_code="441900003001", title="无照经营核查", source="clue")
    assert exc.value.status == 404
