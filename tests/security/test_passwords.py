"""Password policy: complexity, common passwords (Django's list and Chinese patterns), history of
5, maximum age 90 days; every message in Chinese."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import PASSWORD, make_user
from zhijian.security.models import AccountSecurity, PasswordHistory
from zhijian.security.passwords import password_expired

pytestmark = pytest.mark.django_db


def messages_for(password, user=None):
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return exc.messages
    return []


def test_complexity_rules():
    """≥10 characters, 3 of 4 classes, and not the username."""
    user = make_user(username="zhangwei")
    assert "密码至少需要 10 个字符。" in messages_for("Ab1!xyz", user)
    assert "密码须至少包含大写字母、小写字母、数字、符号中的 3 类。" in messages_for("abcdefghijk1", user)
    assert "密码不能包含用户名。" in messages_for("ZhangWei#2026x", user)
    assert messages_for("Qw7#mountain", user) == []
    assert messages_for("qw7#mountain", user) == []  # lower + digit + symbol is 3 classes


def test_last_five_passwords_cannot_be_reused():
    """Each of the last five passwords is refused; the sixth-last is allowed again."""
    user = make_user(username="liwei")
    passwords = [PASSWORD] + [f"Nn{i}#rotation-{i}" for i in range(1, 6)]
    for p in passwords[1:]:
        validate_password(p, user)
        user.set_password(p)
        user.save()
    assert PasswordHistory.objects.filter(user=user).count() == 5
    for p in passwords[1:]:
        assert "不能使用最近 5 次用过的密码。" in messages_for(p, user), p
    assert messages_for(passwords[0], user) == []


def test_password_older_than_max_age_must_be_changed(client, settings):
    """A 91-day-old password sends the person to the change page before anything else; after the
    change the pages open again."""
    user = make_user(username="wangfang")
    AccountSecurity.objects.filter(user=user).update(password_changed_at=timezone.now() - timedelta(days=91))
    assert password_expired(user)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/password/")
    assert client.get("/api/v1/people/").status_code == 403
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": "Fresh#Passw0rd-91", "new_password2": "Fresh#Passw0rd-91",
    })
    assert response.status_code == 302
    assert not password_expired(user)
    assert client.get("/").status_code == 200
    settings.PASSWORD_MAX_AGE_DAYS = 200
    AccountSecurity.objects.filter(user=user).update(password_changed_at=timezone.now() - timedelta(days=150))
    assert not password_expired(user)


def test_change_page_enforces_history(client):
    user = make_user(username="zhaolei")
    client.force_login(user)
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD,
    })
    assert response.status_code == 200
    assert "不能使用最近 5 次用过的密码。" in response.content.decode()


CJK = re.compile(r"[\u4e00-\u9fff]")
COMMON = "密码过于常见，容易被猜中：常用单词、拼音姓名、键盘序列或“5201314”之类的数字，加上大写字母、数字或符号仍然常见。请换一个更难猜的密码。"


@pytest.mark.parametrize("password", [
    "Password123!", "Admin@12345",  # finding 7: both passed the policy
    "Zhangsan@123", "Liwei_19880101", "Ouyangxiaoming1", "Woaini1314!", "Aa5201314!", "P@ssw0rd2024",
    "Qwerty#2026", "1qaz2wsx!QAZ", "Asdfgh#2026", "Zxcvbn!2026", "Welcome@2026", "Zhijian@2026",
])
def test_common_passwords_are_refused_in_chinese(password):
    user = make_user(username="officer21")
    assert COMMON in messages_for(password, user), password


def test_common_password_refused_on_the_change_page(client):
    user = make_user(username="officer22")
    client.force_login(user)
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": "Password123!", "new_password2": "Password123!",
    })
    assert response.status_code == 200
    assert COMMON in response.content.decode()


@pytest.mark.parametrize("password", ["Lantern#Brook-7x", "qw7#mountain", "Tr0ub4dor&3x!k", "correct-Horse-battery-9"])
def test_strong_passwords_are_accepted(password):
    assert messages_for(password, make_user(username="officer23")) == []


def test_every_password_message_is_chinese():
    """Finding 7: one password message was English (Django's MinimumLengthValidator: its plural
    form is missing from Django's Chinese catalogue)."""
    from django.contrib.auth.password_validation import password_validators_help_texts

    user = make_user(username="wanglei", email="wanglei@example.com")
    seen = set()
    for password in ["short", "Ab1!", "123456789012", "wanglei2026", "Wanglei@example", "Password123!",
                     "abcdefghijkl", "ABCDEFGHIJKL", "aaaaaaaaaaaa", "wanglei@example.com"]:
        seen.update(messages_for(password, user))
    seen.update(password_validators_help_texts())
    assert len(seen) >= 8, seen
    english = [m for m in seen if not CJK.search(m) or re.search(r"[A-Za-z]{4,} [A-Za-z]{2,}", m)]
    assert not english, english


def test_password_messages_have_english_translations():
    from django.utils import translation

    user = make_user(username="zhoujie")
    with translation.override("en"):
        messages = messages_for("short", user) + messages_for("Password123!", user) + messages_for("123456789012", user)
    assert messages and not any(CJK.search(m) for m in messages), messages
