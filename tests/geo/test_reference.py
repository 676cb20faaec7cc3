"""load_reference: idempotent upserts of divisions and industries, limited by --province."""
import io

import pytest
from django.core.management import CommandError, call_command

from zhijian.entities.models import Industry
from zhijian.geo.models import Division


def run(*args) -> str:
    out = io.StringIO()
    call_command("load_reference", *args, stdout=out, verbosity=0)
    return out.getvalue()


@pytest.mark.django_db
def test_divisions_load_once_then_change_nothing():
    """Ningxia (64) only: levels 1–4 of 2023 plus 2021 villages; a second run writes nothing,
    and a row edited by hand is restored (an upsert, not a skip)."""
    first = run("--only", "divisions", "--province", "64")
    total = Division.objects.count()
    assert total > 3000
    assert not Division.objects.exclude(code__startswith="64").exists()
    assert "新增 %d" % total in first
    levels = dict((lv, Division.objects.filter(level=lv).count()) for lv in range(1, 6))
    assert levels[1] == 1 and levels[2] == 5 and levels[5] > 2500
    # Codes keep their published length per level.
    for lv, n in {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}.items():
        assert not Division.objects.filter(level=lv).exclude(code__regex=rf"^\d{{{n}}}$").exists()

    second = run("--only", "divisions", "--province", "64")
    assert "新增 0，更新 0，未变 %d" % total in second
    assert Division.objects.count() == total

    Division.objects.filter(code="64").update(name="改过的名字")
    third = run("--only", "divisions", "--province", "64")
    assert "新增 0，更新 1" in third
    assert Division.objects.get(code="64").name == "宁夏回族自治区"


@pytest.mark.django_db
def test_villages_whose_2021_town_is_gone_attach_to_nearest_ancestor():
    """Every village has an existing parent; those whose township vanished by 2023 hang from the
    nearest ancestor by code prefix and are counted."""
    out = run("--only", "divisions", "--province", "64")
    assert "挂接到最近上级 3" in out
    codes = set(Division.objects.values_list("code", flat=True))
    villages = list(Division.objects.filter(level=5).values_list("code", "parent_id"))
    assert all(parent in codes and code.startswith(parent) for code, parent in villages)
    reattached = [(c, p) for c, p in villages if len(p) != 9]
    assert len(reattached) == 3


@pytest.mark.django_db
def test_industries_idempotent():
    run("--only", "industries")
    assert Industry.objects.count() == 1971
    assert Industry.objects.get(code="6511").parent_id == "651"
    assert Industry.objects.get(code="A").parent_id is None
    assert "新增 0，更新 0，未变 1971" in run("--only", "industries")
    assert Industry.objects.count() == 1971


@pytest.mark.django_db
def test_bad_province_is_refused():
    with pytest.raises(CommandError, match="两位数字"):
        run("--province", "4419")
    with pytest.raises(CommandError, match="没有找到"):
        run("--only", "divisions", "--province", "99")
    assert not Division.objects.exists()
