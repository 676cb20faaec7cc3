"""Placement writes belong to the registry: when geo changes a grid, every entity the change moves
gets an EntityChange (网格落位), each batch of moves a trace entry and an ``entity.placed`` event —
geo itself neither imports nor writes entities."""
import pytest

from tests.factories import make_entity
from tests.geo.conftest import dongguan, square  # noqa: F401  (fixture)
from zhijian.core.dispatch import Dispatcher
from zhijian.core import events
from zhijian.core.models import Event, TraceEntry
from zhijian.entities import placing
from zhijian.entities.choices import ChangeKind
from zhijian.entities.models import EntityChange
from zhijian.geo import placement, services
from zhijian.geo.models import Grid

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_placement_index():
    placement.invalidate()
    yield
    placement.invalidate()


@pytest.fixture
def towns(dongguan):  # noqa: F811
    t1 = services.grid_create(actor=None, code="T1", name="东城网格", level=1, division_code="441900003", geometry=square(113.70, 23.00, 113.80, 23.10))
    v1 = services.grid_create(actor=None, code="V1", name="东城甲网格", level=2, division_code="441900003001",
                              geometry=square(113.70, 23.00, 113.75, 23.05), parent=t1)
    return t1, v1


def placed_changes(entity):
    return list(EntityChange.objects.filter(entity=entity, kind=ChangeKind.PLACED).order_by("id"))


def test_a_grid_change_records_each_move(towns):
    t1, v1 = towns
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    assert e.grid_id == v1.pk and placed_changes(e) == []
    version = e.version
    services.grid_update(actor=None, grid=v1, geometry=square(113.76, 23.06, 113.79, 23.09))
    e.refresh_from_db()
    assert e.grid_id == t1.pk and e.version == version + 1
    [change] = placed_changes(e)
    assert change.changed == {"grid_id": [v1.pk, t1.pk]} and "V1" in change.note
    event = Event.objects.filter(type=placing.PLACED_EVENT).latest("id")
    assert event.payload["moves"] == [[e.credit_code, v1.pk, t1.pk]]
    assert event.payload["cause"]["event"] == "grid.updated"
    entry = TraceEntry.objects.filter(action=placing.PLACED_EVENT).latest("id")
    assert entry.object_type == "entities.marketentity" and entry.after_digest
    # Nothing moves the second time: no new history.
    services.grid_update(actor=None, grid=Grid.objects.get(pk=v1.pk), name="东城甲网格（新）")
    assert len(placed_changes(e)) == 1


def test_deleting_a_grid_records_where_its_entities_came_from(towns):
    t1, v1 = towns
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    services.grid_delete(actor=None, grid=v1)
    e.refresh_from_db()
    assert e.grid_id == t1.pk
    [change] = placed_changes(e)
    assert change.changed == {"grid_id": [v1.pk, t1.pk]}
    assert Grid.objects.get(pk=t1.pk).entity_count == 1


def test_without_inline_reactions_the_dispatcher_places_them_later(towns, settings):
    """EVENT_INLINE off (or an inline failure): the grid write commits alone, the registry catches up."""
    settings.EVENT_INLINE = False
    t1, v1 = towns
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    services.grid_delete(actor=None, grid=v1)
    e.refresh_from_db()
    assert e.grid_id is None  # the database cleared it; nothing placed it yet
    events.load_handlers()
    worker = Dispatcher(batch=50, concurrency=1, timeout=1)
    try:
        worker.drain()
    finally:
        worker.close()
    e.refresh_from_db()
    assert e.grid_id == t1.pk
    [change] = placed_changes(e)
    assert change.changed == {"grid_id": [None, t1.pk]}


def test_imported_grids_place_entities_through_the_registry(dongguan):  # noqa: F811
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    assert e.grid_id is None
    from tests.geo.conftest import collection, feature
    import io

    result = services.import_grids_geojson(io.BytesIO(collection(feature("T1", "东城网格", "441900003", square(113.70, 23.00, 113.80, 23.10)))),
                                           level=1, actor=None)
    e.refresh_from_db()
    assert e.grid_id == result.grids[0].pk
    assert placed_changes(e)[0].changed == {"grid_id": [None, e.grid_id]}
    assert Grid.objects.get(code="T1").entity_count == 1


def test_replace_all_repairs_and_is_idempotent(towns):
    t1, v1 = towns
    e = make_entity("441900003001", lng=113.72, lat=23.02)
    type(e).objects.filter(pk=e.pk).update(grid_id=t1.pk)  # a stale placement
    first = placing.entities_replace_all(actor=None)
    assert first.moved == 1
    e.refresh_from_db()
    assert e.grid_id == v1.pk
    assert placing.entities_replace_all(actor=None).moved == 0
