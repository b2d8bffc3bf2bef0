"""Unicode normalisation for Japanese text.

Japanese exports mix full-width and half-width forms (ＡＢＣ / ABC, ４．５ / 4.5, ｶﾀｶﾅ / カタカナ).
NFKC folds them so that the model sees one form; it is on by default and recorded in the model
folder so that inference applies exactly what training applied.
"""

from __future__ import annotations

import unicodedata


def normalize_text(text: str, *, nfkc: bool = True) -> str:
    """Return ``text`` NFKC-normalised (when ``nfkc``) with surrounding white space stripped."""
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    return text.strip()
