"""The registry list: paged with a trusted total, filters picked by name, kept in the links."""
import pytest

from tests.factories import credit_code, make_entity, make_user
from zhijian.entities import services
from zhijian.entities.models import Industry
from zhijian.geo.models import Division


@pytest.fixture
def places(db):
    for code, name, level, parent in [("44", "广东省", 1, None), ("4419", "东莞市", 2, "44"), ("441900", "东莞市", 3, "4419"),
                                      ("441900003", "东城街道", 4, "441900"), ("441900004", "南城街道", 4, "441900"),
                                      ("441900003001", "主山社区", 5, "441900003")]:
        Division.objects.update_or_create(code=code, defaults={"name": name, "level": level, "parent_id": parent})
    sec, _ = Industry.objects.update_or_create(code="F", defaults={"name": "批发和零售业", "level": 1})
    Industry.objects.update_or_create(code="52", defaults={"name": "零售业", "level": 2, "parent": sec})
    Industry.objects.update_or_create(code="5211", defaults={"name": "百货零售", "level": 4, "parent": None})


@pytest.mark.django_db
def test_pages_with_a_total_from_the_tally_and_filters_kept(client, officer, places):
    for i in range(55):
        make_entity("441900003001" if i % 2 else "441900004001", name=f"东莞市列表测试{i}号有限公司")
    client.force_login(officer)
    page = client.get("/entities/").content.decode()
    assert "共 55 条" in page and "第 1 / 2 页" in page and "?page=2" in page
    second = client.get("/entities/", {"page": 2}).content.decode()
    assert "第 51–55 条" in second
    # Divisions by name: the jurisdiction's parts are offered, a chosen town narrows the list and its total.
    assert "东城街道" in page and "南城街道" in page and "百货零售" in page
    town = client.get("/entities/", {"division": "441900003"}).content.decode()
    assert "共 27 条" in town and "主山社区" in town and "division=441900003" in town
    e = make_entity("441900003001", name="东莞市待注销商行")
    services.entity_set_status(actor=officer, credit_code=e.credit_code, status="cancelled")
    assert "共 1 条" in client.get("/entities/", {"status": "cancelled"}).content.decode()
    assert "共 28 条" in client.get("/entities/", {"division": "441900003"}).content.decode()
    assert "共 28 条" in client.get("/entities/", {"division": "441900003001"}).content.decode()  # a village: counted
    # Industry (not in the tally): counted; by its name in the table.
    retail = client.get("/entities/", {"industry": "52"}).content.decode()
    assert "共 56 条" in retail and "百货零售" in retail and "5211</td>" not in retail


@pytest.mark.django_db
def test_name_search_counts_its_matches_and_is_scoped(client, officer, outsider, places):
    for i in range(3):
        make_entity(name=f"东莞市海跃{i}货运有限公司")
    make_entity(name="东莞市其他商行")
    client.force_login(officer)
    page = client.get("/entities/", {"q": "海跃"}).content.decode()
    assert "共 3 条" in page and "东莞市其他商行" not in page
    code = make_entity(name="东莞市按代码商行", credit_code=credit_code("441900", "2")).credit_code
    assert "共 1 条" in client.get("/entities/", {"q": code}).content.decode()
    client.force_login(outsider)
    assert "共 0 条" in client.get("/entities/", {"q": "海跃"}).content.decode()
    assert "共 0 条" in client.get("/entities/").content.decode()


@pytest.mark.django_db
def test_export_button_posts_and_get_goes_back_to_the_list(client, officer, places):
    client.force_login(officer)
    page = client.get("/entities/", {"status": "active"}).content.decode()
    assert 'id="entity-export"' in page and 'method="post"' in page
    back = client.get("/entities/export.xlsx", {"status": "active"})
    assert back.status_code == 302 and back.url == "/entities/?status=active"
    assert make_user  # the factory module stays imported for the fixtures
