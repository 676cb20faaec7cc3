import pytest

from tests.factories import make_entity, make_user
from zhijian.entities import queries


@pytest.fixture
def market(db):
    names = ["东莞市海跃货运有限公司", "东莞市跃海商贸有限公司", "东莞市南城阿强烧腊店", "东莞市海跃物流有限公司", "广东好又多超市有限公司"]
    return {n: make_entity("441900003001", name=n) for n in names}


@pytest.mark.django_db
def test_part_of_name_finds_exactly_the_names_containing_it(market, officer):
    names = {e.name for e in queries.search(officer, "海跃").entities}
    assert names == {"东莞市海跃货运有限公司", "东莞市海跃物流有限公司"}
    assert [e.name for e in queries.search(officer, "烧腊").entities] == ["东莞市南城阿强烧腊店"]


@pytest.mark.django_db
def test_exact_code(market, officer):
    e = market["广东好又多超市有限公司"]
    assert queries.search(officer, e.credit_code.lower()).entities == [e]


@pytest.mark.django_db
def test_fuzzy_when_nothing_contains_the_query(market, officer):
    r = queries.search(officer, "海跃货物运输")  # not a substring of any name
    assert r.fuzzy and r.entities[0].name == "东莞市海跃货运有限公司"


@pytest.mark.django_db
def test_search_respects_jurisdiction_and_filters(market, officer, outsider):
    assert queries.search(outsider, "海跃").entities == []
    assert queries.search(officer, "海跃", division="370102").entities == []
    assert len(queries.search(officer, "有限公司", status="active").entities) == 4


@pytest.mark.django_db
def test_index_follows_renames(market, officer):
    from zhijian.entities import services

    e = market["东莞市南城阿强烧腊店"]
    services.entity_update(actor=officer, credit_code=e.credit_code, name="东莞市南城阿珍糖水铺")
    assert queries.search(officer, "烧腊").entities == []
    assert queries.search(officer, "糖水").entities[0].pk == e.pk


@pytest.mark.django_db
def test_paging_walks_the_index(officer):
    for i in range(25):
        make_entity("441900003001", name=f"东莞市分页测试{i:02d}商行")
    first = queries.search(officer, "分页测试", limit=10)
    second = queries.search(officer, "分页测试", limit=10, offset=10)
    third = queries.search(officer, "分页测试", limit=10, offset=20)
    assert first.more and second.more and not third.more
    seen = [e.pk for r in (first, second, third) for e in r.entities]
    assert len(seen) == len(set(seen)) == 25
