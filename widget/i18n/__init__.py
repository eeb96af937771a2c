"""Message catalogues for the widget, the loader, the emails and the reader's pages: gettext, read with Babel.

English is the source (`messages.py`); every other language is a gettext catalogue,
`locales/<lang>/LC_MESSAGES/messages.po`, that translators edit with the ordinary tools. The
catalogues are read from the .po files when first asked for, so there is nothing compiled to keep
in step with them. Each message is found by its key, which is the gettext context (msgctxt).
"""
import gettext
import re
from collections.abc import Callable
from functools import cache
from itertools import chain
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

from .messages import ENGLISH

HERE = Path(__file__).resolve().parent
LOCALES = HERE / "locales"
DOMAIN = "messages"
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "ja", "zh", "ar", "he")
RIGHT_TO_LEFT = frozenset({"ar", "he"})
DEFAULT = "en"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Messages of the server's own pages and emails, which the widget never shows.
SERVER_ONLY = ("refused.", "mail.", "email.")
# Counts that tell every plural category a language has from the others (CLDR's "many" of French,
# Spanish, Italian and Portuguese starts at a million).
PLURAL_SAMPLES = tuple(chain(range(0, 1000), (10**6, 2 * 10**6)))

Message = str | tuple[str, ...]


def po_path(lang):
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _po(lang):
    with po_path(lang).open("rb") as file:
        return read_po(file, locale=lang, domain=DOMAIN)


@cache
def catalogue(lang) -> dict[str, Message]:
    """Every message of one language, key -> text (a tuple of forms for a message with a count).

    A message the language lacks (untranslated, or marked fuzzy because its English changed) is
    shown in English, as gettext itself would.
    """
    if lang == DEFAULT:
        return dict(ENGLISH)
    translated = {}
    for message in _po(lang):
        if not message.context or message.fuzzy:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(forms):
            translated[message.context] = forms if isinstance(message.id, tuple) else forms[0]
    return {key: translated.get(key, english) for key, english in ENGLISH.items()}


@cache
def plural_rule(lang) -> Callable[[int], int]:
    """n -> the index of the plural form to use, from the catalogue's Plural-Forms header."""
    expression = "(n != 1)" if lang == DEFAULT else _po(lang).plural_expr
    return gettext.c2py(expression)


@cache
def plural_categories(lang) -> dict[str, int]:
    """CLDR plural category (what the browser's Intl.PluralRules says) -> gettext form index.

    The widget counts in the browser, where Intl.PluralRules names the category of a number; the
    server counts with the catalogue's gettext rule. Both must pick the same form: a catalogue
    whose rule disagrees with CLDR is refused here rather than shown wrong in one of the two.
    """
    rule, cldr = plural_rule(lang), Locale.parse(lang).plural_form
    categories: dict[str, int] = {}
    for n in PLURAL_SAMPLES:
        index = categories.setdefault(cldr(n), rule(n))
        if index != rule(n):
            raise ValueError(f"{lang}: the Plural-Forms rule puts {n} in another form than CLDR's {cldr(n)!r}")
    # "other" is the browser's answer for what no sample reached (fractions in Russian, say).
    categories.setdefault("other", rule(PLURAL_SAMPLES[-1]))
    return categories


def primary_subtag(tag):
    return tag.strip().lower().replace("_", "-").split("-")[0] if isinstance(tag, str) else ""


def negotiate(requested=None, accept_languages=None):
    """The language for an explicit tag (data-parley-lang, navigator.language), else Accept-Language, else English."""
    if primary_subtag(requested) in LANGUAGES:
        return primary_subtag(requested)
    if accept_languages is not None:
        # Werkzeug's best_match also matches "de-AT" in the header to our "de".
        best = accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return DEFAULT


def direction(lang):
    """The writing direction for the `dir` attribute of a page in this language."""
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"


def fill(text, values):
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def translate(lang, key, **values):
    text = catalogue(lang)[key]
    if isinstance(text, tuple):
        raise TypeError(f"{key} has a count: translate_count() it")
    return fill(text, values)


def translate_count(lang, key, n):
    """`key.zero` for none when the catalogue has it, else the plural form for n, with {n} filled."""
    messages = catalogue(lang)
    if n == 0 and f"{key}.zero" in messages:
        return fill(messages[f"{key}.zero"], {"n": n})
    forms = messages[key]
    return fill(forms[plural_rule(lang)(n)], {"n": n})


def widget_messages(lang):
    """What the widget's script needs: every message but the server's own, counts by CLDR category."""
    categories = plural_categories(lang)
    return {key: {category: text[index] for category, index in categories.items()} if isinstance(text, tuple) else text
            for key, text in catalogue(lang).items() if not key.startswith(SERVER_ONLY)}
