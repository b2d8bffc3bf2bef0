"""Distributional word vectors (PPMI + SVD) to start a from-scratch BERT's word embeddings from.

A BERT trained from scratch on a few thousand pairs starts with random word embeddings: that 猫
and ネコ, or 電車 and 列車, mean nearly the same thing it has to learn from the pair labels alone,
and a word seen in few pairs stays close to random. Counting which tokens occur near which in
the training texts gives that for free, in seconds, with no pretrained model: the positive
pointwise mutual information of token co-occurrences, factorised by a truncated SVD (Levy,
Goldberg and Dagan, "Improving Distributional Similarity with Lessons Learned from Word
Embeddings", TACL 2015), with their two settings that matter most:

* context-distribution smoothing: ``PPMI(w, c) = max(0, log P(w, c) / (P(w) P_a(c)))`` with
  ``P_a(c) = n(c)^a / sum n(c')^a``, ``a = 0.75`` (rare contexts no longer get inflated PMI);
* symmetric eigenvalue weighting: vectors ``U_d sqrt(S_d)`` rather than ``U_d S_d``.

Co-occurrences are counted within ``window`` tokens on either side of each token of a text,
weighted ``1 / distance`` (as word2vec's dynamic window does on average). Texts are counted once
each however often they repeat in the training rows: a sentence used in ten pairs is not ten
times the evidence.

**Pair contexts.** A window only sees words used *together*; synonyms are rarely used together,
they are used *instead of* each other. Positive training pairs (two captions of one image, a
question and its answer) say which texts mean the same, so each pair is also a context: the
distinct tokens of both its texts co-occur with it (an extra context column, weighted
``pair_weight`` against the window counts). Words that the two sides of many pairs use in each
other's place (電車 in one caption, 列車 in the other) then share contexts, as words aligned across
the sentences of a parallel corpus do.

On JSTS, starting tiny-ja from these vectors instead of random ones is an ingredient of the
quality recipe (see ``scripts/bench_quality.py`` and the README's Quality section for the
measured difference).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

DEFAULT_WINDOW = 5
CONTEXT_SMOOTHING = 0.75
DEFAULT_PAIR_WEIGHT = 0.1


def cooccurrence_counts(sequences: Iterable[Sequence[int]], vocab_size: int, *, window: int = DEFAULT_WINDOW):
    """Symmetric ``vocab_size x vocab_size`` sparse matrix of ``1 / distance``-weighted co-occurrences."""
    import scipy.sparse as sp

    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for sequence in sequences:
        ids = np.asarray(sequence, dtype=np.int64)
        for distance in range(1, min(window, len(ids) - 1) + 1):
            left, right = ids[:-distance], ids[distance:]
            weight = np.full(len(left), 1.0 / distance)
            rows += [left, right]
            cols += [right, left]
            weights += [weight, weight]
    if not rows:
        return sp.csr_matrix((vocab_size, vocab_size))
    return sp.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(vocab_size, vocab_size),
    ).tocsr()


def pair_context_counts(pairs: Iterable[tuple[Sequence[int], Sequence[int]]], vocab_size: int):
    """``vocab_size x n_pairs`` sparse 0/1 matrix: which tokens occur in either text of each pair."""
    import scipy.sparse as sp

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for number, (first, second) in enumerate(pairs):
        tokens = np.unique(np.concatenate([np.asarray(first, np.int64), np.asarray(second, np.int64)]))
        rows.append(tokens)
        cols.append(np.full(len(tokens), number, dtype=np.int64))
    if not rows:
        return sp.csr_matrix((vocab_size, 0))
    row, col = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(vocab_size, len(rows)))


def ppmi_matrix(counts, *, smoothing: float = CONTEXT_SMOOTHING):
    """Positive PMI of a co-occurrence matrix, with the context distribution raised to ``smoothing``."""
    import scipy.sparse as sp

    counts = counts.tocoo()
    total = counts.sum()
    if total == 0:
        return sp.csr_matrix(counts.shape)
    word_p = np.asarray(counts.sum(axis=1)).ravel() / total
    context = np.asarray(counts.sum(axis=0)).ravel() ** smoothing
    context_p = context / context.sum()
    pmi = np.log(counts.data / total / (word_p[counts.row] * context_p[counts.col]))
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=counts.shape)


def ppmi_svd_vectors(
    sequences: Iterable[Sequence[int]],
    vocab_size: int,
    dim: int,
    *,
    window: int = DEFAULT_WINDOW,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]] = (),
    pair_weight: float = DEFAULT_PAIR_WEIGHT,
    smoothing: float = CONTEXT_SMOOTHING,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors, has_context)``: a ``vocab_size x dim`` matrix and which rows were seen in context.

    ``pairs`` (token ids of the two texts of positive pairs) add one context per pair, each
    occurrence weighted ``pair_weight`` (see the module doc). Rows of tokens seen in no context are
    zero; ``has_context`` says which rows carry information (leave the others at their random
    initialisation).
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    if pair_weight < 0:
        raise ValueError(f"pair_weight must be >= 0, not {pair_weight}")
    counts = cooccurrence_counts(sequences, vocab_size, window=window)
    if len(pairs) and pair_weight > 0:
        counts = sp.hstack([counts, pair_weight * pair_context_counts(pairs, vocab_size)]).tocsr()
    has_context = np.asarray(counts.sum(axis=1)).ravel() > 0
    ppmi = ppmi_matrix(counts, smoothing=smoothing)
    rank = min(dim, min(ppmi.shape) - 1, int(has_context.sum()) - 1)
    vectors = np.zeros((vocab_size, dim), dtype=np.float64)
    if rank < 1 or ppmi.nnz == 0:
        return vectors, np.zeros(vocab_size, dtype=bool)
    # A fixed start vector makes ARPACK (and so the vectors) reproducible run to run.
    start = np.random.default_rng(seed).standard_normal(min(ppmi.shape))
    u, s, _ = svds(ppmi, k=rank, v0=start)
    order = np.argsort(-s)
    vectors[:, :rank] = u[:, order] * np.sqrt(s[order])
    vectors[~has_context] = 0.0  # exactly: the SVD leaves rounding noise in rows it had no data for
    return vectors, has_context
