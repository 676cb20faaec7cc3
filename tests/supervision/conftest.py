import pytest

from tests.factories import make_bureau, make_entity, make_user
from zhijian.org.choices import BureauLevel
from zhijian.supervision import requirements, tasks
from zhijian.supervision.models import Task

# 东莞: the city bureau (4419) and the 莞城 station (441900003); 南城 (441900004) is another station.
CITY = "4419"
STATION_AREA = "441900003"
OTHER_AREA = "441900004"


@pytest.fixture
def city(db):
    return make_bureau(CITY, name="东莞市市场监督管理局", division_code="441900000000")


@pytest.fixture
def station(city):
    b = make_bureau(STATION_AREA, level=BureauLevel.STATION, name="莞城市场监管所", division_code="441900003000")
    b.parent = city
    b.save()
    return b


@pytest.fixture
def other_station(city):
    return make_bureau(OTHER_AREA, level=BureauLevel.STATION, name="南城市场监管所", division_code="441900004000")


@pytest.fixture
def dispatcher(city):
    return make_user("dispatcher", bureau=city)


@pytest.fixture
def leader(station):
    return make_user("leader", bureau=station)


@pytest.fixture
def reviewer(station):
    return make_user("legal_reviewer", bureau=station)


@pytest.fixture
def officer_a(station):
    return make_user("enforcement_officer", bureau=station, enforcement_cert_no="44190000001")


@pytest.fixture
def officer_b(station):
    return make_user("enforcement_officer", bureau=station, enforcement_cert_no="44190000002")


@pytest.fixture
def far_officer(other_station):
    return make_user("enforcement_officer", bureau=other_station, enforcement_cert_no="44190000003")


@pytest.fixture
def entity(db):
    return make_entity("441900003001", industry_code="5211")


@pytest.fixture
def clean_requirements():
    """Tests register their own requirements; leave the registry as it was."""
    saved = dict(requirements._registry)
    requirements._registry.clear()
    yield requirements
    requirements._registry.clear()
    requirements._registry.update(saved)


@pytest.fixture(autouse=True)
def _calendar(db):
    """The statutory holiday table as shipped (data/holidays), with a fresh per-process cache."""
    from zhijian.deadlines.services import load_holidays
    from zhijian.deadlines.workdays import invalidate_cache

    invalidate_cache()
    load_holidays()
    yield
    invalidate_cache()


@pytest.fixture
def make_task(dispatcher, entity):
    """A task on ``entity`` put straight into ``state`` with the given unit/assignee (for guard tests)."""
    def build(state="registered", *, bureau=None, assignee=None, entity_=None, **fields):
        task = tasks.task_create(actor=dispatcher, entity=entity_ or entity, title="食品销售日常检查", source="manual", **fields)
        Task.objects.filter(pk=task.pk).update(state=state, bureau=bureau, assignee=assignee)
        task.refresh_from_db()
        return task

    return build
