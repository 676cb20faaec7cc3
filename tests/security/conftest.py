import pytest
from django.test import Client

from tests.factories import PASSWORD, make_user
from zhijian.security import otp


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Hashing cost is not what these tests are about; PBKDF2's million rounds would dominate.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sysadmin(db):
    return make_user("system_admin", username="sysadmin", is_staff=True)


@pytest.fixture
def secadmin(db):
    return make_user("security_admin", username="secadmin", is_staff=True)


@pytest.fixture
def auditadmin(db):
    return make_user("audit_admin", username="auditadmin", is_staff=True)


@pytest.fixture
def login_page():
    """Sign in through the real login page (password step only); returns the response."""

    def post(client: Client, username: str, password: str = PASSWORD, **extra):
        return client.post("/accounts/login/", {"username": username, "password": password}, **extra)

    return post


@pytest.fixture
def full_login(login_page):
    """Password then TOTP through the real pages; the user gets a device if needed."""

    def go(client: Client, user):
        otp.ensure_device(user)
        response = login_page(client, user.username)
        assert response.status_code == 302, response.content.decode()[:500]
        response = client.post("/accounts/otp/", {"token": otp.next_code(user)})
        assert response.status_code == 302
        return client

    return go
