"""Pickers by name: the division search is scoped and shows paths; the forms take the picker's
value (a code submitted by the widget, never typed) and refuse a division outside the jurisdiction."""
import pytest

from tests.factories import make_bureau, make_user
from zhijian.geo.models import Division
from zhijian.geo.widgets import DivisionField, DivisionPicker


@pytest.fixture
def jinan(db):
    for code, name, level, parent in [("37", "山东省", 1, None), ("3701", "济南市", 2, "37"), ("370102", "历下区", 3, "3701"),
                                      ("370102001", "泉城路街道", 4, "370102"), ("370102002", "解放路街道", 4, "370102"),
                                      ("370102001001", "芙蓉街社区", 5, "370102001"), ("370112", "历城区", 3, "3701"),
                                      ("370112001", "山大路街道", 4, "370112")]:
        Division.objects.create(code=code, name=name, level=level, parent_id=parent)
    lixia = make_user("enforcement_officer", "registry_clerk", bureau=make_bureau("370102", name="历下区市场监管局"))
    city = make_user("leader", bureau=make_bureau("3701", name="济南市市场监管局"))
    return lixia, city


def test_search_by_name_is_scoped_and_shows_the_path(jinan, client):
    lixia, city = jinan
    client.force_login(lixia)
    found = client.get("/geo/divisions/search/", {"q": "街道"}).json()["results"]
    assert [(r["code"], r["path"]) for r in found] == [("370102001", "济南市 › 历下区 › 泉城路街道"),
                                                       ("370102002", "济南市 › 历下区 › 解放路街道")]
    assert found[0]["level_display"] == "乡镇街道"
    assert client.get("/geo/divisions/search/", {"q": "山大路"}).json()["results"] == []  # 历城区: not theirs
    assert client.get("/geo/divisions/search/", {"q": "3701120"}).json()["results"] == []
    assert [r["name"] for r in client.get("/geo/divisions/search/", {"q": ""}).json()["results"]] == ["历下区"]
    client.force_login(city)
    assert {r["name"] for r in client.get("/geo/divisions/search/", {"q": "街道"}).json()["results"]} == {"泉城路街道", "解放路街道", "山大路街道"}
    assert client.get("/geo/divisions/search/", {"q": "街道", "max_level": "3"}).json()["results"] == []


def test_widget_works_without_javascript_and_the_field_checks_the_scope(jinan):
    from django import forms

    lixia, _city = jinan

    class F(forms.Form):
        division = DivisionField(label="区划", max_level=4)

    form = F(data={"division": "370102001"})
    form.fields["division"].set_user(lixia, "370102001")
    html = str(form["division"])
    assert 'data-picker="division"' in html and 'data-search-url="/geo/divisions/search/?max_level=4"' in html
    assert '<option value="370102001" selected>济南市 › 历下区 › 泉城路街道</option>' in html  # the plain select
    assert 'data-path="济南市 › 历下区 › 泉城路街道"' in html
    assert form.is_valid() and form.cleaned_data["division"] == "370102001"
    outside = F(data={"division": "370112001"})
    outside.fields["division"].set_user(lixia)
    assert not outside.is_valid() and "请从列表中选择本辖区内的区划" in str(outside.errors)
    assert isinstance(F().fields["division"].widget, DivisionPicker)


def test_clue_form_takes_the_picked_division(jinan, client):
    from zhijian.coordination.forms import ClueForm

    lixia, _city = jinan
    form = ClueForm(data={"text": "芙蓉街有无照经营", "division_code": "370102001001"}, user=lixia)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["division_code"] == "370102001001"
    assert not ClueForm(data={"text": "山大路有无照经营", "division_code": "370112001"}, user=lixia).is_valid()
    assert 'data-picker="division"' in str(ClueForm(user=lixia)["division_code"])


def test_matter_form_picks_departments_by_name(jinan):
    from zhijian.coordination.forms import MatterForm
    from zhijian.org.models import Department

    dept = Department.objects.create(name="济南市卫生健康委员会", code="health-3701", division_code="3701", jurisdiction="3701")
    form = MatterForm(departments=Department.objects.all())
    html = str(form["departments"])
    assert 'data-picker="names"' in html and 'type="checkbox"' in html and "济南市卫生健康委员会" in html
    assert "<select" not in html  # no Ctrl-click multi-select
    bound = MatterForm(data={"code": "food_sales", "name": "食品销售", "principle": MatterForm.base_fields["principle"].choices[0][0],
                             "departments": [dept.pk], "active": "on"}, departments=Department.objects.all())
    assert bound.is_valid(), bound.errors
    assert list(bound.cleaned_data["departments"]) == [dept]


def test_entity_list_filter_uses_the_division_picker(jinan, client):
    lixia, _city = jinan
    client.force_login(lixia)
    page = client.get("/entities/", {"division": "370102001"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-picker="division"' in html and "geo/picker.js" in html


def test_grid_list_and_rule_replay_pick_the_range_by_name(jinan, client):
    lixia, city = jinan
    client.force_login(lixia)
    html = client.get("/geo/grids/", {"division": "370102001"}).content.decode()
    assert 'data-picker="division"' in html and "区划代码前缀" not in html and "泉城路街道" in html
    client.force_login(city)
    html = client.get("/coordination/rules/replay/").content.decode()
    assert 'data-picker="division"' in html and 'name="division_prefix"' in html and "区划代码前缀" not in html
    # A range outside the jurisdiction is refused with the picker's message, nothing is replayed.
    page = client.post("/coordination/rules/replay/", {"division_prefix": "4419", "run": "0"}, follow=True).content.decode()
    assert "请从列表中选择本辖区内的区划" in page and "预演结果" not in page
    page = client.post("/coordination/rules/replay/", {"division_prefix": "370112", "run": "0"}, follow=True).content.decode()
    assert "请从列表中选择本辖区内的区划" not in page  # in scope: the range passes to the replay
