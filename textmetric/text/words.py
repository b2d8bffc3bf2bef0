"""Japanese word tokenization for lexical methods (BM25, TF-IDF, hard-negative mining).

Lexical baselines need words, not WordPiece sub-tokens: Japanese has no spaces, so text is cut
with MeCab (through ``fugashi``) and the UniDic-lite dictionary, the same word split that the
Tohoku Japanese BERT tokenizers apply before WordPiece. Text is NFKC-normalised first so that
full-width and half-width forms (``ＡＢＣ`` / ``ABC``, ``１２３`` / ``123``) become the same
token.

Function words carry little lexical evidence. ``stop_pos`` drops tokens whose UniDic part of
speech starts with one of the given names; :data:`STOP_POS` is the usual set: particles
(助詞), auxiliary verbs (助動詞), symbols and punctuation (補助記号) and white space (空白).
Whitespace-only surfaces are always dropped.

A MeCab tagger is not safe to share between threads, so each thread gets its own. Tokens are
interned, so that the token lists of a 100,000-document corpus hold one string per distinct word.
"""

from __future__ import annotations

import sys
import threading
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from textmetric.errors import DependencyError

MECAB_INSTALL = "pip install fugashi unidic-lite"
STOP_POS: tuple[str, ...] = ("助詞", "助動詞", "補助記号", "空白")
"""Parts of speech dropped by ``stop_pos=STOP_POS``: particles, auxiliary verbs, symbols, spaces."""

_local = threading.local()


def mecab_guard(build: Callable[[], Any]) -> Any:
    """Call ``build`` (which creates a MeCab tagger); a missing fugashi / dictionary becomes a
    :class:`DependencyError` saying what to install, not a MeCab traceback."""
    try:
        return build()
    except (ImportError, RuntimeError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DependencyError(
            f"cannot start MeCab (the Japanese word splitter): {first}. Install fugashi and the "
            f"UniDic-lite dictionary: `{MECAB_INSTALL}` (into the environment textmetric runs in)"
        ) from None


def _new_tagger():
    import fugashi

    try:
        import unidic_lite
    except ImportError:  # pragma: no cover - unidic-lite is a dependency; fall back to fugashi's search
        return fugashi.Tagger()
    return fugashi.Tagger(f'-d "{unidic_lite.DICDIR}" -r "{unidic_lite.DICDIR}/mecabrc"')


def _tagger():
    """The calling thread's fugashi tagger over unidic-lite (built once per thread)."""
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        tagger = mecab_guard(_new_tagger)
        _local.tagger = tagger
    return tagger


def _normalise_stop_pos(stop_pos: Iterable[str] | None) -> tuple[str, ...]:
    if stop_pos is None:
        return ()
    if isinstance(stop_pos, str):
        return (stop_pos,)
    return tuple(stop_pos)


def word_tokenize(
    text: str,
    *,
    stop_pos: Iterable[str] | None = None,
    nfkc: bool = True,
    lowercase: bool = False,
) -> list[str]:
    """Split ``text`` into MeCab (UniDic-lite) surface words.

    Args:
        text: any Japanese (or mixed) text.
        stop_pos: parts of speech to drop, matched as prefixes of the UniDic POS string
            (``"助詞"`` drops every particle, ``"名詞,数詞"`` only numerals); ``None`` keeps all.
            Pass :data:`STOP_POS` for the usual function-word filter.
        nfkc: NFKC-normalise first (default), so full- and half-width forms match.
        lowercase: lower-case Latin letters too (off by default, like the BERT tokenizers).
    """
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    if lowercase:
        text = text.lower()
    stops = _normalise_stop_pos(stop_pos)
    tokens: list[str] = []
    for word in _tagger()(text):
        surface = word.surface
        if not surface.strip():
            continue
        if stops and word.pos.startswith(stops):
            continue
        tokens.append(sys.intern(surface))  # one object per distinct word: large corpora stay small
    return tokens


def word_tokenize_batch(
    texts: Iterable[str],
    *,
    stop_pos: Iterable[str] | None = None,
    nfkc: bool = True,
    lowercase: bool = False,
) -> list[list[str]]:
    """:func:`word_tokenize` over many texts (same options), one token list per text."""
    stops = _normalise_stop_pos(stop_pos)
    return [word_tokenize(text, stop_pos=stops, nfkc=nfkc, lowercase=lowercase) for text in texts]


__all__ = ["STOP_POS", "word_tokenize", "word_tokenize_batch"]
