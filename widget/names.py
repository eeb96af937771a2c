"""Display names: cleaned of what hides or fakes letters, and compared as readers see them (UTS #39)."""
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

CONFUSABLES = Path(__file__).resolve().parent / "data" / "confusables.txt"
# Names nobody but the site's staff may take, whatever the site: what a reader takes for staff.
RESERVED = ("admin", "administrator", "moderator", "mod", "owner", "site owner", "author", "post author", "staff",
            "webmaster", "root", "system", "support", "parley")
# Letters that draw nothing: Hangul fillers, the blank Braille pattern, joiners and variation selectors.
# (Format characters, category Cf, are dropped as a class: zero-width spaces, direction overrides,
# isolates, soft hyphens, tags.)
_BLANK = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164,
                    0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
# What a name must keep at least one of: a letter, a digit, punctuation or a symbol.
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")


def _hidden(char):
    return unicodedata.category(char) in ("Cf", "Cc", "Cs") or ord(char) in _BLANK


def clean(name):
    """The name in NFKC, without invisible or direction-changing characters, spaces collapsed.

    Returns "" when nothing visible is left: such a name is refused, never shown.
    """
    text = "".join(char for char in unicodedata.normalize("NFKC", name) if not _hidden(char))
    text = " ".join(text.split())
    if not any(unicodedata.category(char)[0] in _VISIBLE_CATEGORIES for char in text):
        return ""
    return text


@cache
def _prototypes():
    """Unicode's confusables table: code point -> the characters it looks like."""
    table = {}
    for line in CONFUSABLES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            source, target = line.split(";")
            table[int(source, 16)] = "".join(chr(int(code, 16)) for code in target.split())
    return table


def _skeleton(text):
    prototypes = _prototypes()
    mapped = "".join(prototypes.get(ord(char), char) for char in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


@lru_cache(maxsize=4096)
def skeletons(name):
    """UTS #39's skeleton, without regard to case: names that share one look alike.

    Unicode maps some capitals and small letters to different prototypes (Greek "Η" to "H", its
    small "η" to "n"), so the skeleton is taken both before and after case folding.
    """
    text = clean(name)
    return frozenset({_skeleton(text).casefold(), _skeleton(text.casefold()).casefold()})


def impersonated(name, protected):
    """The first of the `protected` names that `name` looks like, or None."""
    own = skeletons(name)
    return next((other for other in protected if other and own & skeletons(other)), None)
