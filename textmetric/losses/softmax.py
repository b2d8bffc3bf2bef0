"""``softmax``: a linear classifier over the sentence embedding, trained with cross-entropy.

The baseline of the supervised losses: the classification loss that center loss (Wen et al. 2016)
and AM-Softmax (Wang et al. 2018) start from and compare against.

    logits = W·x + b,   L = −(1/m) Σ_i log softmax(logits_i)[y_i]

``x`` is the embedding the model outputs (L2-normalised when the model normalises, the default).
The classifier ``W, b`` (one row per class) is training state only: it is checkpointed with the
run (``loss_state.pt``) and is **not** part of the exported encoder.

Data: ``labelled`` (columns ``text, label``; labels become ids ``0 .. C-1``). Batches come from
the label-grouping sampler (``GROUP_BY_LABEL``: at least two texts of each label in a batch).

When to use it: as the reference a supervised metric loss must beat. It separates classes but does
not ask for compact classes, so nearest-neighbour retrieval between texts is often weaker than
with ``center`` or ``am-softmax``.

Example::

    from textmetric.losses.softmax import SoftmaxLoss

    loss = SoftmaxLoss(model, num_classes=len(data.label_names))
    # textmetric train labelled.jsonl --loss softmax --output runs/softmax
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from textmetric.losses._common import check_labels, embed_texts, embedding_dimension, num_classes
from textmetric.losses.registry import LossSpec, register


class SoftmaxLoss(nn.Module):
    """Cross-entropy of a linear classifier ``W·x + b`` over the sentence embedding."""

    def __init__(self, model, num_classes: int, *, bias: bool = True) -> None:
        super().__init__()
        self.model = model
        self.num_classes = int(num_classes)
        dim = embedding_dimension(model)
        self.classifier = nn.Linear(dim, self.num_classes, bias=bias, device=model.device)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        return self.compute_loss_from_embeddings(embed_texts(self.model, sentence_features), labels)

    def logits(self, embeddings: Tensor) -> Tensor:
        return self.classifier(embeddings.to(self.classifier.weight.dtype))

    def compute_loss_from_embeddings(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        labels = check_labels(labels, self.num_classes, "softmax")
        return F.cross_entropy(self.logits(embeddings), labels)

    def get_config_dict(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "bias": self.classifier.bias is not None}


def _build(model, data, *, bias: bool) -> SoftmaxLoss:
    return SoftmaxLoss(model, num_classes(data, "softmax"), bias=bool(bias))


register(
    LossSpec(
        "softmax",
        ("labelled",),
        _build,
        "cross-entropy of a linear classifier over the embedding (the supervised baseline)",
        sampler="group_by_label",
        params={"bias": True},
        has_training_state=True,
    )
)
