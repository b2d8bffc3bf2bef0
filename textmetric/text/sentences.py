"""Japanese sentence splitting and length-limited chunking.

Long documents (job postings, articles) exceed a BERT's ``max_seq_length``. They are cut on
sentence boundaries (。！？!? and line breaks, keeping closing brackets with their sentence) and
packed into chunks of at most ``max_chars`` characters, with an optional overlap in sentences, so
that no chunk starts mid-sentence.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[。！？!?．])[」』）)\]】〕”’]*|\n+")


def split_sentences(text: str) -> list[str]:
    """Split Japanese text into sentences; the terminator stays with its sentence."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def chunk_text(text: str, *, max_chars: int = 400, overlap: int = 1) -> list[str]:
    """Pack sentences into chunks of at most ``max_chars`` characters.

    ``overlap`` sentences of the previous chunk are repeated at the start of the next one, so a
    fact spanning a boundary is seen whole at least once. A single sentence longer than
    ``max_chars`` is cut into ``max_chars`` pieces.
    """
    if max_chars <= 0:
        raise ValueError("max_chars must be positive")
    if overlap < 0:
        raise ValueError("overlap must be >= 0")
    sentences: list[str] = []
    for sentence in split_sentences(text):
        while len(sentence) > max_chars:
            sentences.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if sentence:
            sentences.append(sentence)
    chunks: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and len("".join(current)) + len(sentence) > max_chars:
            chunks.append("".join(current))
            kept = current[-overlap:] if overlap else []
            while kept and len("".join(kept)) + len(sentence) > max_chars:
                kept = kept[1:]
            current = list(kept)
        current.append(sentence)
    if current:
        chunks.append("".join(current))
    return chunks
