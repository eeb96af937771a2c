"""The message catalogues: gettext .po files that translators edit, checked complete, and how they are served."""
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from widget import i18n
from widget.i18n.messages import ENGLISH

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT]


def read(lang):
    with i18n.po_path(lang).open("rb") as file:
        return read_po(file, locale=lang)


def placeholders(text):
    return set(PLACEHOLDER.findall(text))


def test_every_catalogue_on_disk_is_a_language_served_and_back():
    on_disk = {path.parent.parent.name for path in i18n.LOCALES.glob(f"*/LC_MESSAGES/{i18n.DOMAIN}.po")}
    assert on_disk == set(TRANSLATED)
    assert len(i18n.LANGUAGES) >= 13 and {"ar", "he"} <= set(i18n.LANGUAGES)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_catalogue_translates_every_message_of_todays_english(lang):
    catalog = read(lang)
    found = {m.context: m for m in catalog if m.id and m.context}
    assert set(found) == set(ENGLISH), "run pybabel update (README, Translating)"
    for key, english in ENGLISH.items():
        message = found[key]
        # A changed English text leaves the old translation fuzzy, and the reader would get English.
        assert message.id == english, f"{lang} {key}: translated from an older English text"
        assert not message.fuzzy, f"{lang} {key}: fuzzy"
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(form.strip() for form in forms), f"{lang} {key}: untranslated"
        sources = english if isinstance(english, tuple) else (english,)
        wanted = set().union(*(placeholders(source) for source in sources))
        for index, form in enumerate(forms):
            if isinstance(english, tuple) and _numbers_in_form(lang, index) == 1:
                # A form for one number alone (Arabic's "two", Hebrew's "one") may say it in words.
                assert placeholders(form) <= wanted, f"{lang} {key}[{index}]: {form}"
            else:
                assert placeholders(form) == wanted, f"{lang} {key}[{index}]: {form}"


def _numbers_in_form(lang, index):
    rule = i18n.plural_rule(lang)
    return sum(1 for n in i18n.PLURAL_SAMPLES if rule(n) == index)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_catalogue_has_its_languages_plural_forms(lang):
    catalog, plural = read(lang), get_plural(lang)
    assert catalog.plural_forms == plural.plural_forms
    for message in catalog:
        if message.id and isinstance(message.id, tuple):
            assert len(message.string) == plural.num_plurals, f"{lang} {message.context}"
    # Every form is reachable, and the browser's plural categories (Intl.PluralRules) name the same form
    # the server picks for each number: plural_categories refuses a rule that disagrees with CLDR.
    assert sorted(set(i18n.plural_categories(lang).values())) == list(range(plural.num_plurals))


def test_the_template_translators_start_from_is_what_pybabel_extract_finds_today():
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    extracted = {(context, message if isinstance(message, str) else tuple(message))
                 for _, _, message, _, context in extract_from_dir(str(ROOT), method_map, options_map)}
    assert extracted == {(key, text) for key, text in ENGLISH.items()}
    with (i18n.HERE / "messages.pot").open("rb") as file:
        template = {(m.context, m.id) for m in read_po(file) if m.id}
    assert template == extracted, "run pybabel extract (README, Translating)"


def test_every_message_the_code_asks_for_exists():
    sources = [*(ROOT / "static" / "widget").glob("*.js"), *(ROOT / "templates").rglob("*.html"),
               *(ROOT / "templates").rglob("*.txt"), *(ROOT / "widget").rglob("*.py")]
    wanted, counted = set(), set()
    for path in sources:
        text = path.read_text()
        wanted |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", text))
        wanted |= set(re.findall(r"""\btranslate\(\s*\w+,\s*["']([\w.]+)["']""", text))
        counted |= set(re.findall(r"""\b(?:tn|translate_count)\(\s*(?:\w+,\s*)?["']([\w.]+)["']""", text))
        # Error codes the widget raises itself, before asking the server.
        wanted |= {f"error.{code}" for code in re.findall(r'(?:code: |Invalid\()"(\w+)"', text)}
    assert len(wanted) > 50 and len(counted) >= 5
    # A key built at run time ("sort." ~ sort) needs some message under its prefix.
    missing = [key for key in wanted
               if not (isinstance(ENGLISH.get(key), str)
                       or key.endswith(".") and any(k.startswith(key) for k in ENGLISH))]
    assert missing == []
    assert [key for key in counted if not isinstance(ENGLISH.get(key), tuple)] == []


@pytest.mark.parametrize("requested, header, expected", [
    ("de-AT", None, "de"),
    ("es_MX", None, "es"),
    ("pt-BR", "es-ES,es;q=0.9", "pt"),
    ("zh-Hans-CN", None, "zh"),
    ("he-IL", None, "he"),
    ("xx", "ar-EG,ar;q=0.9", "ar"),
    (None, "fr-CA,fr;q=0.8", "fr"),
    (None, "ja", "ja"),
    (None, "ko,sv;q=0.5", "en"),
    (None, None, "en"),
])
def test_language_negotiation(app, requested, header, expected):
    headers = {"Accept-Language": header} if header else {}
    with app.test_request_context(headers=headers):
        from flask import request
        assert i18n.negotiate(requested, request.accept_languages) == expected


@pytest.mark.parametrize("lang, n, expected", [
    ("en", 0, "No Comments"), ("en", 1, "1 Comment"), ("en", 6, "6 Comments"),
    ("fr", 0, "Aucun commentaire"), ("fr", 1, "1 commentaire"), ("fr", 2, "2 commentaires"),
    ("fr", 1_000_000, "1000000 de commentaires"),
    ("de", 1, "1 Kommentar"), ("es", 3, "3 comentarios"),
    ("ru", 1, "1 комментарий"), ("ru", 3, "3 комментария"), ("ru", 5, "5 комментариев"),
    ("ru", 11, "11 комментариев"), ("ru", 21, "21 комментарий"), ("ru", 22, "22 комментария"),
    ("pl", 1, "1 komentarz"), ("pl", 2, "2 komentarze"), ("pl", 5, "5 komentarzy"),
    ("pl", 12, "12 komentarzy"), ("pl", 22, "22 komentarze"),
    ("ar", 0, "لا توجد تعليقات"), ("ar", 1, "تعليق واحد"), ("ar", 2, "تعليقان"), ("ar", 3, "3 تعليقات"),
    ("ar", 11, "11 تعليقًا"), ("ar", 100, "100 تعليق"),
    ("he", 1, "תגובה אחת"), ("he", 2, "2 תגובות"), ("he", 7, "7 תגובות"),
    ("ja", 1, "1件のコメント"), ("zh", 5, "5 条评论"),
])
def test_count_words(lang, n, expected):
    assert i18n.translate_count(lang, "count", n) == expected


def test_the_widget_gets_each_count_by_the_browsers_plural_category():
    russian = i18n.widget_messages("ru")["live.new"]
    assert set(russian) == {"one", "few", "many", "other"}
    assert russian["few"] == "{n} новых комментария"
    arabic = i18n.widget_messages("ar")["count"]
    assert set(arabic) == {"zero", "one", "two", "few", "many", "other"}
    assert "email.confirm_subject" not in i18n.widget_messages("ar")
