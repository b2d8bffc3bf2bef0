"""Training pairs and hard negatives mined from raw documents.

Users have documents (job postings and résumés with application logs, FAQ entries, articles with
titles and categories, long texts), not clean pair files. :func:`mine` turns them into the
``pairs`` / ``triplets`` / ``ntuples`` files that :func:`textmetric.training.train` reads:

* positives by strategy (:mod:`~textmetric.mining.positives`): ``title-body``, ``same-label``,
  ``adjacent`` chunks, ``links``;
* negatives (:mod:`~textmetric.mining.negatives`): ``random``, ``bm25`` and ``dense`` hard
  negatives, with false-negative control (own document, same text, links, label, group, a margin
  below the positive's score, an absolute ceiling);
* a summary (:mod:`~textmetric.mining.summary`): counts per strategy, rejections by rule, score
  histograms of positives vs negatives.

Example::

    from textmetric.mining import mine

    result = mine("jsquad/valid.json", "pairs.jsonl", positives=["title-body", "same-label"],
                  negatives=["bm25"], num_negatives=3)
"""

from textmetric.mining.documents import Documents, Links, make_documents, read_documents, read_links
from textmetric.mining.negatives import EXCLUDABLE, MINERS, RULES, Negatives, NegativeSettings, mine_negatives
from textmetric.mining.pipeline import (
    OUTPUT_FORMATS,
    MiningConfig,
    MiningResult,
    mine,
    side_paths,
    write_rows,
)
from textmetric.mining.positives import STRATEGIES, Positives, PositiveSettings, mine_positives

__all__ = [
    "EXCLUDABLE",
    "MINERS",
    "OUTPUT_FORMATS",
    "RULES",
    "STRATEGIES",
    "Documents",
    "Links",
    "MiningConfig",
    "MiningResult",
    "NegativeSettings",
    "Negatives",
    "PositiveSettings",
    "Positives",
    "make_documents",
    "mine",
    "mine_negatives",
    "mine_positives",
    "read_documents",
    "read_links",
    "side_paths",
    "write_rows",
]
