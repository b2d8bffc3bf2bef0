"""``center``: softmax cross-entropy plus center loss (Wen, Zhang, Li & Qiao, ECCV 2016).

"A Discriminative Feature Learning Approach for Deep Face Recognition". The softmax term keeps the
classes apart; the center term pulls every embedding towards the centre of its class, so classes
become compact and nearest-neighbour search between texts works better:

    L = L_S + λ·L_C,    L_C = ½ Σ_i ‖x_i − c_{y_i}‖²

``L_S`` is the cross-entropy of a linear classifier ``W·x + b`` (the ``softmax`` loss). Both
terms are averaged over the ``m`` texts of the mini-batch (the paper sums both; dividing both by
``m`` keeps their ratio, hence λ, the same), and the gradient of ``L_C`` reaches the embeddings
only. The class centres ``c_j`` are **not** learned by the optimizer: after each mini-batch they
move towards the batch's texts of class ``j`` (the paper's Eq. 4):

    Δc_j = Σ_{i: y_i = j} (c_j − x_i) / (1 + n_j),    c_j ← c_j − α·Δc_j

with ``n_j`` texts of class ``j`` in the batch; classes absent from the batch stay put. Centres
start at zero. They are a buffer of the loss: checkpointed with the run and restored on resume
(``loss_state.pt``), never part of the exported encoder; in distributed training the update
uses the whole global batch, so every process keeps the same centres.

Defaults are the paper's face-recognition setting: ``lambda=0.003``, ``alpha=0.5``. The paper's
features are unnormalised 512-d vectors whose squared distances run into the hundreds; with the
L2-normalised embeddings textmetric models output by default, ``‖x − c‖² ≤ 4`` and λ=0.003
makes the center term negligible: in ``scripts/bench_losses.py`` ``center`` and ``softmax`` agree
to three decimals. Raise ``lambda`` (the paper's toy example shows 0.001 to 1) or train with
``normalize=False`` (there ``center`` was slightly more compact than ``softmax``).

Data: ``labelled`` (``text, label``), label-grouping batches (``GROUP_BY_LABEL``).

When to use it: class-labelled texts where the embedding will serve nearest-neighbour search or
clustering, not only classification (the paper's setting: identities at training time, open-set
verification at test time).

Example::

    from textmetric.losses.center import CenterLoss

    loss = CenterLoss(model, num_classes=len(data.label_names), lambda_=0.003, alpha=0.5)
    # textmetric train labelled.jsonl --loss center --loss-param lambda=0.01 --output runs/center
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textmetric.errors import ConfigError
from textmetric.losses._common import (
    check_labels,
    check_param,
    embed_texts,
    embedding_dimension,
    num_classes,
)
from textmetric.losses.registry import LossSpec, register


def center_term(embeddings: Tensor, centers: Tensor, labels: Tensor) -> Tensor:
    """``½·mean_i ‖x_i − c_{y_i}‖²``, with the centres treated as constants."""
    diff = embeddings.float() - centers.detach()[labels]
    return 0.5 * diff.pow(2).sum(dim=1).mean()


@torch.no_grad()
def center_update(centers: Tensor, embeddings: Tensor, labels: Tensor, alpha: float) -> Tensor:
    """The paper's Eq. 4, in place: ``c_j ← c_j − α·Σ_{y_i=j}(c_j − x_i) / (1 + n_j)``."""
    sums = torch.zeros_like(centers).index_add_(0, labels, embeddings.detach().to(centers.dtype))
    counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
    sums, counts = _global_sum(sums, counts)
    delta = (counts.unsqueeze(1) * centers - sums) / (1.0 + counts.unsqueeze(1))
    centers.sub_(alpha * delta)
    return centers


def _global_sum(sums: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """Sum over the processes of a distributed run, so that every process moves its centres alike."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        packed = torch.cat([sums, counts.unsqueeze(1)], dim=1)
        dist.all_reduce(packed)
        return packed[:, :-1], packed[:, -1]
    return sums, counts


class CenterLoss(nn.Module):
    """Softmax cross-entropy + ``λ``·center loss; centres updated per mini-batch with rate ``α``."""

    def __init__(
        self, model, num_classes: int, *, lambda_: float = 0.003, alpha: float = 0.5, bias: bool = True
    ) -> None:
        super().__init__()
        self.model = model
        self.num_classes = int(num_classes)
        self.lambda_ = check_param("lambda", lambda_, low=0.0)
        self.alpha = check_param("alpha", alpha, low=0.0)
        if self.alpha > 1:
            raise ConfigError(f"loss parameter alpha (the centre update rate) must be <= 1, not {self.alpha}")
        dim = embedding_dimension(model)
        self.classifier = nn.Linear(dim, self.num_classes, bias=bias, device=model.device)
        self.register_buffer("centers", torch.zeros(self.num_classes, dim, device=model.device))

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        return self.compute_loss_from_embeddings(embed_texts(self.model, sentence_features), labels)

    def components(self, embeddings: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """The two terms, ``softmax`` (``L_S``) and ``center`` (``λ·L_C``), without updating centres."""
        labels = labels.view(-1).long()
        logits = self.classifier(embeddings.to(self.classifier.weight.dtype))
        return {
            "softmax": F.cross_entropy(logits, labels),
            "center": self.lambda_ * center_term(embeddings, self.centers, labels),
        }

    def compute_loss_from_embeddings(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        labels = check_labels(labels, self.num_classes, "center")
        parts = self.components(embeddings, labels)
        # Centres move on training steps only: not under no_grad (evaluation) and not in eval mode.
        if self.training and torch.is_grad_enabled() and self.alpha > 0:
            center_update(self.centers, embeddings, labels, self.alpha)
        return parts["softmax"] + parts["center"]

    def get_config_dict(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "lambda": self.lambda_, "alpha": self.alpha}

    @property
    def citation(self) -> str:
        return """
@inproceedings{wen2016discriminative,
    title={A Discriminative Feature Learning Approach for Deep Face Recognition},
    author={Wen, Yandong and Zhang, Kaipeng and Li, Zhifeng and Qiao, Yu},
    booktitle={European Conference on Computer Vision (ECCV)},
    pages={499--515},
    year={2016}
}
"""


def _build(model, data, **params: Any) -> CenterLoss:
    return CenterLoss(
        model,
        num_classes(data, "center"),
        lambda_=params["lambda"],
        alpha=params["alpha"],
        bias=bool(params["bias"]),
    )


register(
    LossSpec(
        "center",
        ("labelled",),
        _build,
        "softmax + center loss (Wen et al. 2016): compact classes, centres updated per batch",
        sampler="group_by_label",
        params={"lambda": 0.003, "alpha": 0.5, "bias": True},
        has_training_state=True,
    )
)
