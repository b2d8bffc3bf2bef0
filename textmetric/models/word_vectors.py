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

On JSTS, starting tiny-ja from these vectors instead of random ones is an ingredient of the
quality recipe (see ``scripts/bench_quality.py`` and the README's Quality section for the
measured difference).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

DEFAULT_WINDOW = 5
CONTEXT_SMOOTHING = 0.75


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
    smoothing: float = CONTEXT_SMOOTHING,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors, has_context)``: a ``vocab_size x dim`` matrix and which rows were seen in context.

    Rows of tokens that never occur next to another token are zero; ``has_context`` says which
    rows carry information (leave the others at their random initialisation).
    """
    from scipy.sparse.linalg import svds

    counts = cooccurrence_counts(sequences, vocab_size, window=window)
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
