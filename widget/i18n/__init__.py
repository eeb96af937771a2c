"""Message catalogues for the widget and the loader: one JSON file per language, English the reference."""
import json
import re
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "de", "fr", "es")
DEFAULT = "en"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# What the loader needs to fill count links and title its iframes, in this order.
LOADER_KEYS = ("count.zero", "count.one", "count.other", "frame.title")
# Messages of the server's own pages and emails, which the widget never shows.
SERVER_ONLY = ("refused.", "mail.", "email.")


@cache
def catalogue(lang):
    """Every message of one language, key -> text."""
    return json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8"))


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


def plural_category(lang, n):
    """CLDR plural category for the languages shipped: French counts 0 and 1 as singular."""
    if lang == "fr":
        return "one" if n in (0, 1) else "other"
    return "one" if n == 1 else "other"


def fill(text, values):
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def translate(lang, key, **values):
    return fill(catalogue(lang)[key], values)


def translate_count(lang, key, n):
    """`key.zero` for none when the catalogue has it, else the plural form for n."""
    messages = catalogue(lang)
    form = f"{key}.zero" if n == 0 and f"{key}.zero" in messages else f"{key}.{plural_category(lang, n)}"
    return fill(messages[form], {"n": n})


def widget_messages(lang):
    """What the widget's script needs: everything but the server's own pages and emails."""
    return {key: text for key, text in catalogue(lang).items() if not key.startswith(SERVER_ONLY)}


def loader_strings():
    """{lang: [no comments, one comment, n comments, frame title]} for embed.js."""
    return {lang: [catalogue(lang)[key] for key in LOADER_KEYS] for lang in LANGUAGES}
