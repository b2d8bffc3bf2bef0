"""textmetric: deep metric learning for Japanese text.

Fine-tune a Japanese BERT as a Siamese or DSSM dual encoder with metric-learning losses, mine
training pairs and hard negatives, evaluate against baselines, search, and publish to the Hub.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from textmetric.api import TextMetric
    from textmetric.index import SimilarityIndex

# Imported on first use, so that `import textmetric` (and the CLI start-up) stays fast.
_LAZY = {"TextMetric": "textmetric.api", "SimilarityIndex": "textmetric.index"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textmetric' has no attribute {name!r}")


__all__ = ["SimilarityIndex", "TextMetric", "__version__"]
