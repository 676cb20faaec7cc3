from types import SimpleNamespace

import pytest

from tests.coordination.conftest import make_department, make_department_user
from tests.factories import make_bureau, make_user

VILLAGE = "441900003001"   # 东莞 莞城街道 …
TOWN = "441900003"


@pytest.fixture
def city(db):
    """The city bureau: it numbers the clues of every division in 4419."""
    return make_bureau("4419", name="东莞市市场监督管理局", division_code="441900000000")


@pytest.fixture
def people(city):
    p = SimpleNamespace(
        grid_officer=make_user("grid_officer", bureau=city),
        town_office=make_user("dispatcher", bureau=make_bureau(TOWN, division_code=TOWN)),
        officer=make_user("enforcement_officer", bureau=city, enforcement_cert_no="44190010009"),
        head=make_user("leader", bureau=city),
        complaint_handler=make_user("complaint_handler", bureau=city),
        outsider=make_user("grid_officer", jurisdiction="3701"),
        health=make_department("wjj", "市卫生健康局"),
        jinan=make_department("jn-wjj", "济南市卫健委", jurisdiction="3701", division_code="370100000000"),
    )
    p.health_staff = make_department_user(p.health)
    return p
