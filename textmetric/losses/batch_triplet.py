"""``batch-all-triplet``, ``batch-hard-triplet``, ``batch-semi-hard-triplet``: the triplet loss with
online triplet mining inside each batch of class-labelled texts.

FaceNet (Schroff, Kalenichenko & Philbin, CVPR 2015) trains on triplets ``(a, p, n)`` (``p`` of
the anchor's class, ``n`` of another) built on line from the mini-batch:

    L = Σ_{(a,p,n)} max(0, ‖f(a) − f(p)‖² − ‖f(a) − f(n)‖² + α)

with squared Euclidean distances between unit-normalised embeddings and ``α = 0.2``. The three
variants differ in which triplets of the batch they use:

* ``batch-all-triplet``: every valid triplet, the loss averaged over those with non-zero loss
  (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss", BA≠0).
* ``batch-hard-triplet``: for each anchor, its farthest positive and its closest negative
  (Hermans et al. 2017); the strongest signal, but sensitive to label noise.
* ``batch-semi-hard-triplet``: for each anchor-positive pair, the closest negative that is still
  farther than the positive (FaceNet's semi-hard negatives; the hardest negative when none is).

These are sentence-transformers' ``BatchAllTripletLoss``, ``BatchHardTripletLoss`` and
``BatchSemiHardTripletLoss``, with the papers' defaults instead of sentence-transformers' (margin
5, which assumes unnormalised embeddings): ``margin=0.2`` throughout; FaceNet's squared Euclidean
distance for ``batch-all-triplet`` and ``batch-semi-hard-triplet``; the plain (non-squared)
Euclidean distance for ``batch-hard-triplet``, as Hermans et al. use it because squared distances
make batch-hard training collapse (every text mapped to nearly one point, the loss stuck at the
margin; it happens with tiny-ja within a few dozen steps). ``distance`` may be
``squared_euclidean``, ``euclidean`` or ``cosine`` (``1 − cos``); choose the margin for its scale.

Data: ``labelled`` (``text, label``). Batches come from the label-grouping sampler
(``GROUP_BY_LABEL``), so every anchor has a positive and a negative in its batch.

When to use them: class-labelled texts with many classes or classes unseen at test time (no
classifier head to size). Batch-hard gives the strongest signal but needs embeddings that are
already spread out: from a randomly initialised tiny-ja it collapsed in ``scripts/bench_losses.py``
(every distance ≈ 0.03, loss stuck near the margin); ``batch-all-triplet`` is the gentler one.

Example::

    from textmetric.losses.batch_triplet import build_batch_triplet

    loss = build_batch_triplet("hard", model, margin=0.2, distance="euclidean")
    # textmetric train labelled.jsonl --loss batch-hard-triplet --output runs/triplet
"""

from __future__ import annotations

from torch import Tensor

from textmetric.errors import ConfigError
from textmetric.losses.registry import LossSpec, register

DISTANCES = ("squared_euclidean", "euclidean", "cosine")


def squared_euclidean_distance(embeddings: Tensor) -> Tensor:
    """Pairwise ``‖x_i − x_j‖²`` (FaceNet's distance)."""
    from sentence_transformers.sentence_transformer.losses import BatchHardTripletLossDistanceFunction

    return BatchHardTripletLossDistanceFunction.euclidean_distance(embeddings, squared=True)


def euclidean_distance(embeddings: Tensor) -> Tensor:
    """Pairwise ``‖x_i − x_j‖``."""
    from sentence_transformers.sentence_transformer.losses import BatchHardTripletLossDistanceFunction

    return BatchHardTripletLossDistanceFunction.euclidean_distance(embeddings, squared=False)


def cosine_distance(embeddings: Tensor) -> Tensor:
    """Pairwise ``1 − cos(x_i, x_j)``."""
    from sentence_transformers.sentence_transformer.losses import BatchHardTripletLossDistanceFunction

    return BatchHardTripletLossDistanceFunction.cosine_distance(embeddings)


_DISTANCE_FUNCTIONS = {
    "squared_euclidean": squared_euclidean_distance,
    "euclidean": euclidean_distance,
    "cosine": cosine_distance,
}


def batch_distance(name: str):
    try:
        return _DISTANCE_FUNCTIONS[name]
    except KeyError:
        raise ConfigError(f"unknown distance '{name}'; expected one of {', '.join(DISTANCES)}") from None


def build_batch_triplet(kind: str, model, *, margin: float = 0.2, distance: str = "squared_euclidean"):
    """sentence-transformers' batch ``all`` / ``hard`` / ``semi-hard`` triplet loss, FaceNet's defaults."""
    from sentence_transformers.sentence_transformer import losses

    classes = {
        "all": losses.BatchAllTripletLoss,
        "hard": losses.BatchHardTripletLoss,
        "semi-hard": losses.BatchSemiHardTripletLoss,
    }
    if kind not in classes:
        raise ConfigError(f"unknown batch triplet kind '{kind}'; expected all, hard or semi-hard")
    margin = float(margin)
    if margin < 0:
        raise ConfigError(f"loss parameter margin must be >= 0, got {margin}")
    return classes[kind](model, distance_metric=batch_distance(distance), margin=margin)


def _builder(kind: str):
    def build(model, data, *, margin: float, distance: str):
        return build_batch_triplet(kind, model, margin=margin, distance=distance)

    return build


for _kind, _distance, _summary in (
    ("all", "squared_euclidean", "every valid triplet of the batch (FaceNet loss, online mining)"),
    ("hard", "euclidean", "hardest positive and negative per anchor in the batch (Hermans et al. 2017)"),
    ("semi-hard", "squared_euclidean", "semi-hard negatives of each anchor-positive pair (FaceNet)"),
):
    register(
        LossSpec(
            f"batch-{_kind}-triplet",
            ("labelled",),
            _builder(_kind),
            _summary,
            sampler="group_by_label",
            in_batch_negatives=True,
            params={"margin": 0.2, "distance": _distance},
        )
    )
