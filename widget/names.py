"""Display names: cleaned of what hides or fakes letters, and compared as readers see them (UTS #39)."""
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

from .errors import InvalidInput

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
# Combining marks one character may carry. Real writing stacks few: Vietnamese two ("ệ"), Hebrew with
# niqqud three ("שּׁ" with its vowel), a Tibetan stack four ("ཧྲཱུྃ"). Piled higher ("zalgo" text) they
# spill over the lines above and below, over other people's comments.
MAX_MARKS = 4


ZWJ, EMOJI_STYLE, KEYCAP = "\u200d", "\ufe0f", "\u20e3"


def _hidden(char):
    return unicodedata.category(char) in ("Cf", "Cc", "Cs") or ord(char) in _BLANK


def _pictograph(char):
    return bool(char) and unicodedata.category(char) in ("So", "Sk")


def _visible(name):
    """The name without hidden characters, but for the joiners and selectors of emoji sequences (👩🏽‍💻, 🏳️‍🌈,
    1️⃣), which draw one picture there and nothing anywhere else."""
    text = unicodedata.normalize("NFKC", name)
    kept: list[str] = []
    for at, char in enumerate(text):
        after = text[at + 1:at + 2]
        before = kept[-1] if kept else ""
        if char == EMOJI_STYLE:
            keep = _pictograph(before) or after == KEYCAP
        elif char == ZWJ:
            keep = (_pictograph(before) or before == EMOJI_STYLE) and _pictograph(after)
        else:
            keep = not _hidden(char)
        if keep:
            kept.append(char)
    return "".join(kept)


def _is_mark(char):
    return unicodedata.category(char)[0] == "M"


def most_marks(text):
    """The most combining marks on any one character of the text as shown (hidden characters between
    marks do not part them), counted in canonical decomposition, where "ệ" is an e with two marks."""
    longest = run = 0
    for char in unicodedata.normalize("NFD", _visible(text)):
        run = run + 1 if _is_mark(char) else 0
        longest = max(longest, run)
    return longest


def refuse_piled_marks(text, field):
    """Raise InvalidInput, saying so, when a character of the text carries more than MAX_MARKS marks."""
    found = most_marks(text)
    if found > MAX_MARKS:
        raise InvalidInput(f"{field} piles {found} combining marks on one character; at most {MAX_MARKS} are "
                           "allowed", code=f"invalid_{field}")
    return text


def _cap_marks(text):
    kept, run = [], 0
    for char in unicodedata.normalize("NFD", text):
        run = run + 1 if _is_mark(char) else 0
        if run <= MAX_MARKS:
            kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def clean(name):
    """The name in NFKC, without invisible or direction-changing characters, spaces collapsed, and at most
    MAX_MARKS combining marks on a character (what people type is refused beyond that instead, by
    refuse_piled_marks; what other servers send is kept, without the pile).

    Returns "" when nothing visible is left: such a name is refused, never shown.
    """
    text = " ".join(_visible(name).split())
    if most_marks(text) > MAX_MARKS:
        text = _cap_marks(text)
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
