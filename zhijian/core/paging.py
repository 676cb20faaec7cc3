"""One way to page a list on a page: rows, a total a person can trust, filters kept in the links.

At province scale a plain ``COUNT(*)`` over a scoped, filtered list is the slowest part of a page.
``paged`` counts exactly up to ``cap`` rows (a COUNT over a LIMITed subquery, which stops early);
beyond that it asks the caller's ``total`` function (a maintained tally that answers exactly, e.g.
the registry's per-division tally) and otherwise says "more than cap" instead of guessing.

    page = paged(request, qs.order_by("-id"), per_page=50, total=lambda: tally.count_for(user))
    {% include "_pager.html" with page=page %}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence
from urllib.parse import urlencode

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
DEFAULT_CAP = 100_000


@dataclass
class Page:
    rows: Sequence
    number: int
    per_page: int
    total: int
    exact: bool = True          # False: "more than total" (the cap was reached and no tally answered)
    params: dict = field(default_factory=dict)  # the request's other query parameters, kept in links

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages or (not self.exact and len(self.rows) == self.per_page)

    @property
    def start_index(self) -> int:
        return 0 if not self.rows else (self.number - 1) * self.per_page + 1

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)

    def url_for(self, number: int) -> str:
        return "?" + urlencode({**self.params, "page": number})

    @property
    def previous_url(self) -> str:
        return self.url_for(self.number - 1)

    @property
    def next_url(self) -> str:
        return self.url_for(self.number + 1)

    @property
    def last_url(self) -> str:
        return self.url_for(self.num_pages)


def page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def capped_count(qs, cap: int) -> int:
    """COUNT(*) that stops after ``cap + 1`` rows: ``cap + 1`` means "more than cap"."""
    return qs.order_by()[: cap + 1].count()


def paged(request, qs, *, per_page: int = DEFAULT_PER_PAGE, cap: int = DEFAULT_CAP,
          total: Callable[[], int] | None = None) -> Page:
    """One page of ``qs`` (already ordered) for this request's ``?page=``.

    ``total`` answers the exact total when the capped count overflows (or always, when the caller
    knows it cheaply and exactly, pass ``cap=0``).
    """
    number = page_number(request)
    try:
        per_page = min(MAX_PER_PAGE, max(1, int(request.GET.get("per_page", per_page))))
    except (TypeError, ValueError):
        pass
    params = {k: v for k, v in request.GET.items() if k not in ("page",) and v != ""}
    counted = capped_count(qs, cap) if cap else cap + 1
    exact = True
    if counted > cap:
        if total is not None:
            counted = total()
        else:
            counted, exact = cap, False
    if exact:
        last = max(1, -(-counted // per_page))
        number = min(number, last)
    offset = (number - 1) * per_page
    rows = list(qs[offset: offset + per_page])
    return Page(rows=rows, number=number, per_page=per_page, total=counted, exact=exact, params=params)
