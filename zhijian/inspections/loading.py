"""Loading the shipped reference data: law texts (data/laws/) and the CFDA 2016 checklists
(data/checklists/cfda2016_checkpoints.csv with the legal basis per section in basis.csv).

Both loaders are idempotent: running them again changes nothing. The checklist loader fills
version 1 (published) only when it has no items yet; later versions are made by administrators
through ``services.checklist_publish``, so a reload never rewrites a version inspections use.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import lawtext
from . import lines as line_industries
from .models import BusinessLine, CheckItem, ChecklistVersion, Law, LawArticle

DATA_DIR = Path(settings.BASE_DIR) / "data"
LAWS_DIR = DATA_DIR / "laws"
CHECKLIST_CSV = DATA_DIR / "checklists" / "cfda2016_checkpoints.csv"
BASIS_CSV = DATA_DIR / "checklists" / "basis.csv"

# The business lines of the CFDA 2016 daily-inspection tables, in display order.
BUSINESS_LINES = [
    ("food_sales", "食品销售"),
    ("catering", "餐饮服务"),
    ("food_production", "食品生产"),
    ("health_food", "保健食品经营"),
    ("wine", "酒类经营"),
    ("cosmetics", "化妆品经营"),
    ("drugs", "药品零售与使用"),
    ("medical_devices", "医疗器械经营"),
    ("medical_device_users", "医疗器械使用"),
]
PART_NAMES = {"retail_pharmacy": "药品零售企业", "medical_institution": "医疗机构"}
FIRST_VERSION_DATE = dt.date(2016, 1, 1)


@dataclass
class LoadReport:
    laws_created: int = 0
    articles_created: int = 0
    lines_created: int = 0
    items_created: int = 0
    items_linked: int = 0

    def __str__(self):
        return (f"laws +{self.laws_created} (articles +{self.articles_created}), business lines +{self.lines_created}, "
                f"check items +{self.items_created} ({self.items_linked} linked to articles)")


@transaction.atomic
def load_laws(directory: Path = LAWS_DIR, report: LoadReport | None = None) -> LoadReport:
    report = report or LoadReport()
    for path in sorted(directory.glob("*.md")):
        parsed = lawtext.parse_law(path)
        law, created = Law.objects.get_or_create(
            name=parsed.name, version_date=parsed.version_date,
            defaults={"title": parsed.title, "file_name": parsed.file_name, "article_count": len(parsed.articles)},
        )
        report.laws_created += created
        have = set(law.articles.values_list("number", "suffix"))
        new = [
            LawArticle(law=law, label=a.label, number=a.number, suffix=a.suffix, chapter=a.chapter[:100], text=a.text)
            for a in parsed.articles if (a.number, a.suffix) not in have
        ]
        LawArticle.objects.bulk_create(new)
        report.articles_created += len(new)
        if law.article_count != len(parsed.articles):
            Law.objects.filter(pk=law.pk).update(article_count=len(parsed.articles))
    return report


def current_law(name: str) -> Law | None:
    """The newest loaded version of a law by its short name (without 中华人民共和国)."""
    return Law.objects.filter(name=name.removeprefix("中华人民共和国")).order_by("-version_date").first()


def resolve_basis(text: str) -> list[LawArticle]:
    """The loaded articles a basis text cites; citations of laws not loaded are skipped."""
    found = []
    laws: dict[str, Law | None] = {}
    for name, number in lawtext.parse_citations(text):
        if name not in laws:
            laws[name] = current_law(name)
        law = laws[name]
        if law is None:
            continue
        article = law.articles.filter(number=number, suffix=0).first()
        if article is not None:
            found.append(article)
    return found


def _basis_table(path: Path) -> dict[tuple[str, str, str], str]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {(r["business_line"], r["part"], r["section_no"]): r["basis"] for r in csv.DictReader(fh)}


def _item_sort_key(number: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in number.split("."))


@transaction.atomic
def load_checklists(csv_path: Path = CHECKLIST_CSV, basis_path: Path = BASIS_CSV, report: LoadReport | None = None) -> LoadReport:
    """Business lines and checklist version 1 from the CFDA 2016 tables (laws first, for the basis)."""
    report = load_laws(report=report)
    line_industries.seed()  # the lines' industries (migration 0004), also after a flush emptied the table
    lines = {}
    for order, (code, name) in enumerate(BUSINESS_LINES, start=1):
        line, created = BusinessLine.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})
        report.lines_created += created
        lines[code] = line
    version, _ = ChecklistVersion.objects.get_or_create(
        number=1, defaults={"effective_on": FIRST_VERSION_DATE, "published": True, "published_at": timezone.now(),
                            "note": "2016 年原国家食品药品监督管理总局日常监督检查要点表"},
    )
    if version.items.exists():
        return report
    basis = _basis_table(basis_path)
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: ([c for c, _ in BUSINESS_LINES].index(r["business_line"]), r["part"], _item_sort_key(r["item_no"])))
    links = []
    for order, r in enumerate(rows, start=1):
        section_no = r["section"].split(".", 1)[0].strip()
        text = basis.get((r["business_line"], r["part"], section_no), "")
        item = CheckItem.objects.create(
            version=version, business_line=lines[r["business_line"]], part=r["part"], section=r["section"],
            section_note=r["section_note"][:300], number=r["item_no"], text=r["text"],
            key_item=r["key_item"].strip().lower() == "true", basis=text, order=order,
        )
        report.items_created += 1
        articles = resolve_basis(text)
        if articles:
            links.extend(CheckItem.articles.through(checkitem_id=item.pk, lawarticle_id=a.pk) for a in articles)
            report.items_linked += 1
    CheckItem.articles.through.objects.bulk_create(links)
    return report
