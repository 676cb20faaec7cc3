"""The rule engine: industry prefixes through a dict, keywords as jieba words or verbatim phrases."""
from types import SimpleNamespace

from zhijian.coordination import engine


def _index(*specs):
    index = engine.Index(revision=0)
    for i, (industries, keywords, licences) in enumerate(specs, start=1):
        rule = engine.CompiledRule(i, 1, f"r{i}", i, f"m{i}", "", None, ((i, ("4419",)),))
        index.add(rule, industries, keywords, licences)
    return index


def _ids(matches):
    return [m.rule.id for m in matches]


def test_industry_prefixes_and_sections():
    """A prefix matches every code below it; a lone section letter stands for its divisions; H62 is 62."""
    index = _index((["52"], [], []), (["5225"], [], []), (["H"], [], []), (["H62"], [], []))
    assert _ids(index.match(industry_code="5225")) == [1, 2]
    assert _ids(index.match(industry_code="5211")) == [1]
    assert _ids(index.match(industry_code="6210")) == [3, 4]
    assert _ids(index.match(industry_code="6110")) == [3]
    assert _ids(index.match(industry_code="7291")) == []
    assert engine.industry_keys("Z") == [] and engine.industry_keys("H") == ["61", "62"]


def test_word_keywords_match_segmented_words_only():
    """食品 is one jieba word: it matches 预包装食品 (segmented out) but 药品 does not match 农药品种."""
    index = _index(([], ["食品"], []), ([], ["药品"], []), ([], ["医疗器械"], []))
    assert _ids(index.match(business_scope="预包装食品、日用百货销售")) == [1]
    assert _ids(index.match(business_scope="第二类医疗器械生产")) == [3]
    assert _ids(index.match(business_scope="农药品种研发")) == []
    m = index.match(business_scope="药品零售；医疗器械经营")
    assert _ids(m) == [2, 3] and m[0].reasons == ["关键词 药品"]


def test_phrase_keywords_match_verbatim_and_exclusions_are_dropped():
    """餐饮服务 is cut into two words by jieba, so it is a phrase; 不含… clauses never match."""
    assert engine.is_phrase("餐饮服务") and not engine.is_phrase("卷烟")
    index = _index(([], ["餐饮服务"], []), ([], ["危险化学品"], []))
    assert _ids(index.match(business_scope="住宿服务；餐饮服务")) == [1]
    assert _ids(index.match(business_scope="餐饮管理服务")) == []
    assert _ids(index.match(business_scope="普通货运；仓储服务（不含危险化学品）")) == []
    assert _ids(index.match(business_scope="危险化学品经营")) == [2]


def test_licence_types_and_any_criterion_matches():
    index = _index((["62"], ["卷烟"], ["食品经营许可证"]))
    assert index.match(industry_code="0141", licence_types=["食品经营许可证"])[0].reasons == ["许可 食品经营许可证"]
    both = index.match(industry_code="6210", business_scope="卷烟零售")
    assert both[0].reasons == ["行业 62", "关键词 卷烟"]


def test_departments_by_jurisdiction():
    rule = SimpleNamespace(departments=((1, ("4419",)), (2, ("3701",)), (3, ("441900003",))))
    assert engine.departments_for(rule, "441900003001") == [1, 3]
    assert engine.departments_for(rule, "370102001001") == [2]
