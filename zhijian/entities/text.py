"""Name normalisation and the bigram index text used for Chinese name search.

Chinese names have no spaces, and most searches are 2–4 characters ("海跃", "货运"), which
trigram indexes cannot serve. Each name is indexed as its sequence of character bigrams; a
query becomes the *phrase* of its bigrams, which both SQLite FTS5 and PostgreSQL tsvector
answer from an index and which matches exactly the names containing the query.
"""
from __future__ import annotations

import unicodedata


def normalise_name(text: str) -> str:
    # NFKC folds full-width letters/digits/brackets to their ASCII forms.
    return "".join(unicodedata.normalize("NFKC", text or "").split()).lower()


def bigrams(text: str) -> list[str]:
    s = normalise_name(text)
    # FTS tokenizers split on punctuation; keep letters, digits and CJK only.
    s = "".join(ch for ch in s if ch.isalnum())
    if len(s) < 2:
        return [s] if s else []
    return [s[i : i + 2] for i in range(len(s) - 1)]


def name_grams(name: str) -> str:
    return " ".join(bigrams(name))
