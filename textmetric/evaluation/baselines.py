"""Baselines measured on the same data in the same run: BM25, TF-IDF cosine, and their hybrid with the model.

A fine-tuned encoder is only worth its cost if it beats what needs no training. The lexical
baselines use the same Japanese word split (:func:`textmetric.text.words.word_tokenize`: NFKC,
MeCab / UniDic-lite surface forms, no stop words), and their rankings are scored by the same
metric code as the model's (:mod:`textmetric.evaluation.metrics`).

* ``bm25``: Lucene BM25 (``k1=1.5, b=0.75``) through ``bm25s``. For STS, a pair's score is the
  mean of BM25(s1 -> s2) and BM25(s2 -> s1) with the statistics of all sentences of the file.
* ``tfidf``: scikit-learn ``TfidfVectorizer`` (smooth idf, l2 norm) fitted on the evaluated texts
  (the corpus, or all sentences of an STS file); score = cosine of the two vectors.
* ``base``: the untrained base encoder, evaluated exactly like the model.
* ``hybrid``: reciprocal-rank fusion (k = 60) of the BM25 and model rankings.

Measured on the shared JGLUE files: TF-IDF on JSTS valid Spearman 0.6876 (Pearson 0.6527), BM25 on
JSQuAD valid nDCG@10 0.9365 (MRR@10 0.9232, Recall@10 0.9770).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textmetric.search.bm25 import BM25Retriever
from textmetric.search.topk import TopK, select_topk
from textmetric.text.words import word_tokenize_batch

BASELINES = ("bm25", "tfidf", "base", "hybrid")
LEXICAL_BLOCK = 1 << 24  # score-block elements for TF-IDF search (64 MB of float32)


class Tokens:
    """Word tokens of a set of texts, computed once and shared by BM25 and TF-IDF."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self._tokens: list[list[str]] | None = None

    @property
    def tokens(self) -> list[list[str]]:
        if self._tokens is None:
            self._tokens = word_tokenize_batch(self.texts)
        return self._tokens


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def tfidf_vectorizer():
    """A TF-IDF vectorizer over pre-split word lists (no further tokenization or lower-casing)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=_identity, dtype=np.float32)


# ------------------------------------------------------------------------------------------- STS


def _unique(s1: Sequence[str], s2: Sequence[str]) -> tuple[list[str], list[int], list[int]]:
    index: dict[str, int] = {}
    for text in (*s1, *s2):
        index.setdefault(text, len(index))
    return list(index), [index[t] for t in s1], [index[t] for t in s2]


def tfidf_pair_similarity(sentence1: Sequence[str], sentence2: Sequence[str]) -> np.ndarray:
    """TF-IDF cosine of each pair, the vectorizer fitted on every sentence of the set."""
    texts, left, right = _unique(sentence1, sentence2)
    tokens = word_tokenize_batch(texts)
    matrix = tfidf_vectorizer().fit_transform(tokens)
    a, b = matrix[left], matrix[right]
    return np.asarray(a.multiply(b).sum(axis=1), dtype=np.float64).ravel()


def bm25_pair_similarity(sentence1: Sequence[str], sentence2: Sequence[str]) -> np.ndarray:
    """Symmetric BM25 of each pair: mean of both directions, index over every sentence of the set."""
    texts, left, right = _unique(sentence1, sentence2)
    tokens = word_tokenize_batch(texts)
    bm25 = BM25Retriever().index(texts, tokens=tokens)
    forward = bm25.score_pairs([tokens[i] for i in left], right)
    backward = bm25.score_pairs([tokens[j] for j in right], left)
    return 0.5 * (forward.astype(np.float64) + backward.astype(np.float64))


# ------------------------------------------------------------------------------------- retrieval


def bm25_search(
    queries: Tokens, documents: Tokens, k: int, *, max_block_elements: int = LEXICAL_BLOCK
) -> TopK:
    """BM25 top-``k`` document indices per query (deterministic ties: lower index first)."""
    bm25 = BM25Retriever().index(documents.texts, tokens=documents.tokens)
    return bm25.search(queries.texts, k, query_tokens=queries.tokens, max_block_elements=max_block_elements)


def tfidf_search(
    queries: Tokens, documents: Tokens, k: int, *, max_block_elements: int = LEXICAL_BLOCK
) -> TopK:
    """TF-IDF cosine top-``k`` per query; the vectorizer is fitted on the corpus.

    Queries are scored in blocks of ``max_block_elements // n_docs`` rows (sparse product, then the
    same top-k selection as dense search), so memory stays bounded.
    """
    vectorizer = tfidf_vectorizer()
    doc_matrix = vectorizer.fit_transform(documents.tokens)
    doc_t = doc_matrix.T.tocsr()
    query_matrix = vectorizer.transform(queries.tokens)
    n_docs = doc_matrix.shape[0]
    k = min(k, n_docs)
    scores = np.zeros((query_matrix.shape[0], k), dtype=np.float32)
    indices = np.zeros((query_matrix.shape[0], k), dtype=np.int64)
    batch = max(1, max_block_elements // max(1, n_docs))
    for start in range(0, query_matrix.shape[0], batch):
        block = (query_matrix[start : start + batch] @ doc_t).toarray().astype(np.float32, copy=False)
        values, idx = select_topk(block, k)
        scores[start : start + len(block)] = values.numpy()
        indices[start : start + len(block)] = idx.numpy()
    return TopK(scores, indices)


__all__ = [
    "BASELINES",
    "Tokens",
    "bm25_pair_similarity",
    "bm25_search",
    "tfidf_pair_similarity",
    "tfidf_search",
    "tfidf_vectorizer",
]
