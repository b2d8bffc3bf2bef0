"""The offline tiny-ja base: a real BertJapaneseTokenizer learned from text, a small random BERT."""

from __future__ import annotations

import filecmp

import pytest
from transformers import AutoModel, AutoTokenizer, BertJapaneseTokenizer

from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja, mecab_word_tokenizer, rebuild_tiny_ja

SMALL = TinyJaConfig(vocab_size=1500, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)


def test_tokenizer_is_bert_japanese_and_round_trips(tiny_bert_dir, japanese_texts):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    assert isinstance(tokenizer, BertJapaneseTokenizer)
    assert tokenizer.word_tokenizer_type == "mecab"
    mecab = mecab_word_tokenizer()
    for text in japanese_texts[:200]:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.unk_token_id not in ids, text
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        # Decoding the WordPiece pieces gives back the MeCab words, i.e. the (NFKC) text.
        pieces = tokenizer.convert_ids_to_tokens(ids[1:-1])
        words: list[str] = []
        for piece in pieces:
            if piece.startswith("##"):
                words[-1] += piece[2:]
            else:
                words.append(piece)
        assert words == mecab.tokenize(text)


def test_words_are_split_by_mecab(tiny_bert_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    tokens = tokenizer.tokenize("男性が自転車に乗っています。")
    assert "が" in tokens and "。" in tokens  # particles and punctuation are separate MeCab words


def test_unseen_characters_map_to_unk(tiny_bert_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    ids = tokenizer("鬱龘")["input_ids"]
    assert tokenizer.unk_token_id in ids


def test_build_is_deterministic(tmp_path, japanese_texts):
    a = build_tiny_ja(japanese_texts[:300], tmp_path / "a", config=SMALL)
    b = build_tiny_ja(japanese_texts[:300], tmp_path / "b", config=SMALL)
    assert filecmp.cmp(a / "vocab.txt", b / "vocab.txt", shallow=False)
    wa, wb = AutoModel.from_pretrained(a), AutoModel.from_pretrained(b)
    for (name, pa), (_, pb) in zip(wa.state_dict().items(), wb.state_dict().items(), strict=True):
        assert (pa == pb).all(), name
    assert wa.config.num_hidden_layers == 1 and wa.config.hidden_size == 32


def test_refuses_to_overwrite_and_needs_text(tmp_path, japanese_texts):
    out = build_tiny_ja(japanese_texts[:50], tmp_path / "m", config=SMALL)
    from textmetric.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        build_tiny_ja(japanese_texts[:50], out, config=SMALL)
    with pytest.raises(ValueError, match="non-empty text"):
        build_tiny_ja(["  ", ""], tmp_path / "empty", config=SMALL)


def test_rebuild_from_vocabulary_gives_the_same_untrained_weights(tmp_path, japanese_texts):
    built = build_tiny_ja(japanese_texts[:300], tmp_path / "built", config=SMALL)
    rebuilt = rebuild_tiny_ja(built / "vocab.txt", tmp_path / "rebuilt", config=SMALL)
    assert filecmp.cmp(built / "vocab.txt", rebuilt / "vocab.txt", shallow=False)
    wa, wb = AutoModel.from_pretrained(built), AutoModel.from_pretrained(rebuilt)
    for (name, pa), (_, pb) in zip(wa.state_dict().items(), wb.state_dict().items(), strict=True):
        assert (pa == pb).all(), name
    other_seed = rebuild_tiny_ja(
        built / "vocab.txt",
        tmp_path / "seed7",
        config=TinyJaConfig(
            vocab_size=1500, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, seed=7
        ),
    )
    assert not (
        AutoModel.from_pretrained(other_seed).embeddings.word_embeddings.weight
        == wa.embeddings.word_embeddings.weight
    ).all()
