"""The API's one paging: ``?page=`` (from 1) and ``?page_size=`` (1–500, default 50).

A value that cannot be satisfied is refused with 400 and the API's error shape, never a 500 and
never silently replaced by the default: ``page=abc``, ``page=0``, ``page=-1``, ``page_size=abc``,
``page_size=0`` and ``page_size=501`` all answer 400 naming the parameter. A well-formed page past
the last answers 404 (DRF's rule, documented in every list operation of the schema). Views that
page by hand (the registry's name search) read the same two parameters through
:func:`page_params`, so one request means the same everywhere.
"""
from __future__ import annotations

import re

from django.core.paginator import InvalidPage
from django.utils.translation import gettext as _, gettext_lazy
from rest_framework import pagination
from rest_framework.exceptions import NotFound

from .errors import ApplicationError

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_DIGITS = re.compile(r"[0-9]+")
# More digits than any page number can have (int() of a long string is slow and, past 4,300 digits, refused).
_MAX_DIGITS = 18


def _bad_page(value: str) -> ApplicationError:
    return ApplicationError(_("页码“%(value)s”无效：必须是从 1 开始的整数") % {"value": value[:40]}, code="bad_page",
                            extra={"page": [_("必须是从 1 开始的整数")]})


def _bad_page_size(value: str) -> ApplicationError:
    return ApplicationError(_("每页条数“%(value)s”无效：必须是 1 到 %(max)s 之间的整数") % {"value": value[:40], "max": MAX_PAGE_SIZE},
                            code="bad_page_size", extra={"page_size": [_("必须是 1 到 %(max)s 之间的整数") % {"max": MAX_PAGE_SIZE}]})


def _past_the_end() -> NotFound:
    return NotFound(_("页码超出范围：该页没有记录"))


def page_number(request) -> int:
    """``?page=`` as a number from 1 (absent or empty: 1); anything else that is not one is a 400."""
    raw = request.query_params.get("page", "")
    if raw == "":
        return 1
    if not _DIGITS.fullmatch(raw):
        raise _bad_page(raw)
    if len(raw.lstrip("0")) > _MAX_DIGITS:
        raise _past_the_end()
    number = int(raw)
    if number < 1:
        raise _bad_page(raw)
    return number


def page_size(request, default: int = PAGE_SIZE) -> int:
    """``?page_size=`` within 1–500 (absent or empty: ``default``); anything else is a 400."""
    raw = request.query_params.get("page_size", "")
    if raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or len(raw.lstrip("0")) > 4 or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise _bad_page_size(raw)
    return int(raw)


def page_params(request, default: int = PAGE_SIZE) -> tuple[int, int]:
    """``(page, page_size)`` of the request, checked as every list checks them."""
    return page_number(request), page_size(request, default)


class Pagination(pagination.PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()  # the schema says the page is an integer; "last" would be a hidden exception
    page_query_description = gettext_lazy("页码，从 1 开始；超出末页时答 404")
    page_size_query_description = gettext_lazy("每页条数，1–500，默认 50")

    def get_page_size(self, request):
        return page_size(request, self.page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        number, size = page_params(request, self.page_size)
        paginator = self.django_paginator_class(queryset, size)
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise _past_the_end() from None
        self.display_page_controls = paginator.num_pages > 1 and self.template is not None  # the browsable API's pager
        return list(self.page)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
        return parameters
