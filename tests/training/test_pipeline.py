"""The training input pipeline: the collator's tokenizer, its cache, workers, length grouping."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from transformers import TrainerCallback

from textmetric.text.fast_tokenizer import FastBertJapaneseTokenizer
from textmetric.training import TrainConfig, train
from textmetric.training.sampling import LengthGroupedBatchSampler, row_lengths


class Capture(TrainerCallback):
    """Keeps the training data loader and model the trainer really uses."""

    def __init__(self) -> None:
        self.dataloader = None
        self.model = None

    def on_train_begin(self, args, state, control, train_dataloader=None, model=None, **kwargs):
        self.dataloader = train_dataloader
        self.model = model


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory, jsts_rows):
    path = tmp_path_factory.mktemp("pipeline") / "train.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in jsts_rows[:48]), "utf-8")
    return path


def _config(tmp_path, pairs_file, model_dir, **kwargs) -> TrainConfig:
    options = {
        "data": [str(pairs_file)],
        "output": str(tmp_path / "out"),
        "model": str(model_dir),
        "loss": ["cosent"],
        "batch_size": 16,
        "max_seq_length": 32,
        "max_steps": 1,
        "save_steps": 1000,
        "logging_steps": 1000,
        "device": "cpu",
        **kwargs,
    }
    return TrainConfig(**options)


def _batch_sampler(dataloader):
    """The sampler inside accelerate's wrappers."""
    sampler = dataloader.batch_sampler
    for _ in range(3):
        if isinstance(sampler, LengthGroupedBatchSampler) or not hasattr(sampler, "batch_sampler"):
            break
        sampler = sampler.batch_sampler
    return sampler


def test_collator_uses_the_fast_tokenizer_and_matches_the_slow_one(
    tmp_path, pairs_file, tiny_bert_dir, jsts_rows
):
    capture = Capture()
    train(_config(tmp_path, pairs_file, tiny_bert_dir), callbacks=[capture])
    collator = capture.dataloader.collate_fn
    tokenizer = capture.model[0].processor
    assert isinstance(tokenizer, FastBertJapaneseTokenizer) and tokenizer.is_fast_path
    # The collator tokenizes through the trained model's own Transformer module.
    assert collator.preprocess_fn.__self__ is capture.model

    features = [
        {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "score": float(r["label"])}
        for r in jsts_rows[:16]
    ]
    calls = []
    original = tokenizer._content_ids

    def counting(texts, split_special_tokens):
        calls.append(len(texts))
        return original(texts, split_special_tokens)

    tokenizer._content_ids = counting
    try:
        fast_batch = collator(features)
    finally:
        del tokenizer._content_ids
    assert calls == [16, 16]  # each column once, through the fast path, never twice

    module = capture.model[0]
    module.processor = tokenizer.to_slow()
    try:
        slow_batch = collator(features)
    finally:
        module.processor = tokenizer
    assert fast_batch.keys() == slow_batch.keys()
    for key, value in fast_batch.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, slow_batch[key]), key


def test_word_split_cache_serves_the_second_epoch(tmp_path, pairs_file, tiny_bert_dir):
    capture = Capture()
    train(_config(tmp_path, pairs_file, tiny_bert_dir, max_steps=-1, epochs=2), callbacks=[capture])
    info = capture.model[0].processor._fast_split_cached.cache_info()
    # 48 pairs: the first epoch splits each text once, the second finds every one in the cache.
    assert info.misses <= 96
    assert info.hits >= 96


def test_data_loader_workers_with_the_fast_tokenizer(tmp_path, pairs_file, tiny_bert_dir):
    capture = Capture()
    result = train(_config(tmp_path, pairs_file, tiny_bert_dir, dataloader_workers=1), callbacks=[capture])
    assert result.steps == 1
    assert capture.dataloader.num_workers == 1 and capture.dataloader.persistent_workers


def test_length_grouped_sampler_covers_every_row_in_batches_of_similar_length(jsts_rows):
    from datasets import Dataset

    rows = jsts_rows[:1000]
    dataset = Dataset.from_dict(
        {
            "sentence1": [r["sentence1"] for r in rows],
            "sentence2": [r["sentence2"] for r in rows],
            "score": [float(r["label"]) for r in rows],
        }
    )
    sampler = LengthGroupedBatchSampler(
        dataset, 32, False, valid_label_columns=["score"], seed=7, mega_batches=10
    )
    lengths = row_lengths(dataset, ["score"])
    assert lengths[0] == len(rows[0]["sentence1"]) + len(rows[0]["sentence2"])
    batches = list(sampler)
    assert len(batches) == len(sampler) == 32
    assert sorted(i for batch in batches for i in batch) == list(range(1000))
    assert list(sampler) == batches  # same epoch, same order
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != batches and sorted(i for b in second for i in b) == list(range(1000))

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in batches)

    generator = torch.Generator().manual_seed(7)
    order = torch.randperm(1000, generator=generator).tolist()
    random_batches = [order[i : i + 32] for i in range(0, 1000, 32)]
    assert padded(batches) < 0.5 * padded(random_batches)

    dropping = LengthGroupedBatchSampler(dataset, 32, True, valid_label_columns=["score"], seed=7)
    assert len(list(dropping)) == len(dropping) == 31
    assert all(len(batch) == 32 for batch in dropping)


def test_length_grouping_in_training_only_for_losses_that_allow_it(
    tmp_path, pairs_file, tiny_bert_dir, caplog
):
    capture = Capture()
    train(_config(tmp_path, pairs_file, tiny_bert_dir, length_grouping=True), callbacks=[capture])
    assert isinstance(_batch_sampler(capture.dataloader), LengthGroupedBatchSampler)

    # In-batch negatives (mnrl on plain pairs): random batches stay.
    plain_pairs = tmp_path / "pairs.jsonl"
    rows = [json.loads(line) for line in pairs_file.read_text("utf-8").splitlines()]
    plain_pairs.write_text(
        "".join(
            json.dumps({"anchor": r["sentence1"], "positive": r["sentence2"]}, ensure_ascii=False) + "\n"
            for r in rows
        ),
        "utf-8",
    )
    capture = Capture()
    with caplog.at_level(logging.WARNING, logger="textmetric"):
        train(
            _config(
                tmp_path, plain_pairs, tiny_bert_dir, length_grouping=True, loss=["mnrl"], overwrite=True
            ),
            callbacks=[capture],
        )
    assert not isinstance(_batch_sampler(capture.dataloader), LengthGroupedBatchSampler)
    assert "length grouping ignored" in caplog.text


def test_tiny_base_pairs_are_the_positive_pairs_of_pair_files_only(tmp_path):
    """PPMI pair contexts come from (anchor, positive) of pair / triplet files; a graded or labelled
    file says nothing about which two texts mean the same."""
    from textmetric.data.formats import load_pairs
    from textmetric.training.trainer import tiny_base_pairs, tiny_base_texts

    files = {
        "pairs.jsonl": [{"anchor": "犬が走る", "positive": "犬が駆ける"}],
        "triplets.jsonl": [{"anchor": "猫が寝る", "positive": "猫が眠る", "negative": "車が走る"}],
        "scored.jsonl": [
            {"sentence1": "空が青い", "sentence2": "海が青い", "score": 3.0},
            {"sentence1": "空が青い", "sentence2": "本を読む", "score": 0.0},
        ],
        "labelled.jsonl": [
            {"text": "電車が来る", "label": "train"},
            {"text": "列車が来る", "label": "train"},
            {"text": "雨が降る", "label": "weather"},
        ],
    }
    datasets = []
    for name, rows in files.items():
        path = tmp_path / name
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        datasets.append(load_pairs(path))
    assert tiny_base_pairs(datasets) == [("犬が走る", "犬が駆ける"), ("猫が寝る", "猫が眠る")]
    assert "車が走る" in tiny_base_texts(datasets) and "空が青い" in tiny_base_texts(datasets)
