"""Peak memory of batched exact top-k vs the naive full score matrix.

Evaluating 10,000 queries against 100,000 documents with one ``queries @ corpus.T`` needs a
10,000 x 100,000 float32 matrix: 4.0 GB before any sorting. :func:`textmetric.search.topk.dense_topk`
scores one ``query_chunk x corpus_chunk`` block at a time and keeps only the running top k.

This script draws random vectors, runs the batched top-k, samples the process's resident memory
while it runs, and prints the extra peak against the naive matrix size (the baseline, computed;
``--naive`` also runs it, which needs that much free memory). The batched result is checked
against the naive one on the first ``--check`` queries.

    python scripts/bench_eval_memory.py                      # 10,000 x 100,000, dim 64, k 100
    python scripts/bench_eval_memory.py --dim 256 --naive    # also run the full-matrix baseline
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time

import numpy as np
import torch

from textmetric.search.topk import dense_topk

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakSampler:
    """Samples RSS every few milliseconds in a thread; ``peak - start`` is the extra memory used."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.start = rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def extra(self) -> int:
        return self.peak - self.start


def mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def naive_topk(queries: np.ndarray, corpus: np.ndarray, k: int) -> np.ndarray:
    """The baseline: the full cosine matrix, then a top-k over it."""
    q = torch.nn.functional.normalize(torch.from_numpy(queries), dim=1)
    d = torch.nn.functional.normalize(torch.from_numpy(corpus), dim=1)
    scores = q @ d.T
    return torch.topk(scores, k, dim=1).indices.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--query-chunk", type=int, default=1024)
    parser.add_argument("--corpus-chunk", type=int, default=16384)
    parser.add_argument("--check", type=int, default=200, help="queries compared with the naive result")
    parser.add_argument("--naive", action="store_true", help="also run the full-matrix baseline")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    corpus = rng.standard_normal((args.docs, args.dim), dtype=np.float32)
    naive_bytes = args.queries * args.docs * 4
    block_bytes = min(args.query_chunk, args.queries) * min(args.corpus_chunk, args.docs) * 4
    result_bytes = args.queries * args.k * (4 + 8)
    print(
        f"{args.queries:,} queries x {args.docs:,} documents, dim {args.dim}, k {args.k}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"inputs (already allocated): {mb(queries.nbytes + corpus.nbytes)}")

    with PeakSampler() as batched:
        start = time.perf_counter()
        result = dense_topk(
            queries,
            corpus,
            args.k,
            similarity="cosine",
            query_chunk_size=args.query_chunk,
            corpus_chunk_size=args.corpus_chunk,
        )
        batched_seconds = time.perf_counter() - start

    check = min(args.check, args.queries)
    reference = naive_topk(queries[:check], corpus, args.k)
    same = np.mean([set(a) == set(b) for a, b in zip(result.indices[:check], reference, strict=True)])

    print(f"naive full score matrix (baseline): {mb(naive_bytes)}")
    print(
        f"batched top-k: extra peak RSS {mb(batched.extra)} "
        f"(one {args.query_chunk}x{args.corpus_chunk} block = {mb(block_bytes)}, "
        f"results = {mb(result_bytes)}), {batched_seconds:.1f} s"
    )
    print(f"ratio naive / batched peak: {naive_bytes / max(batched.extra, 1):.1f}x less memory")
    print(f"top-{args.k} sets equal to the naive ones on {check} queries: {same:.1%}")

    if args.naive:
        with PeakSampler() as naive:
            start = time.perf_counter()
            naive_topk(queries, corpus, args.k)
            naive_seconds = time.perf_counter() - start
        print(f"naive run: extra peak RSS {mb(naive.extra)}, {naive_seconds:.1f} s")
        print(f"measured ratio naive / batched peak: {naive.extra / max(batched.extra, 1):.1f}x")


if __name__ == "__main__":
    main()
