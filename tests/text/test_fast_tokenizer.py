"""The fast MeCab + WordPiece tokenizer gives exactly the ids of BertJapaneseTokenizer.

The tokenizer is a real tiny-ja ``BertJapaneseTokenizer`` whose vocabulary is learned from a
*subset* of JSTS, so the other texts have unseen words and characters ([UNK]) and, with the
small vocabulary, JSQuAD contexts longer than 512 tokens. Identity is checked on every text of
../shared/data, cased and lower-cased, then on padded batches, pairs and odd strings.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertJapaneseTokenizer

from textmetric.errors import ConfigError
from textmetric.text.fast_tokenizer import (
    PARALLEL_MIN_TEXTS,
    FastBertJapaneseTokenizer,
    build_fast_tokenizer,
    use_fast_tokenizer,
)

ODD_TEXTS = [
    "",
    "   ",
    "\u3000",
    "a\tb\nc\r\nd",
    "  前後に空白  ",
    "\x1c区切り\x1d文字\x1e です\x1f",
    "改行\u2028段落\u2029次\x85の行",
    "ゼロ幅\u200bスペース\ufeffと結合文字 e\u0301",
    "ＡＢＣ　ｄｅｆ １２３ ｶﾀｶﾅ ㈱ ①",
    "ΑΣ ΒΣΓ Σ ς σ İstanbul ǅ",
    "Hello World! THIS IS English.",
    "タイトル [SEP] 本文です。[CLS][UNK][PAD][MASK] 続き",
    "[sep] ［SEP］ [SEP[SEP]] [SE P]",
    "x" * 101,
    "あ" * 99 + "い",
    "ー" * 150,
    "絵文字😀👍🏽🇯🇵です",
    "\x00ヌル\x00文字",
    "記号 ※ § ¶ † ‡ … ‥ 〜 ～ ・ ･",
]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _shared_texts(shared_data: Path) -> dict[str, list[str]]:
    jsts = []
    for split in ("train", "valid"):
        for row in read_jsonl(shared_data / "jsts" / f"{split}.jsonl"):
            jsts += [row["sentence1"], row["sentence2"]]
    jnli = read_jsonl(shared_data / "jnli" / "valid.jsonl")
    squad = json.loads((shared_data / "jsquad" / "valid.json").read_text(encoding="utf-8"))
    paragraphs = [paragraph for article in squad["data"] for paragraph in article["paragraphs"]]
    return {
        "jsts": jsts,
        "jnli": [text for row in jnli for text in (row["sentence1"], row["sentence2"])],
        "jnli_pairs": [(row["sentence1"], row["sentence2"]) for row in jnli],
        "questions": [qa["question"] for paragraph in paragraphs for qa in paragraph["qas"]],
        "contexts": [paragraph["context"] for paragraph in paragraphs],
        "question_context": [(qa["question"], p["context"]) for p in paragraphs[:40] for qa in p["qas"][:2]],
    }


@pytest.fixture(scope="module")
def corpus(shared_data) -> dict[str, list]:
    texts = _shared_texts(shared_data)
    texts["all"] = texts["jsts"] + texts["jnli"] + texts["questions"] + texts["contexts"]
    return texts


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, corpus) -> Path:
    """tiny-ja from 1,200 JSTS sentences only: the rest of the data has unseen words and chars."""
    from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

    config = TinyJaConfig(vocab_size=2500, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    return build_tiny_ja(corpus["jsts"][:1200], tmp_path_factory.mktemp("fast") / "tiny", config=config)


def _lower_case_tokenizer(tiny_dir: Path) -> BertJapaneseTokenizer:
    return BertJapaneseTokenizer(
        vocab_file=str(tiny_dir / "vocab.txt"),
        do_lower_case=True,
        word_tokenizer_type="mecab",
        subword_tokenizer_type="wordpiece",
        mecab_kwargs={"mecab_dic": "unidic_lite"},
        model_max_length=512,
    )


@pytest.fixture(scope="module", params=["cased", "lower_case"])
def pair(request, tiny_dir) -> tuple[BertJapaneseTokenizer, FastBertJapaneseTokenizer]:
    """(slow, fast) for the folder's tokenizer and a do_lower_case=True one over the same vocabulary."""
    if request.param == "cased":
        slow = AutoTokenizer.from_pretrained(tiny_dir)
    else:
        slow = _lower_case_tokenizer(tiny_dir)
    assert type(slow) is BertJapaneseTokenizer
    return slow, build_fast_tokenizer(slow)


def _assert_same_encoding(expected, actual) -> None:
    assert list(expected.keys()) == list(actual.keys())
    for key in expected:
        want, got = expected[key], actual[key]
        if isinstance(want, torch.Tensor):
            assert isinstance(got, torch.Tensor) and got.dtype == want.dtype, key
            assert torch.equal(want, got), key
        elif isinstance(want, np.ndarray):
            assert isinstance(got, np.ndarray) and got.dtype == want.dtype, key
            assert np.array_equal(want, got), key
        else:
            assert want == got, key


# ---------------------------------------------------------------------- every shared text
def test_identical_ids_on_every_shared_text(pair, corpus):
    slow, fast = pair
    texts = corpus["all"]
    expected = slow(texts, truncation=True, max_length=512)["input_ids"]
    assert fast(texts, truncation=True, max_length=512)["input_ids"] == expected
    # The data exercises [UNK] (unseen words / characters) and truncation.
    assert sum(slow.unk_token_id in ids for ids in expected) > 1000
    assert sum(len(ids) == 512 for ids in expected) >= 1

    contexts = corpus["contexts"]
    untruncated = slow(contexts)["input_ids"]
    assert max(len(ids) for ids in untruncated) > 512
    assert fast(contexts)["input_ids"] == untruncated


def test_odd_strings_and_tokenize(pair):
    slow, fast = pair
    for text in ODD_TEXTS:
        assert fast.tokenize(text) == slow.tokenize(text), repr(text)
        assert fast(text) == slow(text), repr(text)
        assert fast.encode(text) == slow.encode(text), repr(text)
        split = {"split_special_tokens": True}
        assert fast(text, **split)["input_ids"] == slow(text, **split)["input_ids"], repr(text)
    assert fast(ODD_TEXTS, padding=True, return_tensors="pt")["input_ids"].tolist() == (
        slow(ODD_TEXTS, padding=True, return_tensors="pt")["input_ids"].tolist()
    )


# ---------------------------------------------------------------------- batches and pairs
BATCH_OPTIONS = [
    {"padding": True, "truncation": True, "max_length": 512, "return_tensors": "pt"},
    {
        "padding": True,
        "truncation": True,
        "max_length": 40,
        "return_tensors": "pt",
        "return_token_type_ids": True,
    },
    {"padding": "max_length", "truncation": True, "max_length": 64, "return_tensors": "np"},
    {"padding": True, "pad_to_multiple_of": 8, "truncation": True, "max_length": 64, "return_tensors": "pt"},
    {"padding": True, "padding_side": "left", "truncation": True, "max_length": 48, "return_tensors": "pt"},
    {"padding": "longest", "return_token_type_ids": True},
    {"truncation": "only_first", "max_length": 20, "return_attention_mask": False},
    {"add_special_tokens": False, "padding": True, "return_tensors": "pt"},
    {},
]


@pytest.mark.parametrize("options", BATCH_OPTIONS, ids=lambda options: ",".join(map(str, options.values())))
def test_batches_with_padding_masks_and_token_types(tiny_dir, corpus, options):
    slow = AutoTokenizer.from_pretrained(tiny_dir)
    fast = build_fast_tokenizer(slow)
    mixed = corpus["jsts"][-20:] + corpus["questions"][:6] + corpus["contexts"][:6] + ODD_TEXTS[:5]
    for start in range(0, len(mixed), 16):
        batch = mixed[start : start + 16]
        _assert_same_encoding(slow(batch, **options), fast(batch, **options))
    _assert_same_encoding(slow(mixed[0], **options), fast(mixed[0], **options))


PAIR_OPTIONS = [
    {
        "padding": True,
        "truncation": True,
        "max_length": 512,
        "return_tensors": "pt",
        "return_token_type_ids": True,
    },
    {"padding": True, "truncation": "longest_first", "max_length": 25, "return_token_type_ids": True},
    {"padding": "max_length", "truncation": "only_second", "max_length": 64, "return_tensors": "pt"},
    {"truncation": "only_first", "max_length": 70, "return_token_type_ids": True},
    {"padding": True, "padding_side": "left", "return_tensors": "np", "return_token_type_ids": True},
    {"add_special_tokens": False, "return_token_type_ids": True},
]


@pytest.mark.parametrize("options", PAIR_OPTIONS, ids=lambda options: ",".join(map(str, options.values())))
def test_text_pairs(tiny_dir, corpus, options):
    slow = AutoTokenizer.from_pretrained(tiny_dir)
    fast = build_fast_tokenizer(slow)
    pairs = corpus["jnli_pairs"][:24] + corpus["question_context"][:24] + [("", "空の前"), ("空の後", "")]
    firsts, seconds = [a for a, _ in pairs], [b for _, b in pairs]
    for start in range(0, len(pairs), 13):
        chunk = slice(start, start + 13)
        _assert_same_encoding(
            slow(firsts[chunk], seconds[chunk], **options), fast(firsts[chunk], seconds[chunk], **options)
        )
        _assert_same_encoding(slow(pairs[chunk], **options), fast(pairs[chunk], **options))
    _assert_same_encoding(slow(firsts[0], seconds[0], **options), fast(firsts[0], seconds[0], **options))


def test_all_jnli_and_question_context_pairs(tiny_dir, corpus):
    slow = AutoTokenizer.from_pretrained(tiny_dir)
    fast = build_fast_tokenizer(slow)
    for pairs in (corpus["jnli_pairs"], corpus["question_context"]):
        options = {"truncation": True, "max_length": 128, "return_token_type_ids": True}
        _assert_same_encoding(slow(pairs, **options), fast(pairs, **options))


def test_options_outside_the_fast_path_still_match(tiny_dir, corpus):
    slow = AutoTokenizer.from_pretrained(tiny_dir)
    fast = build_fast_tokenizer(slow)
    texts = corpus["questions"][:5]
    options = {"return_special_tokens_mask": True, "return_length": True}
    _assert_same_encoding(slow(texts, **options), fast(texts, **options))
    # (transformers' slow batch path cannot return overflowing tokens; a single text can)
    options = {"truncation": True, "max_length": 12, "stride": 2, "return_overflowing_tokens": True}
    _assert_same_encoding(slow(texts[0], **options), fast(texts[0], **options))
    words = [["今日", "は", "晴れ"], ["テスト"]]
    _assert_same_encoding(slow(words, is_split_into_words=True), fast(words, is_split_into_words=True))
    ids = fast(texts[0])["input_ids"]
    assert fast.decode(ids) == slow.decode(ids)
    assert fast.convert_ids_to_tokens(ids) == slow.convert_ids_to_tokens(ids)


# ---------------------------------------------------------------------- state, caching, workers
def test_cache_pickle_and_workers(tiny_dir, corpus):
    slow = AutoTokenizer.from_pretrained(tiny_dir)
    fast = build_fast_tokenizer(slow, num_workers=2)
    texts = corpus["jsts"][: PARALLEL_MIN_TEXTS + 100]
    expected = slow(texts[:300])["input_ids"]
    assert fast(texts)["input_ids"][:300] == expected  # across 2 processes
    assert fast(texts[:300])["input_ids"] == expected  # in-process, cache cold
    assert fast(texts[:300])["input_ids"] == expected  # cache warm

    restored = pickle.loads(pickle.dumps(fast))
    assert type(restored) is FastBertJapaneseTokenizer and restored.is_fast_path
    assert restored(texts[:300])["input_ids"] == expected
    assert fast.vocab == slow.vocab and len(fast) == len(slow)
    assert fast.model_max_length == slow.model_max_length == 512


def test_added_tokens(tiny_dir):
    slow = AutoTokenizer.from_pretrained(tiny_dir)
    fast = build_fast_tokenizer(slow)
    text = "自転車に乗る新語トークンです"
    # A token outside the vocabulary cannot be reproduced by WordPiece: the slow path takes over.
    for tokenizer in (slow, fast):
        tokenizer.add_tokens(["新語トークン"])
    assert not fast.is_fast_path
    assert fast(text)["input_ids"] == slow(text)["input_ids"]
    assert slow.convert_tokens_to_ids("新語トークン") in slow(text)["input_ids"]
    # Adding tokens to the slow tokenizer afterwards does not touch an earlier fast copy.
    fresh_slow = AutoTokenizer.from_pretrained(tiny_dir)
    fresh_fast = build_fast_tokenizer(fresh_slow)
    fresh_slow.add_tokens(["別の新語"])
    assert fresh_fast.is_fast_path and "別の新語" not in fresh_fast.get_vocab()


def test_save_pretrained_writes_the_original_tokenizer(tiny_dir, tmp_path):
    slow = AutoTokenizer.from_pretrained(tiny_dir)
    fast = build_fast_tokenizer(slow)
    slow.save_pretrained(tmp_path / "slow")
    fast.save_pretrained(tmp_path / "fast")
    config = json.loads((tmp_path / "fast" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "BertJapaneseTokenizer"
    for name in ("tokenizer_config.json", "vocab.txt"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "slow" / name).read_bytes()
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "fast")
    assert type(reloaded) is BertJapaneseTokenizer
    assert build_fast_tokenizer(tmp_path / "fast")("今日は晴れ") == slow("今日は晴れ")
    loaded = FastBertJapaneseTokenizer.from_pretrained(tmp_path / "fast", cache_size=8)
    assert loaded.is_fast_path and loaded("今日は[SEP]晴れ") == slow("今日は[SEP]晴れ")


def _with_tokenizer_config(tiny_dir: Path, out: Path, **changes) -> Path:
    shutil.copytree(tiny_dir, out)
    config_file = out / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config.update(changes)
    config_file.write_text(json.dumps(config), encoding="utf-8")
    return out


def test_unsupported_configurations_raise_config_error(tiny_dir, tmp_path):
    vocab_file = str(tiny_dir / "vocab.txt")
    unsupported = [
        BertJapaneseTokenizer(vocab_file, word_tokenizer_type="basic"),
        BertJapaneseTokenizer(vocab_file, word_tokenizer_type="mecab", subword_tokenizer_type="character"),
        BertJapaneseTokenizer(
            vocab_file, word_tokenizer_type="mecab", mecab_kwargs={"mecab_option": "-Owakati"}
        ),
    ]
    for tokenizer in unsupported:
        with pytest.raises(ConfigError):
            build_fast_tokenizer(tokenizer)
    from transformers import BertTokenizer

    with pytest.raises(ConfigError, match="BertJapaneseTokenizer"):
        build_fast_tokenizer(BertTokenizer(vocab_file))
    with pytest.raises(ConfigError, match="subword"):
        build_fast_tokenizer(
            _with_tokenizer_config(tiny_dir, tmp_path / "char", subword_tokenizer_type="character")
        )


# ---------------------------------------------------------------------- sentence-transformers
class _Messages(list):
    def __init__(self) -> None:
        super().__init__()
        self.debug: list[str] = []

    def add(self, record: logging.LogRecord) -> None:
        (self if record.levelno >= logging.INFO else self.debug).append(record.getMessage())


@pytest.fixture
def textmetric_log() -> Iterator[list[str]]:
    """Messages logged to the "textmetric" logger at INFO or above (whatever the CLI did to its
    propagation); DEBUG ones go to ``textmetric_log.debug``."""
    records = _Messages()
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.add  # type: ignore[method-assign]
    logger = logging.getLogger("textmetric")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_use_fast_tokenizer_siamese_encode_save_reload(tiny_dir, corpus, tmp_path, textmetric_log):
    from sentence_transformers import SentenceTransformer

    from textmetric.models import build_dual_encoder

    texts = corpus["questions"][:40] + corpus["contexts"][:8] + ODD_TEXTS[:4]
    slow_model = build_dual_encoder(str(tiny_dir), max_seq_length=64)
    fast_model = build_dual_encoder(str(tiny_dir), max_seq_length=64)
    assert use_fast_tokenizer(fast_model) is True
    # Said at DEBUG: it happens on every model load, and at INFO it flooded every log.
    assert any("using fast Japanese tokenizer" in message for message in textmetric_log.debug)
    assert not any("using fast Japanese tokenizer" in message for message in textmetric_log)
    assert isinstance(fast_model[0].tokenizer, FastBertJapaneseTokenizer)
    assert fast_model.max_seq_length == 64

    features_slow, features_fast = slow_model.preprocess(texts), fast_model.preprocess(texts)
    for key in ("input_ids", "attention_mask"):
        assert torch.equal(features_slow[key], features_fast[key])
    expected = slow_model.encode(texts, batch_size=16, convert_to_numpy=True)
    np.testing.assert_array_equal(fast_model.encode(texts, batch_size=16, convert_to_numpy=True), expected)

    fast_model.save(str(tmp_path / "saved"))
    config = json.loads((tmp_path / "saved" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "BertJapaneseTokenizer"
    reloaded = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    assert type(reloaded[0].tokenizer) is BertJapaneseTokenizer
    assert reloaded.max_seq_length == 64
    np.testing.assert_array_equal(reloaded.encode(texts, batch_size=16, convert_to_numpy=True), expected)


def test_use_fast_tokenizer_dssm_towers(tiny_dir, corpus):
    from textmetric.models import build_dual_encoder

    queries, documents = corpus["questions"][:20], corpus["contexts"][:6]
    slow_model = build_dual_encoder(str(tiny_dir), structure="dssm", max_seq_length=48)
    fast_model = build_dual_encoder(str(tiny_dir), structure="dssm", max_seq_length=48)
    assert use_fast_tokenizer(fast_model) is True
    from sentence_transformers.sentence_transformer.modules import Transformer

    towers = [module for module in fast_model.modules() if isinstance(module, Transformer)]
    assert len(towers) == 2 and all(isinstance(t.tokenizer, FastBertJapaneseTokenizer) for t in towers)
    np.testing.assert_array_equal(fast_model.encode_query(queries), slow_model.encode_query(queries))
    np.testing.assert_array_equal(
        fast_model.encode_document(documents), slow_model.encode_document(documents)
    )


def test_use_fast_tokenizer_falls_back(tiny_dir, tmp_path, textmetric_log):
    from textmetric.models import build_dual_encoder

    folder = _with_tokenizer_config(tiny_dir, tmp_path / "char", subword_tokenizer_type="character")
    model = build_dual_encoder(str(folder), max_seq_length=32)
    assert use_fast_tokenizer(model) is False
    assert type(model[0].tokenizer) is BertJapaneseTokenizer
    assert any(message.startswith("falling back to the slow tokenizer:") for message in textmetric_log)


def test_package_reexports_the_fast_tokenizer_without_importing_transformers():
    import subprocess
    import sys

    import textmetric.text
    import textmetric.text.fast_tokenizer as module
    from textmetric.text import FastBertJapaneseTokenizer as reexported_class
    from textmetric.text import build_fast_tokenizer as reexported_build
    from textmetric.text import use_fast_tokenizer as reexported_use

    assert reexported_use is use_fast_tokenizer and callable(reexported_use)
    assert reexported_build is build_fast_tokenizer and reexported_class is FastBertJapaneseTokenizer
    assert textmetric.text.fast_tokenizer is module  # the submodule, not shadowed by a function
    code = "import sys, textmetric.text; print('transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
