"""Start-up check: the role codes the layers below org hold as data are roles org knows."""
from __future__ import annotations

from django.conf import settings
from django.core import checks

from zhijian.security.roles import ADMIN_ROLES

from .choices import RoleCode


@checks.register(checks.Tags.security)
def role_codes_known(app_configs=None, **kwargs):
    """``security.roles.ADMIN_ROLES`` and ``settings.PERSONAL_DATA_ROLES`` name roles of ``RoleCode``."""
    errors = []
    for source, codes in (("zhijian.security.roles.ADMIN_ROLES", ADMIN_ROLES),
                          ("settings.PERSONAL_DATA_ROLES", settings.PERSONAL_DATA_ROLES)):
        unknown = sorted(set(codes) - set(RoleCode.values))
        if unknown:
            errors.append(checks.Error(f"{source} names unknown role codes: {', '.join(unknown)}", id="org.E001"))
    return errors
