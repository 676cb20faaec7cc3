import pytest

from tests.factories import credit_code, make_entity, make_user
from zhijian.core.errors import ApplicationError
from zhijian.entities import services
from zhijian.entities.models import EntityChange, MarketEntity


@pytest.mark.django_db
def test_create_derives_type_and_records_history(officer):
    e = services.entity_create(actor=officer, credit_code=credit_code("441900", "2"), name="  东莞市南城区阿强烧腊店 ",
                               division_code="441900003001", address="南城街道1号")
    assert e.entity_type == "individual" and e.name == "东莞市南城区阿强烧腊店"
    assert e.changes.get().kind == "created"


@pytest.mark.django_db
def test_create_refuses_bad_and_duplicate_codes(officer):
    with pytest.raises(ApplicationError, match="校验位错误"):
        services.entity_create(actor=officer, credit_code="91440300752502580X", name="甲", division_code="4419")
    code = credit_code("441900")
    services.entity_create(actor=officer, credit_code=code, name="甲", division_code="441900003")
    with pytest.raises(ApplicationError, match="已存在"):
        services.entity_create(actor=officer, credit_code=code.lower(), name="乙", division_code="441900003")
    assert MarketEntity.objects.count() == 1


@pytest.mark.django_db
def test_create_outside_jurisdiction_is_refused(officer):
    with pytest.raises(ApplicationError, match="辖区"):
        services.entity_create(actor=officer, credit_code=credit_code("370102"), name="济南店", division_code="370102001")


@pytest.mark.django_db
def test_role_without_registry_rights_cannot_write():
    viewer = make_user("complaint_handler", jurisdiction="4419")
    with pytest.raises(ApplicationError, match="权限"):
        services.entity_create(actor=viewer, credit_code=credit_code("441900"), name="甲", division_code="441900003")


@pytest.mark.django_db
def test_update_diff_version_and_stale_write(officer):
    e = make_entity()
    e2 = services.entity_update(actor=officer, credit_code=e.credit_code, name="新名称有限公司", expected_version=1)
    assert e2.version == 2 and e2.name_grams.startswith("新名")
    ch = EntityChange.objects.filter(entity=e, kind="updated").get()
    assert ch.changed["name"][1] == "新名称有限公司" and ch.actor == officer
    with pytest.raises(ApplicationError, match="已被他人修改"):
        services.entity_update(actor=officer, credit_code=e.credit_code, legal_rep="王五", expected_version=1)
    with pytest.raises(ApplicationError, match="不能在此修改"):
        services.entity_update(actor=officer, credit_code=e.credit_code, status="cancelled")


@pytest.mark.django_db
def test_address_change_and_moving_out_of_jurisdiction(officer):
    e = make_entity("441900003001")
    services.entity_change_address(actor=officer, credit_code=e.credit_code, address="东莞市东城街道新址", division_code="441900004001")
    e.refresh_from_db()
    assert e.division_code == "441900004001" and e.changes.filter(kind="address").exists()
    with pytest.raises(ApplicationError, match="辖区"):
        services.entity_change_address(actor=officer, credit_code=e.credit_code, address="济南", division_code="370102001")


@pytest.mark.django_db
def test_status_state_machine(officer):
    e = make_entity()
    services.entity_set_status(actor=officer, credit_code=e.credit_code, status="revoked")
    with pytest.raises(ApplicationError, match="不能从“吊销”变为“存续（在业）”"):
        services.entity_set_status(actor=officer, credit_code=e.credit_code, status="active")
    services.entity_set_status(actor=officer, credit_code=e.credit_code, status="cancelled")
    with pytest.raises(ApplicationError):
        services.entity_set_status(actor=officer, credit_code=e.credit_code, status="revoked")


@pytest.mark.django_db
def test_outsider_cannot_update(outsider):
    e = make_entity()
    with pytest.raises(ApplicationError, match="不存在或不在您的辖区内"):
        services.entity_update(actor=outsider, credit_code=e.credit_code, legal_rep="X")


@pytest.mark.django_db
def test_grid_counts_follow_creates_moves_and_status(officer):
    from zhijian.geo import placement
    from zhijian.geo.models import Grid

    sq = lambda x0: {"type": "Polygon", "coordinates": [[[x0, 23.0], [x0 + 0.1, 23.0], [x0 + 0.1, 23.1], [x0, 23.1], [x0, 23.0]]]}  # noqa: E731
    a = Grid.objects.create(code="GA", name="甲网格", level=2, division_code="441900003001", geometry=sq(113.7))
    b = Grid.objects.create(code="GB", name="乙网格", level=2, division_code="441900004001", geometry=sq(113.9))
    placement.invalidate()
    e = make_entity("441900003001", lng=113.75, lat=23.05)
    a.refresh_from_db()
    assert e.grid_id == a.pk and a.entity_count == 1
    services.entity_change_address(actor=officer, credit_code=e.credit_code, address="东城", division_code="441900004001", lng=113.95, lat=23.05)
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.entity_count, b.entity_count) == (0, 1)
    services.entity_set_status(actor=officer, credit_code=e.credit_code, status="cancelled")
    b.refresh_from_db()
    assert b.entity_count == 0
