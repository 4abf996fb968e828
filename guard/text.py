"""Text a person reads, made from values someone else chose: nothing in it may render blank, hide, or pad.

`plain` drops what renders as nothing in every script — controls, format characters (zero-width joiners, bidi
marks, tags), unassigned and private-use code points, variation selectors, invisible combining marks and the
printable fillers that draw an empty cell (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, Braille blank U+2800,
Khmer inherent vowels, Mongolian selectors ...) — turns every space-like character (no-break, ideographic, line
and paragraph separators, tabs, newlines) into one ordinary space, and collapses runs. `is_blank` is true when
nothing is left: what `require` (guard.conditions) counts as missing.
"""

from __future__ import annotations

import re
import unicodedata

#: Printable characters that draw nothing (or an empty cell) in common fonts, beyond the Cc/Cf/Zs categories.
BLANK_RENDERING = frozenset(
    "\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0\u034f\u2028\u2029\u200b\ufeff"
    "\U0001d159\U0001d173\U0001d174\U0001d175\U0001d176\U0001d177\U0001d178\U0001d179\U0001d17a"
)
#: Categories that never render: controls, format, surrogates, private use, unassigned.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACES = re.compile(r" {2,}")


def _variation_selector(ch: str) -> bool:
    code = ord(ch)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def renders_blank(ch: str) -> bool:
    """The character draws nothing visible (a space-like character is not counted here: see `plain`)."""
    return ch in BLANK_RENDERING or unicodedata.category(ch) in INVISIBLE_CATEGORIES or _variation_selector(ch)


def space_like(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def plain(text: str) -> str:
    """`text` with every blank-rendering character dropped and every run of space-like ones made one space."""
    kept = "".join(" " if space_like(ch) else ch for ch in text if not renders_blank(ch) or space_like(ch))
    return _SPACES.sub(" ", kept).strip()


def is_blank(text: str) -> bool:
    """Nothing visible: empty, or only space-like and blank-rendering characters."""
    return not plain(text)
