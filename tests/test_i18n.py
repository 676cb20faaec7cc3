"""English interface: the catalog in zhijian/locale/en is complete and is what the pages show once English is chosen."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import make_user

LC_MESSAGES = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdif]|%%")


def parse_po(path: Path) -> list[dict]:
    """A minimal .po reader: one dict per entry with msgid, msgid_plural, msgstr (list) and flags; obsolete entries skipped."""
    entries, current, key = [], None, None

    def flush():
        if current is not None and "msgid" in current:
            entries.append(current)

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if current is not None and "msgid" in current:
                flush()
                current = None
            current = current or {"flags": set(), "msgstr": {}}
            current["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if m:
            word, index, text = m.group(1), m.group(2), ast.literal_eval(m.group(3))
            if word in ("msgctxt", "msgid") and current is not None and "msgid" in current:
                flush()
                current = None
            current = current or {"flags": set(), "msgstr": {}}
            if word.startswith("msgstr"):
                key = ("msgstr", int(index or 0))
                current["msgstr"][key[1]] = text
            else:
                key = (word, None)
                current[word] = text
            continue
        assert line.startswith('"'), f"unexpected line in {path.name}: {line!r}"
        text = ast.literal_eval(line)
        if key[0] == "msgstr":
            current["msgstr"][key[1]] += text
        else:
            current[key[0]] += text
    flush()
    return [e for e in entries if e["msgid"]]  # drop the header


def test_catalog_is_complete_and_compiled():
    entries = parse_po(LC_MESSAGES / "django.po")
    assert len(entries) > 1000

    untranslated = [e["msgid"] for e in entries if not all(s.strip() for s in e["msgstr"].values()) or not e["msgstr"]]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"

    bad_plural = [e["msgid"] for e in entries if "msgid_plural" in e and sorted(e["msgstr"]) != [0, 1]]
    assert not bad_plural

    wrong_placeholders = [
        (e["msgid"], s) for e in entries for s in e["msgstr"].values()
        if set(PLACEHOLDER.findall(e["msgid"])) != set(PLACEHOLDER.findall(s))
    ]
    assert not wrong_placeholders, wrong_placeholders[:5]

    left_in_chinese = [e["msgid"] for e in entries for s in e["msgstr"].values() if s == e["msgid"] and re.search(r"[\u4e00-\u9fff]", s)]
    assert not left_in_chinese, left_in_chinese[:5]

    # The committed .mo is what Django loads; it must carry the same, translated, messages as the .po.
    with open(LC_MESSAGES / "django.mo", "rb") as f:
        mo = gettext.GNUTranslations(f)
    for e in entries:
        if "msgid_plural" in e:
            assert mo.ngettext(e["msgid"], e["msgid_plural"], 1) == e["msgstr"][0], e["msgid"]
            assert mo.ngettext(e["msgid"], e["msgid_plural"], 5) == e["msgstr"][1], e["msgid"]
        else:
            assert mo.gettext(e["msgid"]) == e["msgstr"][0], f".mo out of date for {e['msgid']!r}: run compilemessages"


def _english(client: Client, next_url: str) -> None:
    r = client.post("/i18n/setlang/", {"language": "en", "next": next_url})
    assert r.status_code == 302


@pytest.mark.django_db
def test_signed_in_pages_switch_to_english(client):
    client.force_login(make_user("enforcement_officer", "registry_clerk"))

    page = client.get("/entities/").content.decode()
    assert 'lang="zh-hans"' in page and ">市场主体</a>" in page  # Chinese stays the default

    _english(client, "/entities/")
    r = client.get("/entities/")
    assert r.status_code == 200
    page = r.content.decode()
    assert 'lang="en"' in page
    assert ">Market entities</a>" in page
    for label in ("Grid map", "Supervision tasks", "Double-random inspections", "Sign out", "Unified social credit code"):
        assert label in page, label
    for chinese in ("市场主体", "网格地图", "监管任务", "双随机抽查", "退出", "统一社会信用代码"):
        assert chinese not in page, chinese


@pytest.mark.django_db
def test_login_page_in_english():
    client = Client()
    _english(client, "/accounts/login/")
    page = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in page
    for label in ("Sign in to Zhijian", "Username", "Password", "Smart Market Supervision Platform"):
        assert label in page, label
    for chinese in ("登录智监", "用户名", "密码", "智慧市场监管平台"):
        assert chinese not in page, chinese


def test_catalog_has_every_message_of_the_code(tmp_path):
    """makemessages over a copy of the code finds no message the committed catalog lacks (a new
    string without its English would show in Chinese on an English page)."""
    import os
    import shutil
    import subprocess
    import sys

    src = Path(settings.BASE_DIR) / "zhijian" if (Path(settings.BASE_DIR) / "zhijian").is_dir() else Path(settings.BASE_DIR)
    keep = shutil.ignore_patterns("static", "migrations", "locale", "__pycache__", "*.mo", "*.po", "*.js", "*.css", "*.png", "*.json")
    shutil.copytree(src, tmp_path / "code", ignore=keep)
    (tmp_path / "locale" / "en" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "probe_settings.py").write_text(f"from zhijian.settings import *\nLOCALE_PATHS = [{str(tmp_path / 'locale')!r}]\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "probe_settings", "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    done = subprocess.run([sys.executable, "-m", "django", "makemessages", "-l", "en", "--no-wrap", "--no-location"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = {(e.get("msgctxt"), e["msgid"]) for e in parse_po(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po")}
    catalog = {(e.get("msgctxt"), e["msgid"]) for e in parse_po(LC_MESSAGES / "django.po")}
    missing = sorted(m for _c, m in found - catalog)
    assert not missing, f"{len(missing)} messages not in zhijian/locale/en (run makemessages and translate): {missing[:5]}"
