"""``margin-dw``: margin loss with distance-weighted negative sampling (Wu, Manmatha, Smola &
Krähenbühl, ICCV 2017).

"Sampling Matters in Deep Embedding Learning". On the unit sphere in ``n`` dimensions, the
distance ``d`` between two random points has density ``q(d) ∝ d^{n−2}·(1 − d²/4)^{(n−3)/2}``, so
uniformly drawn negatives are almost all at ``d ≈ √2`` and teach nothing, while the very hardest
negatives give noisy gradients. Distance-weighted sampling draws, for each anchor ``a``, a
negative ``n`` with probability

    P(n | a) ∝ min(λ, q(d_an)^{−1})   (0 for same-class texts and for d_an ≥ 1.4)

spreading the negatives over all distances. ``λ`` is applied as a lower bound on the distance
(``cutoff=0.5``); ``nonzero_loss_cutoff=1.4`` drops negatives that are already far enough to
have zero loss. The sampled pairs train the **margin loss**, a contrastive loss against a
learned boundary ``β``:

    ℓ(i, j) = max(0, α + y_ij·(d_ij − β)),   y_ij = +1 same class, −1 otherwise

averaged over the pairs with non-zero loss; ``β`` starts at 1.2 and is learned, one per class as
in the authors' code, with an optional penalty ``ν·β``. ``d`` is the Euclidean distance between
L2-normalised embeddings.

This wraps pytorch-metric-learning's ``MarginLoss``. The sampler is pytorch-metric-learning's
``DistanceWeightedMiner`` with one change: the weights are normalised per anchor instead of by the
batch-wide maximum, which in float32 underflows to zero for every anchor whose negatives are not
among the closest of the batch once the embedding has more than ~150 dimensions (those anchors
then got no triplets at all). The sampling distribution is otherwise the same.

Defaults are the paper's: ``margin`` (α) 0.2, ``beta`` 1.2, ``nu`` 0, learned class-specific
``beta``, ``cutoff`` 0.5, ``nonzero_loss_cutoff`` 1.4. The paper learns ``β`` at its own rate (SGD,
0.1); here it shares the encoder's optimizer and learning rate, so it moves slowly.

Data: ``labelled`` (``text, label``), label-grouping batches (``GROUP_BY_LABEL``: each batch has
at least two texts of each of its labels, so every anchor has a positive).

When to use it: class-labelled texts with many classes (more than a classifier head handles
well, or classes unseen at test time), when triplet losses train slowly or collapse.

Example::

    from textmetric.losses.margin_dw import MarginDistanceWeightedLoss

    loss = MarginDistanceWeightedLoss(model, num_classes=len(data.label_names))
    # textmetric train labelled.jsonl --loss margin-dw --output runs/margin
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from textmetric.errors import ConfigError
from textmetric.losses._common import check_labels, check_param, embed_texts, num_classes
from textmetric.losses.registry import LossSpec, register


def log_inverse_density(distances: Tensor, dim: int) -> Tensor:
    """``log q(d)^{−1}`` on the unit sphere in ``dim`` dimensions, up to a constant."""
    return (2.0 - dim) * torch.log(distances) - ((dim - 3.0) / 2.0) * torch.log(1.0 - 0.25 * distances.pow(2))


def distance_weights(
    distances: Tensor,
    labels: Tensor,
    ref_labels: Tensor,
    dim: int,
    *,
    cutoff: float = 0.5,
    nonzero_loss_cutoff: float = 1.4,
) -> Tensor:
    """Row-normalised sampling probabilities of each negative for each anchor (rows may be all zero)."""
    clamped = distances.float().clamp(min=cutoff)
    log_weights = log_inverse_density(clamped, dim)
    usable = (
        (labels.unsqueeze(1) != ref_labels.unsqueeze(0))
        & (clamped < nonzero_loss_cutoff)
        & torch.isfinite(log_weights)
    )
    log_weights = log_weights.masked_fill(~usable, float("-inf"))
    # Normalise per anchor (a row of -inf, i.e. no usable negative, becomes zeros).
    return torch.nan_to_num(torch.softmax(log_weights, dim=1), nan=0.0)


@functools.cache
def _miner_class():
    # Built on first use: importing pytorch-metric-learning's miners takes seconds.
    from pytorch_metric_learning.miners import DistanceWeightedMiner as PMLDistanceWeightedMiner
    from pytorch_metric_learning.utils import loss_and_miner_utils as lmu

    class DistanceWeightedMiner(PMLDistanceWeightedMiner):
        """pytorch-metric-learning's miner with per-anchor normalisation of the weights."""

        def mine(self, embeddings, labels, ref_emb, ref_labels):
            distances = self.distance(embeddings, ref_emb)
            weights = distance_weights(
                distances,
                labels,
                ref_labels,
                embeddings.size(1),
                cutoff=self.cutoff,
                nonzero_loss_cutoff=self.nonzero_loss_cutoff,
            )
            return lmu.get_random_triplet_indices(labels, ref_labels=ref_labels, weights=weights)

    return DistanceWeightedMiner


def distance_weighted_miner(cutoff: float = 0.5, nonzero_loss_cutoff: float = 1.4):
    """The distance-weighted negative sampler (a pytorch-metric-learning miner)."""
    return _miner_class()(cutoff=cutoff, nonzero_loss_cutoff=nonzero_loss_cutoff)


class MarginDistanceWeightedLoss(nn.Module):
    """Margin loss (learned ``β``) on pairs drawn by distance-weighted sampling."""

    def __init__(
        self,
        model,
        num_classes: int | None = None,
        *,
        margin: float = 0.2,
        beta: float = 1.2,
        nu: float = 0.0,
        learn_beta: bool = True,
        class_beta: bool = True,
        cutoff: float = 0.5,
        nonzero_loss_cutoff: float = 1.4,
    ) -> None:
        super().__init__()
        from pytorch_metric_learning.losses import MarginLoss

        self.model = model
        self.num_classes = int(num_classes) if num_classes else None
        self.margin = check_param("margin", margin, low=0.0)
        beta = check_param("beta", beta, positive=True)
        nu = check_param("nu", nu, low=0.0)
        cutoff = check_param("cutoff", cutoff, positive=True)
        nonzero_loss_cutoff = check_param("nonzero_loss_cutoff", nonzero_loss_cutoff, positive=True)
        if not cutoff < nonzero_loss_cutoff <= 2.0:
            raise ConfigError(
                f"need 0 < cutoff < nonzero_loss_cutoff <= 2 (distances between unit vectors), "
                f"got cutoff={cutoff}, nonzero_loss_cutoff={nonzero_loss_cutoff}"
            )
        if class_beta and not self.num_classes:
            raise ConfigError("class_beta=True needs the class count (num_classes)")
        self.miner = distance_weighted_miner(cutoff=cutoff, nonzero_loss_cutoff=nonzero_loss_cutoff)
        self.margin_loss = MarginLoss(
            margin=self.margin,
            nu=nu,
            beta=beta,
            learn_beta=bool(learn_beta),
            num_classes=self.num_classes if class_beta else None,
        ).to(model.device)

    @property
    def beta(self) -> Tensor:
        """The boundary ``β``: one value, or one per class."""
        return self.margin_loss.beta

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        return self.compute_loss_from_embeddings(embed_texts(self.model, sentence_features), labels)

    def compute_loss_from_embeddings(
        self, embeddings: Tensor, labels: Tensor, indices_tuple: tuple[Tensor, ...] | None = None
    ) -> Tensor:
        """The margin loss on ``indices_tuple`` triplets, or on triplets mined from the batch."""
        if self.num_classes:
            labels = check_labels(labels, self.num_classes, "margin-dw")
        else:
            labels = labels.view(-1).long()
        embeddings = embeddings.float()  # MarginLoss casts β to the embeddings' dtype
        if indices_tuple is None:
            with torch.no_grad():
                indices_tuple = self.miner(embeddings.detach(), labels)
        return self.margin_loss(embeddings, labels, indices_tuple)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "margin": self.margin,
            "beta": self.margin_loss.beta.detach().tolist(),
            "nu": self.margin_loss.nu,
            "learn_beta": self.margin_loss.learn_beta,
            "cutoff": self.miner.cutoff,
            "nonzero_loss_cutoff": self.miner.nonzero_loss_cutoff,
        }

    @property
    def citation(self) -> str:
        return """
@inproceedings{wu2017sampling,
    title={Sampling Matters in Deep Embedding Learning},
    author={Wu, Chao-Yuan and Manmatha, R. and Smola, Alexander J. and Kr{\\"a}henb{\\"u}hl, Philipp},
    booktitle={IEEE International Conference on Computer Vision (ICCV)},
    pages={2840--2848},
    year={2017}
}
"""


def _build(model, data, **params: Any) -> MarginDistanceWeightedLoss:
    return MarginDistanceWeightedLoss(model, num_classes(data, "margin-dw"), **params)


register(
    LossSpec(
        "margin-dw",
        ("labelled",),
        _build,
        "margin loss with distance-weighted negative sampling (Wu et al. 2017)",
        sampler="group_by_label",
        in_batch_negatives=True,
        params={
            "margin": 0.2,
            "beta": 1.2,
            "nu": 0.0,
            "learn_beta": True,
            "class_beta": True,
            "cutoff": 0.5,
            "nonzero_loss_cutoff": 1.4,
        },
        has_training_state=True,
    )
)
