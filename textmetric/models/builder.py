"""Build Siamese and DSSM (two-tower) dual encoders on any Hugging Face BERT.

* ``siamese``: one encoder shared by both sides of a pair (Bromley et al. 1993; Reimers &
  Gurevych 2019). Symmetric: ``sim(a, b) == sim(b, a)``; the default, and the right choice when both
  sides are the same kind of text (news vs news, sentence vs sentence).
* ``dssm``: two towers with separate weights for queries and documents (Huang et al. 2013,
  "Deep Structured Semantic Models"), as sentence-transformers' ``Router`` module. Worth its
  doubled size when the two sides differ in kind (short questions vs long answers, résumés vs
  job postings). Both towers start from the same base weights and drift apart in training;
  ``encode_query`` / ``encode_document`` pick the tower.

The result is a plain ``SentenceTransformer``: it trains with the sentence-transformers trainer
and saves to a folder that ``SentenceTransformer(path)`` loads with no textmetric installed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from textmetric.errors import ConfigError, ModelLoadError

logger = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "tohoku-nlp/bert-base-japanese-v3"
TINY_JA = "tiny-ja"
Structure = Literal["siamese", "dssm"]
PoolingMode = Literal["mean", "cls", "max"]
STRUCTURES = ("siamese", "dssm")
POOLING_MODES = ("mean", "cls", "max")


def _is_local(path: str | Path) -> bool:
    return Path(path).expanduser().exists()


def load_transformer(base: str | Path, max_seq_length: int):
    """The sentence-transformers ``Transformer`` module for ``base`` (Hub id or local folder)."""
    from sentence_transformers.sentence_transformer.modules import Transformer

    base = str(base)
    try:
        return Transformer(base, max_seq_length=max_seq_length)
    except OSError as err:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or not _is_local(base)
        hint = (
            "; no network? download it once where you have network (e.g. `huggingface-cli download "
            f"{base} --local-dir ./models/base`) and pass that folder, or use --model tiny-ja to build a "
            "small model offline"
            if offline
            else ""
        )
        raise ModelLoadError(f"cannot load the base model '{base}': {err}{hint}") from None
    except ImportError as err:
        raise ModelLoadError(
            f"the tokenizer of '{base}' needs a package that is not installed: {err} "
            "(Japanese BERTs need fugashi and unidic-lite: pip install fugashi unidic-lite)"
        ) from None


def build_dual_encoder(
    base: str | Path = DEFAULT_BASE_MODEL,
    *,
    structure: Structure = "siamese",
    pooling: PoolingMode = "mean",
    normalize: bool = True,
    max_seq_length: int = 256,
):
    """A ``SentenceTransformer`` dual encoder on ``base``.

    Args:
        base: Hugging Face model id or local folder of a BERT-like encoder.
        structure: ``siamese`` (shared weights) or ``dssm`` (separate query / document towers).
        pooling: token pooling: ``mean`` (default; most robust for fine-tuning), ``cls`` or ``max``.
        normalize: L2-normalise embeddings, so that dot product = cosine similarity.
        max_seq_length: tokens kept per text; longer texts are truncated (see the API's chunking).
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Router

    if structure not in STRUCTURES:
        raise ConfigError(f"unknown structure '{structure}'; expected one of {', '.join(STRUCTURES)}")
    if pooling not in POOLING_MODES:
        raise ConfigError(f"unknown pooling '{pooling}'; expected one of {', '.join(POOLING_MODES)}")
    if max_seq_length < 8:
        raise ConfigError(f"max_seq_length {max_seq_length} is too small; expected at least 8")

    def tower() -> list:
        transformer = load_transformer(base, max_seq_length)
        return [transformer, Pooling(transformer.get_embedding_dimension(), pooling)]

    if structure == "siamese":
        modules = tower()
    else:
        modules = [Router.for_query_document(query_modules=tower(), document_modules=tower())]
    if normalize:
        modules.append(Normalize())
    return SentenceTransformer(modules=modules, similarity_fn_name="cosine")


def model_structure(model) -> Structure:
    """``dssm`` if the model routes queries and documents to different towers, else ``siamese``."""
    from sentence_transformers.sentence_transformer.modules import Router

    return "dssm" if any(isinstance(module, Router) for module in model.children()) else "siamese"
