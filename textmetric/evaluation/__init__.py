"""Evaluation: STS and retrieval metrics for a model and its baselines, reports and plots.

Python API::

    from textmetric.evaluation import evaluate

    report = evaluate(
        "runs/faq",
        sts=["../shared/data/jsts/valid.jsonl"],
        retrieval=["../shared/data/jsquad/valid.json"],
        baselines="bm25,tfidf,base,hybrid",
        base_model="models/base",
        out="runs/faq/eval",
    )
    report.metric("jsquad-valid", "model", "ndcg@10")

Building blocks: :mod:`~textmetric.evaluation.metrics` (one metric implementation over ranked
lists, used for every system), :mod:`~textmetric.evaluation.datasets` (what ``--sts`` /
``--retrieval`` accept), :mod:`~textmetric.evaluation.baselines` (BM25, TF-IDF),
:mod:`~textmetric.evaluation.report` and :mod:`~textmetric.evaluation.plots`; for labelled
data, :func:`label_metrics` (e.g. on :func:`jsquad_labelled_questions`). For training,
:func:`build_sts_evaluator` and :func:`build_retrieval_evaluator` return sentence-transformers
evaluators over the same data.
"""

from textmetric.evaluation.baselines import BASELINES, bm25_pair_similarity, tfidf_pair_similarity
from textmetric.evaluation.datasets import (
    RetrievalData,
    STSData,
    default_name,
    jsquad_labelled_questions,
    load_beir,
    load_pair_retrieval,
    load_retrieval,
    load_sts,
)
from textmetric.evaluation.metrics import (
    DEFAULT_RETRIEVAL_METRICS,
    evaluate_rankings,
    label_metrics,
    rank_by_score,
    recall_curve,
    sts_correlations,
)
from textmetric.evaluation.report import DatasetResult, EvaluationReport
from textmetric.evaluation.retrieval import build_retrieval_evaluator, dense_retrieval
from textmetric.evaluation.runner import (
    evaluate,
    evaluate_retrieval,
    evaluate_sts,
    load_model,
    parse_baselines,
)
from textmetric.evaluation.sts import build_sts_evaluator, evaluate_sts_model

__all__ = [
    "BASELINES",
    "DEFAULT_RETRIEVAL_METRICS",
    "DatasetResult",
    "EvaluationReport",
    "RetrievalData",
    "STSData",
    "bm25_pair_similarity",
    "build_retrieval_evaluator",
    "build_sts_evaluator",
    "default_name",
    "dense_retrieval",
    "evaluate",
    "evaluate_rankings",
    "evaluate_retrieval",
    "evaluate_sts",
    "evaluate_sts_model",
    "jsquad_labelled_questions",
    "label_metrics",
    "load_beir",
    "load_model",
    "load_pair_retrieval",
    "load_retrieval",
    "load_sts",
    "parse_baselines",
    "rank_by_score",
    "recall_curve",
    "sts_correlations",
    "tfidf_pair_similarity",
]
