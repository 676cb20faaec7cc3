"""The push-rule engine: active rules compiled into indexes, then one entity matched in
O(length of its scope), never by looping over every rule.

Matching (documented for administrators in docs/interfaces.md §4):

- **Industry.** A rule's prefixes (GB/T 4754 digits, e.g. ``62`` or ``5225``; a lone section
  letter such as ``H`` stands for all its two-digit divisions; ``H62`` is read as ``62``) go into a
  dict ``prefix → rules``; an entity's code ``5225`` looks up ``5``, ``52``, ``522``, ``5225``.
- **Business scope.** The scope is cut into clauses at punctuation (、，；。（） and ASCII
  equivalents); clauses that state an exclusion (beginning with 不含, 不得, 不涉及, 除) are dropped.
  Each clause is segmented with jieba in search mode (long words also yield their parts:
  ``医疗器械`` → 医疗, 器械, 医疗器械), memoised per clause because scopes repeat the standard
  wording. A keyword that jieba itself keeps as **one word** (``食品``, ``卷烟``, ``特种设备``)
  matches when it is one of the segmented words — so ``药品`` does not match inside ``农药品种``
  unless jieba cuts it out. A keyword jieba splits into **several words** (``餐饮服务``,
  ``危险化学品``) is a phrase and matches when it occurs verbatim in a kept clause. Phrases are
  found through a dict keyed on their first two characters, scanned once along the text.
- **Licence type.** Exact string match against the entity's licence types.

A rule matches when **any** of its criteria matches. Each match names its reason
(``行业 52``, ``关键词 食品``, ``许可 食品经营许可证``), stored on the push item.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import jieba

from .models import PushRule, RuleSetRevision

jieba.setLogLevel(logging.WARNING)

# GB/T 4754-2017 sections and their two-digit divisions.
SECTIONS = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60), "H": (61, 62),
    "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83),
    "Q": (84, 85), "R": (86, 90), "S": (91, 97), "T": (98, 98),
}
_CLAUSE_SPLIT = re.compile(r"[、，,；;。.（）()\[\]【】：:\s]+")
NEGATIONS = ("不含", "不得", "不涉及", "除")

_tokenizer = jieba.Tokenizer()
_tok_lock = threading.Lock()


def industry_keys(prefix: str) -> list[str]:
    p = prefix.strip().upper()
    if not p:
        return []
    if len(p) == 1 and p in SECTIONS:
        lo, hi = SECTIONS[p]
        return [f"{n:02d}" for n in range(lo, hi + 1)]
    digits = p.lstrip("ABCDEFGHIJKLMNOPQRST")
    return [digits] if digits.isdigit() else []


@lru_cache(maxsize=20000)
def _clause_words(clause: str) -> frozenset[str]:
    with _tok_lock:  # jieba's lazy initialisation is not thread-safe
        return frozenset(w for w in _tokenizer.cut_for_search(clause) if w.strip())


def is_phrase(keyword: str) -> bool:
    """True when jieba cuts the keyword into several words (then it matches as a phrase)."""
    with _tok_lock:
        return len([w for w in _tokenizer.lcut(keyword) if w.strip()]) > 1


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_SPLIT.split(text or "") if c and not c.startswith(NEGATIONS)]


def segment(text: str) -> set[str]:
    words: set[str] = set()
    for c in clauses(text):
        words |= _clause_words(c)
    return words


@dataclass(frozen=True)
class CompiledRule:
    id: int
    version: int
    name: str
    matter_id: int
    matter_name: str
    deadline_rule: str
    deadline_hours: int | None
    # (department id, jurisdiction prefixes) of the matter's departments
    departments: tuple[tuple[int, tuple[str, ...]], ...]


@dataclass
class Match:
    rule: CompiledRule
    reasons: list[str] = field(default_factory=list)


@dataclass
class Index:
    revision: int
    rules: dict[int, CompiledRule] = field(default_factory=dict)
    by_industry: dict[str, list[int]] = field(default_factory=dict)
    by_word: dict[str, list[int]] = field(default_factory=dict)
    # first two characters → [(phrase, rule ids)]; one-character phrases cannot exist (jieba keeps them whole)
    by_phrase_head: dict[str, list[tuple[str, list[int]]]] = field(default_factory=dict)
    by_licence: dict[str, list[int]] = field(default_factory=dict)

    def add(self, rule: CompiledRule, industries, keywords, licences) -> None:
        self.rules[rule.id] = rule
        for p in industries:
            for key in industry_keys(p):
                self.by_industry.setdefault(key, []).append(rule.id)
        for kw in keywords:
            if is_phrase(kw):
                bucket = self.by_phrase_head.setdefault(kw[:2], [])
                for phrase, ids in bucket:
                    if phrase == kw:
                        ids.append(rule.id)
                        break
                else:
                    bucket.append((kw, [rule.id]))
            else:
                self.by_word.setdefault(kw, []).append(rule.id)
        for lic in licences:
            self.by_licence.setdefault(lic, []).append(rule.id)

    def match(self, *, industry_code: str = "", business_scope: str = "", licence_types=()) -> list[Match]:
        """The rules that match, in rule-id order, each with why."""
        found: dict[int, Match] = {}

        def hit(ids, reason):
            for rid in ids:
                m = found.get(rid)
                if m is None:
                    m = found[rid] = Match(self.rules[rid])
                if reason not in m.reasons:
                    m.reasons.append(reason)

        code = (industry_code or "").strip()
        for k in range(1, len(code) + 1):
            ids = self.by_industry.get(code[:k])
            if ids:
                hit(ids, f"行业 {code[:k]}")
        if business_scope and (self.by_word or self.by_phrase_head):
            if self.by_word:
                for w in segment(business_scope):
                    ids = self.by_word.get(w)
                    if ids:
                        hit(ids, f"关键词 {w}")
            if self.by_phrase_head:
                for c in clauses(business_scope):
                    for i in range(len(c) - 1):
                        for phrase, ids in self.by_phrase_head.get(c[i:i + 2], ()):
                            if c.startswith(phrase, i):
                                hit(ids, f"关键词 {phrase}")
        for lic in licence_types or ():
            ids = self.by_licence.get(lic)
            if ids:
                hit(ids, f"许可 {lic}")
        return [found[k] for k in sorted(found)]


def compile_rules(rules, revision: int = 0) -> Index:
    """Build an index from PushRule rows (their matters and departments prefetched or not)."""
    index = Index(revision=revision)
    for r in rules:
        m = r.matter
        depts = tuple((d.pk, tuple(d.jurisdiction_prefixes())) for d in m.departments.all())
        compiled = CompiledRule(r.pk, r.version, r.name, m.pk, m.name, m.deadline_rule, m.deadline_hours, depts)
        index.add(compiled, r.industry_list(), r.keyword_list(), r.licence_list())
    return index


def active_rules():
    return PushRule.objects.filter(active=True, matter__active=True).select_related("matter").prefetch_related("matter__departments").order_by("id")


_cache: dict[str, Index] = {}
_cache_lock = threading.Lock()


def current_index() -> Index:
    """The compiled active rules, rebuilt when the rule-set revision moved."""
    revision = RuleSetRevision.objects.filter(pk=1).values_list("value", flat=True).first() or 0
    cached = _cache.get("active")
    if cached is not None and cached.revision == revision:
        return cached
    index = compile_rules(active_rules(), revision)
    with _cache_lock:
        _cache["active"] = index
    return index


def departments_for(rule: CompiledRule, division_code: str) -> list[int]:
    """The matter's departments whose jurisdiction covers ``division_code``."""
    return [d for d, prefixes in rule.departments if any(division_code.startswith(p) for p in prefixes)]


def targets(matches, division_code: str, skip: set | None = None) -> list[tuple[Match, int]]:
    """(match, department id) per (matter, department) covering ``division_code``, first matching
    rule wins; ``skip``: (matter, department) pairs already served."""
    out: dict[tuple[int, int], tuple[Match, int]] = {}
    for m in matches:
        for dept in departments_for(m.rule, division_code):
            key = (m.rule.matter_id, dept)
            if key not in out and not (skip and key in skip):
                out[key] = (m, dept)
    return list(out.values())
