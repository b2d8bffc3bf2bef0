"""Japanese text handling: normalisation, sentence splitting, tokenizers."""

from textmetric.text.normalize import normalize_text
from textmetric.text.sentences import chunk_text, split_sentences

__all__ = ["chunk_text", "normalize_text", "split_sentences"]
