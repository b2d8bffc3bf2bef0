"""Cloze pseudo-questions: Japanese sentences turned into the questions a searcher would ask.

A corpus without queries (a help centre, job postings, an encyclopaedia) still says what people
will ask about it: each sentence answers a question, and the question is the sentence with the
answer taken out. Replacing one noun phrase (a run of UniDic 名詞 tokens) by 何 and ending the
sentence with か gives such a question::

    RKBラジオは、RKB毎日放送が運営しているAMラジオ事業部門の呼称である。
    -> RKBラジオは、何が運営しているAMラジオ事業部門の呼称であるか。

It is the cloze-translation idea of unsupervised QA (Lewis, Denoyer & Riedel, ACL 2019) without a
translation model, and the self-supervised pair it makes (pseudo-question -> the passage the
sentence came from, :mod:`textmetric.mining.positives` strategy ``cloze``) is the inverse cloze task
of Lee, Chang & Toutanova (ACL 2019) with the answer removed from the query, so that the model
cannot match the passage on the answer's words alone. On JSQuAD the tiny-ja recipe's dense
retrieval nDCG@10 is 0.626 with these pairs and 0.340 without them (seed 1, random word
embeddings, ``scripts/bench_quality.py --variants recipe,no-paragraphs`` before PPMI became the
default; README "Quality").
"""

from __future__ import annotations

import random
import unicodedata

from textmetric.text.words import _tagger

QUESTION_WORD = "何"
NOUN = "名詞"
_TRAILING = "。．.!！?？ 　"


def noun_spans(pos1: list[str]) -> list[tuple[int, int]]:
    """``[start, end)`` token ranges of the maximal runs of nouns in a sentence's POS list."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, pos in enumerate([*pos1, ""]):
        if pos == NOUN and start is None:
            start = i
        elif pos != NOUN and start is not None:
            spans.append((start, i))
            start = None
    return spans


def cloze_question(sentence: str, rng: random.Random, *, min_nouns: int = 2, nfkc: bool = True) -> str | None:
    """``sentence`` with one noun phrase, drawn by ``rng``, replaced by 何, ending in か。.

    ``None`` when the sentence has fewer than ``min_nouns`` noun phrases: with only one, the
    question would keep nothing to search with.
    """
    text = unicodedata.normalize("NFKC", sentence) if nfkc else sentence
    words = list(_tagger()(text))
    spans = noun_spans([word.feature.pos1 for word in words])
    if len(spans) < max(1, min_nouns):
        return None
    start, end = spans[rng.randrange(len(spans))]

    def text_of(part) -> str:  # MeCab's white_space: the spaces before each word, kept as they were
        return "".join(word.white_space + word.surface for word in part)

    question = text_of(words[:start]) + words[start].white_space + QUESTION_WORD + text_of(words[end:])
    return question.rstrip(_TRAILING) + "か。"


__all__ = ["QUESTION_WORD", "cloze_question", "noun_spans"]
