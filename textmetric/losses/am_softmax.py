"""``am-softmax``: additive margin softmax (Wang, Cheng, Liu & Liu, IEEE SPL 2018).

"Additive Margin Softmax for Face Verification" (the same loss as CosFace, Wang et al. CVPR 2018).
Class weights ``W_j`` and the embedding ``x`` are L2-normalised, so a logit is a cosine
``cos θ_j``; the target class must win by an additive margin ``m`` in cosine, and a scale ``s``
turns cosines into logits:

    L = −(1/m_b) Σ_i log( e^{s·(cos θ_{y_i} − m)} / ( e^{s·(cos θ_{y_i} − m)} + Σ_{j≠y_i} e^{s·cos θ_j} ) )

Because it works on angles, what it trains is exactly what cosine retrieval uses: texts of one
class end up within an angular margin of their class direction, so classes are compact and apart.
With ``margin=0`` it is the normalised softmax (NormFace) at temperature ``1/s``.

This wraps pytorch-metric-learning's ``CosFaceLoss`` (weights ``W`` of shape ``dim × C``,
initialised from a normal distribution). ``W`` is training state: checkpointed with the run and
restored on resume (``loss_state.pt``), not part of the exported encoder.

Defaults are the paper's: ``margin=0.35``, ``scale=30`` (pytorch-metric-learning's own defaults,
0.35 / 64, are CosFace's).

Data: ``labelled`` (``text, label``), label-grouping batches (``GROUP_BY_LABEL``).

When to use it: class-labelled texts and a cosine-similarity model. In the paper it beats softmax
and center loss on face verification; in ``scripts/bench_losses.py`` (tiny-ja trained from scratch
for four epochs) it was behind ``softmax`` on label-retrieval MAP and class compactness while its
loss was still falling fast, so give it a longer schedule than ``softmax``.

Example::

    from textmetric.losses.am_softmax import AMSoftmaxLoss

    loss = AMSoftmaxLoss(model, num_classes=len(data.label_names), margin=0.35, scale=30.0)
    # textmetric train labelled.jsonl --loss am-softmax --loss-param margin=0.35 --output runs/am
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor, nn

from textmetric.losses._common import (
    check_labels,
    check_param,
    embed_texts,
    embedding_dimension,
    num_classes,
)
from textmetric.losses.registry import LossSpec, register


class AMSoftmaxLoss(nn.Module):
    """AM-Softmax / CosFace over the sentence embedding, via pytorch-metric-learning."""

    def __init__(self, model, num_classes: int, *, margin: float = 0.35, scale: float = 30.0) -> None:
        super().__init__()
        from pytorch_metric_learning.losses import CosFaceLoss

        self.model = model
        self.num_classes = int(num_classes)
        self.margin = check_param("margin", margin, low=0.0)
        self.scale = check_param("scale", scale, positive=True)
        self.cosface = CosFaceLoss(
            num_classes=self.num_classes,
            embedding_size=embedding_dimension(model),
            margin=self.margin,
            scale=self.scale,
        ).to(model.device)

    @property
    def weight(self) -> Tensor:
        """The class weights, ``dim × C`` (normalised inside the loss)."""
        return self.cosface.W

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        return self.compute_loss_from_embeddings(embed_texts(self.model, sentence_features), labels)

    def compute_loss_from_embeddings(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        labels = check_labels(labels, self.num_classes, "am-softmax")
        # float32: pytorch-metric-learning casts W to the embeddings' dtype in place, which would
        # turn the trained weights into fp16 / bf16 under mixed precision.
        return self.cosface(embeddings.float(), labels)

    def get_config_dict(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "margin": self.margin, "scale": self.scale}

    @property
    def citation(self) -> str:
        return """
@article{wang2018additive,
    title={Additive Margin Softmax for Face Verification},
    author={Wang, Feng and Cheng, Jian and Liu, Weiyang and Liu, Haijun},
    journal={IEEE Signal Processing Letters},
    volume={25},
    number={7},
    pages={926--930},
    year={2018}
}
"""


def _build(model, data, *, margin: float, scale: float) -> AMSoftmaxLoss:
    return AMSoftmaxLoss(model, num_classes(data, "am-softmax"), margin=margin, scale=scale)


register(
    LossSpec(
        "am-softmax",
        ("labelled",),
        _build,
        "additive margin softmax / CosFace (Wang et al. 2018): a cosine margin between classes",
        sampler="group_by_label",
        params={"margin": 0.35, "scale": 30.0},
        has_training_state=True,
    )
)
