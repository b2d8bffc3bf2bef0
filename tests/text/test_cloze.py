"""Cloze pseudo-questions: one noun phrase becomes 何, the sentence a question; spaces are kept."""

from __future__ import annotations

import random

from textmetric.text.cloze import QUESTION_WORD, cloze_question, noun_spans


def test_noun_spans_are_maximal_runs():
    assert noun_spans(["名詞", "名詞", "助詞", "名詞", "動詞", "名詞"]) == [(0, 2), (3, 4), (5, 6)]
    assert noun_spans(["助詞", "動詞"]) == []


def test_one_noun_phrase_becomes_the_question_word():
    sentence = "RKBラジオは、RKB毎日放送が運営しているAMラジオ事業部門の呼称である。"
    seen = set()
    for seed in range(30):
        question = cloze_question(sentence, random.Random(seed))
        assert question is not None and question.endswith("である" + "か。")
        assert question.count(QUESTION_WORD) == 1
        before, after = question[:-2].split(QUESTION_WORD)
        # the question is the sentence with one span cut out and nothing else changed
        assert sentence.startswith(before) and sentence[:-1].endswith(after)
        assert len(before) + len(after) < len(sentence) - 1
        seen.add(question)
    assert len(seen) >= 3  # different noun phrases are drawn
    assert cloze_question(sentence, random.Random(7)) == cloze_question(sentence, random.Random(7))


def test_spaces_survive_and_short_sentences_are_refused():
    question = cloze_question("New York Times は 1851 年 に 創刊 された 新聞 です。", random.Random(1))
    assert question is not None and question.endswith("か。")
    # the words around the removed phrase keep their spaces: the rest is the sentence's own text
    before, after = question[:-2].split(QUESTION_WORD)
    sentence = "New York Times は 1851 年 に 創刊 された 新聞 です。"
    assert sentence.startswith(before) and sentence[:-1].endswith(after)
    assert cloze_question("犬。", random.Random(0)) is None  # one noun: nothing would be left to search
    # full-width forms are NFKC-normalised like every other text
    assert "ABC" in (cloze_question("ＡＢＣ社の本社は東京都の港区にある。", random.Random(3)) or "")
