"""Name skeletons: case, whitespace, separators, invisible characters and common unicode look-alikes fold to one
form, so no variant of a hidden tool's name is treated as a different tool."""

from __future__ import annotations

import unicodedata

# Cyrillic and Greek letters that render like Latin ones (the common confusables; NFKC leaves them alone).
_LOOKALIKES = str.maketrans(
    {
        "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
        "о": "o", "р": "p", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "ѵ": "v", "ɑ": "a", "ı": "i", "‐": "", "‑": "", "‒": "", "–": "", "—": "",
        "-": "", "_": "",
    }
)  # fmt: skip


def skeleton(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Mn"))
    return unicodedata.normalize("NFKC", text.casefold()).translate(_LOOKALIKES)


#: How many characters of a caller's value an error message may quote.
EXCERPT = 60


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """A caller's value as an error may quote it: a short prefix, with anything unprintable (control, bidi and
    invisible characters) escaped, and the full length said when it was cut. A 200 MB argument never comes back."""
    text = value if isinstance(value, str) else repr(value)
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text[:limit])
    return f'"{shown}"' + (f"… ({len(text):,} characters)" if len(text) > limit else "")


def shown_name(name: str) -> str:
    """A caller's tool name or URI in an error: as is when short and printable, else its escaped excerpt."""
    return name if name.isprintable() and len(name) <= EXCERPT else excerpt(name)
