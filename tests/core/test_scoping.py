"""The division a record about several entities is filed under (pure function, no database)."""
from zhijian.core.scoping import common_division, scope_q


def test_common_division_is_the_shared_prefix():
    assert common_division(["370102001", "370102003", "370102001001"]) == "370102"
    assert common_division(["370102001", "370102003"]) == "370102"  # not the shared "37010200"
    assert common_division(["370102001", "370203001"]) == "37"
    assert common_division(["370102", "370102001"]) == "370102"
    assert common_division(["370102001"]) == "370102001"
    assert common_division(["370102", "440103"]) == ""
    assert common_division([]) == ""
    assert common_division([None, "3701"]) == "3701"


def test_scope_q_collapses_covered_prefixes():
    q = scope_q("division_code", ("3701", "370102", "4401"))
    assert sorted(child[1] for child in q.children) == ["3701", "4401"]
    assert scope_q("division_code", ("",)).children == []
