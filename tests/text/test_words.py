"""Japanese word tokenization for lexical methods (BM25, TF-IDF, hard negatives)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from textmetric.text.words import STOP_POS, word_tokenize, word_tokenize_batch

SENTENCE = "東京都の天気は、晴れ　です。"


def test_surface_words_of_unidic_lite():
    assert word_tokenize(SENTENCE) == ["東京", "都", "の", "天気", "は", "、", "晴れ", "です", "。"]


def test_stop_pos_drops_particles_auxiliaries_symbols_and_spaces():
    assert word_tokenize(SENTENCE, stop_pos=STOP_POS) == ["東京", "都", "天気", "晴れ"]
    # a single part of speech, given as a string or a list, is a prefix of the UniDic POS
    assert word_tokenize("先生が来られた。", stop_pos=["助動詞"]) == ["先生", "が", "来", "。"]
    assert word_tokenize("先生が来られた。", stop_pos="助詞") == ["先生", "来", "られ", "た", "。"]


def test_nfkc_folds_full_and_half_width_forms():
    assert word_tokenize("ＡＢＣ１２３") == word_tokenize("ABC123") == ["ABC", "123"]
    assert word_tokenize("ｶﾀｶﾅ") == word_tokenize("カタカナ")
    assert word_tokenize("ＡＢＣ", nfkc=False) == ["ＡＢＣ"]


def test_lowercase_and_empty_texts():
    assert word_tokenize("Hello World", lowercase=True) == ["hello", "world"]
    assert word_tokenize("") == []
    assert word_tokenize(" \u3000 ") == []


def test_batch_matches_single_calls_and_threads_agree():
    texts = [SENTENCE, "猫がソファの上で寝ています。", "ＡＢＣ"]
    expected = [word_tokenize(t, stop_pos=STOP_POS) for t in texts]
    assert word_tokenize_batch(texts, stop_pos=STOP_POS) == expected
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: word_tokenize(t, stop_pos=STOP_POS), texts * 20))
    assert results == expected * 20
