"""The offline tiny-ja base: a real BertJapaneseTokenizer learned from text, a small random BERT."""

from __future__ import annotations

import filecmp

import pytest
from transformers import AutoModel, AutoTokenizer, BertJapaneseTokenizer

from textmetric.errors import ConfigError
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


def test_dropout_is_set_on_the_bert_and_leaves_the_initial_weights_alone(tmp_path, japanese_texts):
    """Dropout acts in training only; the initial weights (hence a rebuilt base) do not depend on it."""
    from dataclasses import replace

    import torch

    plain = build_tiny_ja(japanese_texts[:200], tmp_path / "d0", config=replace(SMALL, dropout=0.0))
    dropped = build_tiny_ja(japanese_texts[:200], tmp_path / "d3", config=replace(SMALL, dropout=0.3))
    a, b = AutoModel.from_pretrained(plain), AutoModel.from_pretrained(dropped)
    assert b.config.hidden_dropout_prob == b.config.attention_probs_dropout_prob == 0.3
    assert a.config.hidden_dropout_prob == a.config.attention_probs_dropout_prob == 0.0
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert (pa == pb).all(), name
    ids = AutoTokenizer.from_pretrained(plain)(japanese_texts[:4], padding=True, return_tensors="pt")
    a.train(), b.train()
    torch.manual_seed(0)
    assert torch.equal(a(**ids).last_hidden_state, a(**ids).last_hidden_state)
    assert not torch.allclose(b(**ids).last_hidden_state, b(**ids).last_hidden_state)
    b.eval()
    assert torch.allclose(a.eval()(**ids).last_hidden_state, b(**ids).last_hidden_state)
    assert TinyJaConfig().dropout == 0.1  # BERT's, as models recorded before the setting were built
    for bad in (-0.1, 1.0):
        with pytest.raises(ConfigError, match=r"dropout must be in \[0, 1\)"):
            TinyJaConfig(dropout=bad)


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


def test_ppmi_word_init_puts_co_occurring_words_together(tmp_path, japanese_texts):
    """word_init="ppmi": same vocabulary and network, word embeddings from the texts' co-occurrences."""
    from dataclasses import replace

    import numpy as np

    random = replace(SMALL, vocab_size=3000)  # enough for whole words such as 電車 and 女性
    ppmi = replace(random, word_init="ppmi")
    random_dir = build_tiny_ja(japanese_texts, tmp_path / "random", config=random)
    ppmi_dir = build_tiny_ja(japanese_texts, tmp_path / "ppmi", config=ppmi)
    assert filecmp.cmp(random_dir / "vocab.txt", ppmi_dir / "vocab.txt", shallow=False)
    random_model, ppmi_model = AutoModel.from_pretrained(random_dir), AutoModel.from_pretrained(ppmi_dir)
    words_random = random_model.embeddings.word_embeddings.weight.detach().numpy()
    words = ppmi_model.embeddings.word_embeddings.weight.detach().numpy()
    assert (words[0] == words_random[0]).all()  # [PAD] keeps its row
    assert not np.allclose(words[10:], words_random[10:])
    assert words.std() == pytest.approx(ppmi_model.config.initializer_range, rel=0.2)  # BERT's scale
    pa, pb = random_model.encoder.state_dict(), ppmi_model.encoder.state_dict()
    assert all((pa[name] == pb[name]).all() for name in pa)  # the rest of the network is unchanged

    # Words used in the same slots of the captions end up close; unrelated words do not.
    tokenizer = AutoTokenizer.from_pretrained(ppmi_dir)
    vocab = tokenizer.get_vocab()

    def cos(a: str, b: str, table) -> float:
        x, y = table[vocab[a]], table[vocab[b]]
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert cos("電車", "列車", words) > cos("電車", "男性", words) + 0.3
    assert cos("男性", "女性", words) > cos("男性", "電車", words) + 0.3
    assert cos("電車", "列車", words) > cos("電車", "列車", words_random) + 0.3

    rebuilt = rebuild_tiny_ja(ppmi_dir / "vocab.txt", tmp_path / "rebuilt", config=ppmi, texts=japanese_texts)
    assert (
        AutoModel.from_pretrained(rebuilt).embeddings.word_embeddings.weight.detach().numpy() == words
    ).all()
    with pytest.raises(ValueError, match="needs the texts"):
        rebuild_tiny_ja(ppmi_dir / "vocab.txt", tmp_path / "no-texts", config=ppmi)
    with pytest.raises(ConfigError, match="word_init must be one of random, ppmi"):
        TinyJaConfig(word_init="glove")


def test_ppmi_counts_a_seeded_sample_of_a_large_corpus_and_needs_co_occurrences(
    tmp_path, japanese_texts, monkeypatch, caplog
):
    import logging

    from textmetric.models import tiny_ja

    ppmi = TinyJaConfig(
        vocab_size=1500, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, word_init="ppmi"
    )
    monkeypatch.setattr(tiny_ja, "PPMI_MAX_TEXTS", 200)
    with caplog.at_level(logging.INFO, logger="textmetric.models.tiny_ja"):
        a = build_tiny_ja(japanese_texts, tmp_path / "a", config=ppmi)
    assert "PPMI word vectors from 200 distinct texts" in caplog.text
    b = build_tiny_ja(japanese_texts, tmp_path / "b", config=ppmi)
    wa = AutoModel.from_pretrained(a).embeddings.word_embeddings.weight
    assert (wa == AutoModel.from_pretrained(b).embeddings.word_embeddings.weight).all()  # same sample
    with pytest.raises(ConfigError, match="--word-init random"):
        build_tiny_ja(["犬", "猫", "鳥"], tmp_path / "single", config=ppmi)


def test_positive_pairs_as_ppmi_contexts_make_word_vectors_better_at_sts(tmp_path, jsts_rows, japanese_texts):
    """ppmi_pair_weight > 0: each positive pair is a context of the tokens of both its texts.

    Measured as what the words alone know: the cosine of the mean word vectors of two sentences,
    Spearman against the gold scores of 1,000 JSTS pairs none of whose sentences were counted.
    """
    import json
    from dataclasses import replace

    import numpy as np
    from scipy.stats import spearmanr

    pairs = [(r["sentence1"], r["sentence2"]) for r in jsts_rows[:1500] if r["label"] >= 3.5]
    held = jsts_rows[1500:2500]
    window = replace(SMALL, vocab_size=3000, hidden_size=64, word_init="ppmi")
    with_pairs = replace(window, ppmi_pair_weight=0.1)

    def static_spearman(folder) -> float:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        table = AutoModel.from_pretrained(folder).embeddings.word_embeddings.weight.detach().numpy()

        def mean(text: str):
            vector = table[tokenizer(text, add_special_tokens=False)["input_ids"]].mean(axis=0)
            return vector / np.linalg.norm(vector)

        cosines = [float(mean(r["sentence1"]) @ mean(r["sentence2"])) for r in held]
        return float(spearmanr(cosines, [r["label"] for r in held])[0])

    alone = build_tiny_ja(japanese_texts, tmp_path / "window", config=window, pairs=pairs)
    both = build_tiny_ja(japanese_texts, tmp_path / "pairs", config=with_pairs, pairs=pairs)
    assert static_spearman(both) > static_spearman(alone) + 0.005  # 0.593 vs 0.582 when written
    # Pairs are ignored at weight 0, recorded, and needed again to rebuild the same weights.
    ignored = build_tiny_ja(japanese_texts, tmp_path / "ignored", config=window, pairs=pairs)
    words = AutoModel.from_pretrained(alone).embeddings.word_embeddings.weight
    assert (AutoModel.from_pretrained(ignored).embeddings.word_embeddings.weight == words).all()
    info = json.loads((both / "tiny_ja.json").read_text("utf-8"))
    assert info["ppmi_pair_weight"] == 0.1 and info["num_pairs"] == len(pairs)
    rebuilt = rebuild_tiny_ja(
        both / "vocab.txt", tmp_path / "rebuilt", config=with_pairs, texts=japanese_texts, pairs=pairs
    )
    expected = AutoModel.from_pretrained(both).embeddings.word_embeddings.weight
    assert (AutoModel.from_pretrained(rebuilt).embeddings.word_embeddings.weight == expected).all()
    with pytest.raises(ConfigError, match="ppmi_pair_weight must be >= 0"):
        TinyJaConfig(word_init="ppmi", ppmi_pair_weight=-0.1)
