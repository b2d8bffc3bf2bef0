"""Japanese text handling: normalisation, sentence splitting, tokenizers.

The fast MeCab + WordPiece tokenizer (:mod:`textmetric.text.fast_tokenizer`) is re-exported
here but imported on first use: it needs ``transformers``, which the light helpers (normalising,
sentence splitting) should not pay for. ``textmetric.text.fast_tokenizer`` is the module; the
function that builds a tokenizer is :func:`build_fast_tokenizer`, so the two never clash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textmetric.text.normalize import normalize_text
from textmetric.text.sentences import chunk_text, split_sentences

if TYPE_CHECKING:
    from textmetric.text.fast_tokenizer import (
        FastBertJapaneseTokenizer,
        build_fast_tokenizer,
        use_fast_tokenizer,
    )

_LAZY = {
    "FastBertJapaneseTokenizer": "textmetric.text.fast_tokenizer",
    "build_fast_tokenizer": "textmetric.text.fast_tokenizer",
    "use_fast_tokenizer": "textmetric.text.fast_tokenizer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textmetric.text' has no attribute {name!r}")


__all__ = [
    "FastBertJapaneseTokenizer",
    "build_fast_tokenizer",
    "chunk_text",
    "normalize_text",
    "split_sentences",
    "use_fast_tokenizer",
]
