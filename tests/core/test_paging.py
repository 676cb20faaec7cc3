"""The shared pager: exact totals up to the cap, the caller's tally beyond it, honest "more than"."""
import pytest
from django.test import RequestFactory

from zhijian.core.paging import capped_count, paged
from zhijian.geo.models import Division

pytestmark = pytest.mark.django_db


@pytest.fixture
def divisions():
    Division.objects.bulk_create([Division(code=f"9901{i:02d}", name=f"测试区{i}", level=3) for i in range(23)])
    return Division.objects.filter(code__startswith="9901").order_by("code")


def _req(query=""):
    return RequestFactory().get("/x/" + query)


def test_exact_total_and_pages(divisions):
    page = paged(_req("?page=3&status=open"), divisions, per_page=10)
    assert (page.total, page.exact, page.num_pages, page.number) == (23, True, 3, 3)
    assert [d.code for d in page.rows] == ["990120", "990121", "990122"]
    assert (page.start_index, page.end_index) == (21, 23)
    assert not page.has_next and page.has_previous
    # Filters survive in the links; the page number is replaced.
    assert page.previous_url == "?status=open&page=2"


def test_page_past_the_end_and_garbage_clamp(divisions):
    assert paged(_req("?page=99"), divisions, per_page=10).number == 3
    assert paged(_req("?page=abc"), divisions, per_page=10).number == 1
    assert paged(_req("?per_page=-5"), divisions, per_page=10).per_page == 1


def test_over_the_cap_asks_the_tally_or_says_more_than(divisions):
    page = paged(_req(), divisions, per_page=5, cap=10, total=lambda: 23)
    assert (page.total, page.exact, page.num_pages) == (23, True, 5)
    page = paged(_req(), divisions, per_page=5, cap=10)
    assert (page.total, page.exact) == (10, False)
    assert page.has_next
    assert capped_count(divisions, 10) == 11


def test_pager_template_renders_chinese(divisions):
    from django.template.loader import render_to_string

    html = render_to_string("_pager.html", {"page": paged(_req(), divisions, per_page=10)})
    assert "共 23 条" in html and "下一页" in html
