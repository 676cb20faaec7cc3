"""Parsing the law texts in data/laws/ (LawRefBook Markdown) into chapters and articles.

A file is ``<name>(<YYYY-MM-DD>).md``: a ``# title`` line, a header block ending in
``<!-- INFO END -->``, then ``## 第X章`` (and ``### 第X节``) headings and one paragraph per article
starting with ``第N条`` followed by a space; the paragraphs after it, up to the next article or
heading, belong to the same article. Citations such as ``《食品安全法》第三十三条`` are resolved
with ``parse_citations``.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERALS = "零〇一二三四五六七八九十百千两"

ARTICLE_RE = re.compile(rf"^第([{NUMERALS}]+)条(?:之([{NUMERALS}]+))?[\s\u3000]+(.*)$")
CHAPTER_RE = re.compile(rf"^##\s+(第[{NUMERALS}]+章.*)$")
SECTION_RE = re.compile(rf"^###\s+(第[{NUMERALS}]+节.*)$")
FILE_RE = re.compile(r"^(?P<name>.+)\((?P<date>\d{4}-\d{2}-\d{2})\)\.md$")
CITATION_RE = re.compile(rf"《(?P<law>[^》]+)》((?:第[{NUMERALS}]+条(?:第[{NUMERALS}]+款)?[、，,和及]?)+)")
ARTICLE_NO_RE = re.compile(rf"第([{NUMERALS}]+)条")


def cn_to_int(text: str) -> int:
    """Chinese numerals to int: 十三 → 13, 一百零二 → 102, 一百五十四 → 154, 二千 → 2000."""
    if not text or any(ch not in DIGITS and ch not in UNITS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    total, digit = 0, None
    for ch in text:
        if ch in DIGITS:
            digit = DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * UNITS[ch]
            digit = None
    return total + (digit or 0)


def int_to_cn(n: int) -> str:
    """The inverse of ``cn_to_int`` for 1–9999, written as laws number their articles (十三, 一百零二)."""
    if not 0 < n < 10000:
        raise ValueError(n)
    names = "零一二三四五六七八九"
    parts, zero = [], False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero:
                parts.append("零")
                zero = False
            parts.append(("" if (unit == "十" and d == 1 and n < 20) else names[d]) + unit)
        elif parts:
            zero = True
    return "".join(parts)


@dataclass
class ParsedArticle:
    number: int
    label: str  # 第三十三条 (or 第十条之一)
    suffix: int  # 之N, 0 when none
    chapter: str
    text: str


@dataclass
class ParsedLaw:
    name: str
    title: str
    version_date: dt.date
    file_name: str
    articles: list[ParsedArticle] = field(default_factory=list)


def parse_law(path: Path) -> ParsedLaw:
    m = FILE_RE.match(path.name)
    if not m:
        raise ValueError(f"law file name must be <name>(<YYYY-MM-DD>).md: {path.name}")
    lines = path.read_text(encoding="utf-8").splitlines()
    title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), m["name"])
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "<!-- INFO END -->") + 1
    except StopIteration:
        start = 0
    law = ParsedLaw(m["name"], title, dt.date.fromisoformat(m["date"]), path.name)
    chapter, current, paragraphs = "", None, []

    def close():
        if current is not None:
            current.text = "\n".join(paragraphs)
            law.articles.append(current)

    for raw in lines[start:]:
        line = raw.strip()
        if not line:
            continue
        if (c := CHAPTER_RE.match(line)) or SECTION_RE.match(line):
            close()
            current, paragraphs = None, []
            if c:
                chapter = " ".join(c.group(1).split())
            continue
        if line.startswith("#"):
            continue
        a = ARTICLE_RE.match(line)
        if a:
            close()
            current = ParsedArticle(
                number=cn_to_int(a.group(1)), label=line.split()[0].split("\u3000")[0],
                suffix=cn_to_int(a.group(2)) if a.group(2) else 0, chapter=chapter, text="",
            )
            paragraphs = [line]
        elif current is not None:
            paragraphs.append(line)
    close()
    return law


def parse_citations(text: str) -> list[tuple[str, int]]:
    """``《食品安全法》第三十三条、第三十五条`` → ``[("食品安全法", 33), ("食品安全法", 35)]``."""
    found = []
    for m in CITATION_RE.finditer(text or ""):
        law = m.group("law").removeprefix("中华人民共和国")
        for n in ARTICLE_NO_RE.findall(m.group(2)):
            found.append((law, cn_to_int(n)))
    return found
