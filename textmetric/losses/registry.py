"""Losses by name: what each needs, how it is built, which batches it wants.

``textmetric train --loss NAME`` and :func:`textmetric.training.train` look losses up here. Each
entry says which data formats it accepts (see :mod:`textmetric.data.formats`), which batch
sampler suits it, and whether it uses in-batch negatives (those gather embeddings across devices
in distributed training). Hyper-parameters are keyword arguments with the papers' defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from textmetric.errors import ConfigError


@dataclass(frozen=True)
class LossSpec:
    """A registered loss.

    ``build(model, data, **params)`` returns the ``nn.Module``; ``data`` is the
    :class:`~textmetric.data.PairData` it will train on (label losses read the class count).
    """

    name: str
    formats: tuple[str, ...]
    build: Callable[..., Any]
    summary: str
    sampler: str = "batch_sampler"
    in_batch_negatives: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    has_training_state: bool = False


LOSSES: dict[str, LossSpec] = {}

# labelled: softmax, chosen on dev label-retrieval MAP in scripts/bench_losses.py (JSQuAD questions by
# article, tiny-ja): softmax 0.473 = center 0.473 (λ=0.003 adds nothing on unit-norm embeddings) >
# am-softmax 0.419 > batch-hard-triplet 0.189 (collapses); between the tied two, the one without
# extra state.
DEFAULT_LOSS_FOR_FORMAT = {
    "pairs": "mnrl",
    "triplets": "mnrl",
    "ntuples": "mnrl",
    "scored": "cosent",
    "binary": "online-contrastive",
    "labelled": "softmax",
}


def register(spec: LossSpec) -> LossSpec:
    if spec.name in LOSSES:
        raise ValueError(f"loss '{spec.name}' is registered twice")
    LOSSES[spec.name] = spec
    return spec


def get_loss(name: str) -> LossSpec:
    _ensure_loaded()
    try:
        return LOSSES[name]
    except KeyError:
        raise ConfigError(f"unknown loss '{name}'; expected one of {', '.join(sorted(LOSSES))}") from None


def default_loss(data_format: str) -> str:
    return DEFAULT_LOSS_FOR_FORMAT[data_format]


def parse_loss_params(items: list[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """Parse ``["margin=0.5", "distance=cosine"]`` into typed keyword arguments."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    params: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"bad loss parameter '{item}'; expected NAME=VALUE, e.g. margin=0.5")
        key, raw = (part.strip() for part in item.split("=", 1))
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        params[key.replace("-", "_")] = value
    return params


def build_loss(name: str, model, data, params: Mapping[str, Any] | None = None):
    """Build loss ``name`` for ``model`` on ``data``, checking that the data format fits."""
    spec = get_loss(name)
    if data.format not in spec.formats:
        fitting = sorted(n for n, s in LOSSES.items() if data.format in s.formats)
        raise ConfigError(
            f"the '{name}' loss needs {' or '.join(spec.formats)} data, but {data.path or 'the data'} "
            f"is '{data.format}'; losses for '{data.format}' data: {', '.join(fitting)}"
        )
    params = check_params(name, params)
    return spec.build(model, data, **{**spec.params, **params})


def check_params(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` if loss ``name`` takes every one of them, else a ConfigError listing what it takes."""
    spec = get_loss(name)
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        raise ConfigError(
            f"the '{name}' loss has no parameter(s) {unknown}; it takes: "
            + (", ".join(f"{k} (default {v})" for k, v in spec.params.items()) or "none")
        )
    return params


def _ensure_loaded() -> None:
    # Importing the package registers every loss module.
    import textmetric.losses  # noqa: F401
