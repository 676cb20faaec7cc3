"""S1: law texts, the checklist load (idempotent), versions, the checklist browser."""
from pathlib import Path

import pytest
from django.conf import settings

from zhijian.inspections import lawtext

LAWS = Path(settings.BASE_DIR) / "data" / "laws"


@pytest.mark.parametrize("name, count", [("食品安全法", 154), ("行政处罚法", 86), ("药品管理法", 155), ("消费者权益保护法", 63), ("广告法", 74)])
def test_article_counts_match_the_official_texts(name, count):
    (path,) = LAWS.glob(f"{name}(*).md")
    law = lawtext.parse_law(path)
    assert len(law.articles) == count
    assert [a.number for a in law.articles] == list(range(1, count + 1))


def test_articles_keep_their_paragraphs_and_chapter():
    (path,) = LAWS.glob("行政处罚法(*).md")
    art = lawtext.parse_law(path).articles[4]
    assert art.label == "第五条" and art.chapter == "第一章 总则"
    assert art.text.count("\n") == 2 and art.text.endswith("不得作为行政处罚的依据。")


@pytest.mark.parametrize("text, n", [("一", 1), ("十", 10), ("十三", 13), ("二十", 20), ("一百零二", 102), ("一百一十二", 112), ("一百五十四", 154)])
def test_chinese_numerals(text, n):
    assert lawtext.cn_to_int(text) == n and lawtext.int_to_cn(n) == text


def test_citations():
    assert lawtext.parse_citations("《中华人民共和国食品安全法》第五十三条、第五十四条；《化妆品监督管理条例》") == [("食品安全法", 53), ("食品安全法", 54)]


@pytest.mark.django_db
def test_load_is_idempotent_and_matches_the_readme(checklists):
    from django.core.management import call_command

    from zhijian.inspections.models import CheckItem, Law, LawArticle

    before = (Law.objects.count(), LawArticle.objects.count(), CheckItem.objects.count())
    call_command("load_checklists")
    assert (Law.objects.count(), LawArticle.objects.count(), CheckItem.objects.count()) == before
    assert before[0] == 26 and before[2] == 374
    counts = {line: (CheckItem.objects.filter(business_line__code=line).count(),
                     CheckItem.objects.filter(business_line__code=line, key_item=True).count())
              for line in ("food_sales", "catering", "drugs", "medical_device_users")}
    assert counts == {"food_sales": (54, 12), "catering": (30, 7), "drugs": (111, 23), "medical_device_users": (12, 4)}
    item = CheckItem.objects.get(business_line__code="food_sales", number="1.2")
    assert [str(a) for a in item.articles.all()] == ["食品安全法第三十五条"]
    assert "许可制度" in item.articles.get().text


@pytest.mark.django_db
def test_publish_copies_into_a_new_version_and_old_inspections_keep_theirs(checklists, team):
    from zhijian.inspections.models import CheckItem, ChecklistVersion
    from zhijian.inspections.services import checklist_publish, current_version

    v1 = ChecklistVersion.objects.get(number=1)
    v2 = checklist_publish(actor=team[0], based_on=v1, changes={
        "lines": [{"code": "special_equipment", "name": "特种设备"}],
        "add": [{"business_line": "special_equipment", "section": "1. 使用登记", "number": "1.1", "key_item": True,
                 "text": "电梯是否办理使用登记并在显著位置张贴使用标志。", "basis": "《中华人民共和国特种设备安全法》第三十三条"}],
        "update": {"food_sales//1.1": {"text": "营业执照是否合法有效并亮照经营。"}},
        "remove": ["food_sales//1.2"],
    })
    assert v2.number == 2 and v2.published and current_version() == v2
    assert v1.items.count() == 374 and v2.items.count() == 374
    assert v1.items.get(business_line__code="food_sales", number="1.1").text.startswith("经营者持有的营业执照")
    assert v2.items.get(business_line__code="food_sales", number="1.1").text == "营业执照是否合法有效并亮照经营。"
    assert not v2.items.filter(business_line__code="food_sales", number="1.2").exists()
    new = v2.items.get(business_line__code="special_equipment")
    assert [a.label for a in new.articles.all()] == ["第三十三条"]
    copied = v2.items.get(business_line__code="food_sales", number="1.3")
    assert copied.articles.count() == CheckItem.objects.get(version=v1, business_line__code="food_sales", number="1.3").articles.count() > 0


@pytest.mark.django_db
def test_publish_refuses_unknown_items(checklists, team):
    from zhijian.core.errors import ApplicationError
    from zhijian.inspections.models import ChecklistVersion
    from zhijian.inspections.services import checklist_publish

    with pytest.raises(ApplicationError, match="清单中没有这些事项"):
        checklist_publish(actor=team[0], based_on=ChecklistVersion.objects.get(number=1), changes={"remove": ["food_sales//99.9"]})
    assert ChecklistVersion.objects.count() == 1


@pytest.mark.django_db
def test_checklist_browser_puts_key_items_first_and_links_the_law(checklists, client, team):
    client.force_login(team[0])
    assert "食品销售" in client.get("/inspections/checklists/").content.decode()
    html = client.get("/inspections/checklists/food_sales/").content.decode()
    first_key = html.index("重点项</span>")
    assert html.find("经营者持有的营业执照是否合法有效") > first_key  # 1.1 is not a key item: after the key ones
    assert "食品安全法第三十五条" in html
    from zhijian.inspections.models import Law

    law = Law.objects.get(name="食品安全法")
    page = client.get(f"/inspections/laws/{law.pk}/").content.decode()
    assert 'id="art-35"' in page and "国家对食品生产经营实行许可制度" in page
