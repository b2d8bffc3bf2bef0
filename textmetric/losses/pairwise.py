"""Pair and triplet losses that sentence-transformers already implements, registered by name.

* ``mnrl``: Multiple Negatives Ranking / InfoNCE (van den Oord et al. 2018; Henderson et al.
  2017): softmax over the anchor's similarity to its positive against every other positive (and
  hard negative) in the batch. The workhorse for ``anchor, positive[, negative...]`` data.
* ``mnrl-symmetric``: the same, in both directions (the positive also has to find its anchor
  among the batch's anchors: the bidirectional loss of Yang et al. 2019): for pairs whose relation
  is symmetric (paraphrases, captions of one image) it gets two lessons from each batch.
* ``cosent``: CoSENT (Su 2022): a ranking loss over all pairs of pairs in the batch, so that
  pairs with higher gold scores get higher cosine similarity. Best for graded scores.
* ``angle``: AnglE (Li & Li 2024, "AnglE-optimized Text Embeddings"): the CoSENT ranking of
  graded pairs with the cosine replaced by the angle difference of the two embeddings in complex
  space, whose gradient does not vanish where the cosine saturates (near ±1).
* ``contrastive``: Hadsell, Chopra & LeCun 2006, ``½·[y·d² + (1−y)·max(0, m − d)²]`` with ``d``
  the Euclidean distance between the two embeddings (the paper's ``D_W``). The paper's margin
  depends on its output scale; for the unit-normalised embeddings textmetric models output,
  ``margin=1.0`` pushes dissimilar pairs apart until ``cos ≤ 0.5`` (the same boundary as
  sentence-transformers' default, cosine distance 0.5). ``distance=cosine`` is available.
* ``online-contrastive``: sentence-transformers' variant of the same loss on the hard pairs of
  each batch only (positives farther than the closest negative, negatives closer than the
  farthest positive); kept at sentence-transformers' defaults (cosine distance, margin 0.5).
* ``triplet``: Schroff et al. 2015 (FaceNet), ``max(0, ‖a − p‖² − ‖a − n‖² + α)`` on given
  triplets, with the paper's squared Euclidean distance on unit-normalised embeddings and
  ``α = 0.2`` (``distance=euclidean`` / ``cosine`` are available, with a margin to match).
"""

from __future__ import annotations

from textmetric.errors import ConfigError
from textmetric.losses.registry import LossSpec, register

_PAIR_FORMATS = ("pairs", "triplets", "ntuples")


def squared_euclidean(x, y):
    """Row-wise ``‖x − y‖²``: FaceNet's triplet distance."""
    return (x - y).pow(2).sum(dim=-1)


def _distance(name: str, kind: str):
    from sentence_transformers.sentence_transformer.losses import SiameseDistanceMetric, TripletDistanceMetric

    table = {
        "cosine": (SiameseDistanceMetric.COSINE_DISTANCE, TripletDistanceMetric.COSINE),
        "euclidean": (SiameseDistanceMetric.EUCLIDEAN, TripletDistanceMetric.EUCLIDEAN),
        "manhattan": (SiameseDistanceMetric.MANHATTAN, TripletDistanceMetric.MANHATTAN),
        "squared_euclidean": (None, squared_euclidean),
    }
    found = table.get(name, (None, None))[0 if kind == "siamese" else 1]
    if found is None:
        names = [n for n, pair in table.items() if pair[0 if kind == "siamese" else 1] is not None]
        raise ConfigError(f"unknown distance '{name}' for this loss; expected {', '.join(names)}")
    return found


def _mnrl(model, data, *, scale: float):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    return MultipleNegativesRankingLoss(model, scale=scale)


def _mnrl_symmetric(model, data, *, scale: float):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    return MultipleNegativesRankingLoss(
        model, scale=scale, directions=("query_to_doc", "doc_to_query"), partition_mode="per_direction"
    )


def _cosent(model, data, *, scale: float):
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss

    return CoSENTLoss(model, scale=scale)


def _angle(model, data, *, scale: float):
    from sentence_transformers.sentence_transformer.losses import AnglELoss

    return AnglELoss(model, scale=scale)


def _contrastive(model, data, *, margin: float, distance: str):
    from sentence_transformers.sentence_transformer.losses import ContrastiveLoss

    return ContrastiveLoss(model, distance_metric=_distance(distance, "siamese"), margin=margin)


def _online_contrastive(model, data, *, margin: float, distance: str):
    from sentence_transformers.sentence_transformer.losses import OnlineContrastiveLoss

    return OnlineContrastiveLoss(model, distance_metric=_distance(distance, "siamese"), margin=margin)


def _triplet(model, data, *, margin: float, distance: str):
    from sentence_transformers.sentence_transformer.losses import TripletLoss

    return TripletLoss(model, distance_metric=_distance(distance, "triplet"), triplet_margin=margin)


register(
    LossSpec(
        "mnrl",
        _PAIR_FORMATS,
        _mnrl,
        "in-batch negatives (InfoNCE); anchor/positive pairs, optional hard negatives",
        sampler="no_duplicates",
        in_batch_negatives=True,
        params={"scale": 20.0},
    )
)
register(
    LossSpec(
        "mnrl-symmetric",
        _PAIR_FORMATS,
        _mnrl_symmetric,
        "in-batch negatives both ways: anchor -> positive and positive -> anchor",
        sampler="no_duplicates",
        in_batch_negatives=True,
        params={"scale": 20.0},
    )
)
register(
    LossSpec(
        "cosent",
        ("scored",),
        _cosent,
        "CoSENT ranking of graded pair scores",
        params={"scale": 20.0},
    )
)
register(
    LossSpec(
        "angle",
        ("scored",),
        _angle,
        "AnglE: CoSENT ranking on the angle difference of graded pairs",
        params={"scale": 20.0},
    )
)
register(
    LossSpec(
        "contrastive",
        ("binary",),
        _contrastive,
        "Hadsell 2006 contrastive loss on similar / dissimilar pairs",
        params={"margin": 1.0, "distance": "euclidean"},
    )
)
register(
    LossSpec(
        "online-contrastive",
        ("binary",),
        _online_contrastive,
        "contrastive loss on the hard pairs of each batch",
        params={"margin": 0.5, "distance": "cosine"},
    )
)
register(
    LossSpec(
        "triplet",
        ("triplets",),
        _triplet,
        "FaceNet triplet loss on given (anchor, positive, negative) triplets",
        params={"margin": 0.2, "distance": "squared_euclidean"},
    )
)
