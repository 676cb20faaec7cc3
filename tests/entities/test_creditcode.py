import pytest
from hypothesis import given, strategies as st

from zhijian.entities import creditcode
from zhijian.entities.choices import EntityType

REAL_VALID = ["91440300752502580L", "913301850888583345"]  # codes of real registrations (check digit right)


@pytest.mark.parametrize("code", REAL_VALID)
def test_real_codes_pass(code):
    assert creditcode.check(code).code == code


def test_type_from_second_character():
    assert creditcode.entity_type_of("91440300752502580L") == EntityType.ENTERPRISE
    assert creditcode.entity_type_of("92440300752502580L") == EntityType.INDIVIDUAL
    assert creditcode.entity_type_of("93440300752502580L") == EntityType.COOPERATIVE
    assert creditcode.entity_type_of("12440300752502580L") == EntityType.OTHER


@pytest.mark.parametrize("raw, message", [
    ("", "为空"),
    ("9144030075250258", "应为18位"),
    ("91440300752502580X", "校验位错误：应为 L"),
    ("9144030075250258OL", "非法字符"),
])
def test_bad_codes_say_why(raw, message):
    with pytest.raises(creditcode.CreditCodeError, match=message):
        creditcode.check(raw)


def test_pilot_code_on_exception_list_is_accepted_with_warning():
    pilot = "91350100M0001TGQXM"
    with pytest.raises(creditcode.CreditCodeError):
        creditcode.check(pilot)
    checked = creditcode.check(pilot, {pilot})
    assert checked.code == pilot and "例外" in checked.warning


def test_normalises_case_spaces_and_fullwidth_space():
    assert creditcode.check(" 91440300752502580l\u3000").code == "91440300752502580L"


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_codes_always_validate(seed):
    import random

    code = creditcode.generate(random.Random(seed), "370102", "2")
    assert creditcode.check(code).entity_type == EntityType.INDIVIDUAL


@given(st.integers(min_value=0, max_value=16), st.sampled_from(creditcode.ALPHABET))
def test_any_single_substitution_is_caught(pos, ch):
    code = "91440300752502580L"
    if code[pos] == ch:
        return
    with pytest.raises(creditcode.CreditCodeError):
        creditcode.check(code[:pos] + ch + code[pos + 1:])


@given(st.text(alphabet=creditcode.ALPHABET, min_size=17, max_size=17))
def test_check_character_agrees_with_python_stdnum(first17):
    from stdnum.cn import uscc

    assert creditcode.check_char(first17) == uscc.calc_check_digit(first17)
