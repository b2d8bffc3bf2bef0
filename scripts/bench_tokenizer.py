"""Tokenizer throughput: BertJapaneseTokenizer vs fugashi's MeCab split alone vs the fast tokenizer.

All three run in one process on the same texts, interleaved round by round, and each keeps its
best round, so the ratios hold on a busy machine. Each tokenizer is called the way
sentence-transformers calls it (batches of ``batch_size``, padding, truncation at 512, PyTorch
tensors); the MeCab-only split (``MecabTokenizer.tokenize``: NFKC + fugashi + surfaces) is the
reference a tokenizer built on that split is compared with. The fast tokenizer is measured
cold (a new one each round, caches empty: every text split afresh, every word's WordPiece
computed once) and, separately, with its text cache warm (texts seen before, as in training
epochs after the first).

    .venv/bin/python scripts/bench_tokenizer.py                       # JSTS train, tiny-ja vocab
    .venv/bin/python scripts/bench_tokenizer.py --tokenizer-dir DIR   # e.g. a bert-base-japanese-v3 copy
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


def jsts_sentences(split: str = "train") -> list[str]:
    """sentence1 and sentence2 of every JSTS pair of ``split`` (from ../shared/data)."""
    texts = []
    with (SHARED_DATA / "jsts" / f"{split}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                texts += [row["sentence1"], row["sentence2"]]
    return texts


def _batches(texts: Sequence[str], size: int) -> list[Sequence[str]]:
    return [texts[start : start + size] for start in range(0, len(texts), size)]


def bench_tokenizers(
    texts: Sequence[str],
    tokenizer_dir: str | Path,
    *,
    rounds: int = 3,
    batch_size: int = 32,
    max_length: int = 512,
) -> dict:
    """Sentences per second of the slow, MeCab-only and fast tokenizers on ``texts``, and ratios.

    Returns a dict with ``slow_per_s``, ``mecab_only_per_s``, ``fast_per_s`` (cache off),
    ``fast_cached_per_s`` (cache warm), ``fast_vs_slow``, ``fast_vs_mecab_only``,
    ``fast_cached_vs_slow`` (wall clock), the same keys with ``_cpu`` (process CPU time, steadier
    on a shared machine) and ``identical`` (the fast ids and masks equal the slow ones).
    """
    import torch
    from transformers import AutoTokenizer

    from textmetric.text.fast_tokenizer import build_fast_tokenizer

    texts = list(texts)
    slow = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    mecab = slow.word_tokenizer
    batches = _batches(texts, batch_size)
    call = {"padding": True, "truncation": True, "max_length": max_length, "return_tensors": "pt"}
    cached = build_fast_tokenizer(slow)
    [cached(batch, **call) for batch in batches]  # fill the caches

    def prepare(name: str) -> Callable[[], list]:
        """The timed work for ``name`` (a cold fast tokenizer is built here, untimed)."""
        if name == "mecab_only":
            return lambda: [mecab.tokenize(text) for text in texts]
        tokenizer = {"slow": slow, "fast_cached": cached}.get(name)
        if tokenizer is None:  # "fast": a new tokenizer each round, every cache cold
            tokenizer = build_fast_tokenizer(slow, cache_size=0)
        return lambda: [tokenizer(batch, **call) for batch in batches]

    names = ["slow", "mecab_only", "fast", "fast_cached"]
    outputs: dict[str, list] = {}
    best = dict.fromkeys(names, float("inf"))
    best_cpu = dict.fromkeys(names, float("inf"))
    for _ in range(rounds):
        for name in names:
            job = prepare(name)
            start, start_cpu = time.perf_counter(), time.process_time()
            outputs[name] = job()
            best_cpu[name] = min(best_cpu[name], time.process_time() - start_cpu)
            best[name] = min(best[name], time.perf_counter() - start)

    identical = all(
        torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["attention_mask"], b["attention_mask"])
        for a, b in zip(outputs["slow"], outputs["fast"], strict=True)  # type: ignore[arg-type]
    )
    result: dict = {"texts": len(texts), "batch_size": batch_size, "rounds": rounds, "identical": identical}
    for suffix, seconds in (("", best), ("_cpu", best_cpu)):
        rate = {name: len(texts) / max(value, 1e-9) for name, value in seconds.items()}
        for name, value in rate.items():
            result[f"{name}_per_s{suffix}"] = value
        result[f"fast_vs_slow{suffix}"] = rate["fast"] / rate["slow"]
        result[f"fast_vs_mecab_only{suffix}"] = rate["fast"] / rate["mecab_only"]
        result[f"fast_cached_vs_slow{suffix}"] = rate["fast_cached"] / rate["slow"]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tokenizer-dir", help="model folder with a BertJapaneseTokenizer (default: tiny-ja)"
    )
    parser.add_argument("--limit", type=int, default=None, help="use the first N JSTS train sentences")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--vocab-size", type=int, default=32768, help="tiny-ja vocabulary (default: v3's)")
    args = parser.parse_args(argv)

    texts = jsts_sentences("train")[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_dir = args.tokenizer_dir
        if tokenizer_dir is None:
            from textmetric.models.tiny_ja import TinyJaConfig, build_tiny_ja

            # Vocabulary from half of the sentences, so that the other half has unseen words.
            config = TinyJaConfig(
                vocab_size=args.vocab_size, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64
            )
            tokenizer_dir = build_tiny_ja(texts[::2], Path(tmp) / "tiny-ja", config=config)
        result = bench_tokenizers(texts, tokenizer_dir, rounds=args.rounds, batch_size=args.batch_size)
    print(
        f"{result['texts']} JSTS train sentences, batches of {result['batch_size']}, "
        f"best of {result['rounds']} rounds:  wall clock,  process CPU time"
    )
    rows = [
        ("BertJapaneseTokenizer", "slow_per_s"),
        ("fugashi MeCab split only", "mecab_only_per_s"),
        ("fast tokenizer (cold)", "fast_per_s"),
        ("fast tokenizer (cache warm)", "fast_cached_per_s"),
    ]
    for label, key in rows:
        print(f"  {label:<28}{result[key]:>10,.0f}/s {result[key + '_cpu']:>10,.0f}/s  sentences")
    ratios = [
        ("fast / slow", "fast_vs_slow"),
        ("fast / MeCab split only", "fast_vs_mecab_only"),
        ("fast (cache warm) / slow", "fast_cached_vs_slow"),
    ]
    for label, key in ratios:
        print(f"  {label:<28}{result[key]:>10.2f}x  {result[key + '_cpu']:>10.2f}x")
    print(f"  identical ids and masks     {result['identical']}")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
