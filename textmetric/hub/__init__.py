"""Export to the Hugging Face Hub: a self-describing model folder, its model card, the push.

* :func:`export_model` (``textmetric export``): a folder that ``SentenceTransformer(DIR)`` and
  :meth:`textmetric.TextMetric.load` load, with safetensors weights, the tokenizer,
  ``textmetric.json`` and a ``README.md`` model card; optionally ONNX (and int8 ONNX).
* :func:`push_model` (``textmetric push``): that folder to a Hub repository through
  ``huggingface_hub`` (``--dry-run`` lists what would be sent).
"""

from textmetric.hub.card import CardInfo, EvalEntry, load_eval_results, read_front_matter, render_card
from textmetric.hub.export import ExportError, ExportResult, export_model, training_only_files
from textmetric.hub.push import (
    HubAuthError,
    HubError,
    HubOfflineError,
    PushPlan,
    PushResult,
    plan_push,
    push_model,
)

__all__ = [
    "CardInfo",
    "EvalEntry",
    "ExportError",
    "ExportResult",
    "HubAuthError",
    "HubError",
    "HubOfflineError",
    "PushPlan",
    "PushResult",
    "export_model",
    "load_eval_results",
    "plan_push",
    "push_model",
    "read_front_matter",
    "render_card",
    "training_only_files",
]
