"""``export_model``: a trained model folder in, a self-describing folder for the Hub out.

The exported folder is what a colleague downloads: ``SentenceTransformer(DIR)`` (or
``SentenceTransformer("org/name")`` once pushed) and :meth:`textmetric.TextMetric.load` load it
as is. It holds

* the sentence-transformers model, weights in safetensors (re-saved by sentence-transformers
  itself, so the layout is the one it loads; the weight files are byte for byte those of the
  trained folder);
* the tokenizer files (a ``BertJapaneseTokenizer`` reloads with fugashi + unidic-lite and gives the
  same ids; the load-time keys ``local_files_only`` / ``is_local`` that transformers writes into
  ``tokenizer_config.json`` are dropped, they describe the machine that saved it);
* ``textmetric.json`` (normalisation, structure, loss, hyper-parameters, data summaries with file
  names only, metrics), plus an ``export`` section: repository id, fingerprint, evaluation results;
* ``README.md``, the model card (:mod:`textmetric.hub.card`);
* optionally ``onnx/model.onnx`` and ``onnx/model_qint8.onnx``.

Training-only state (``checkpoints/``, optimizer and scheduler, ``loss_state.pt`` with classifier
heads and class centres, ``train_config.json``, the training ``metrics.json``) stays out: only what
sentence-transformers saves for inference is written. Before the folder is renamed into place it
is reloaded and checked: same embeddings, same token ids, no training-only file.

ONNX: sentence-transformers' own exporter (``SentenceTransformer(..., backend="onnx")``,
``export_dynamic_quantized_onnx_model``) needs ``optimum-onnx``, whose releases so far require
transformers < 4.58 while sentence-transformers 6 requires transformers 5, so the two cannot be
installed together. The export therefore uses PyTorch's own ONNX exporter (``torch.onnx.export``
with ``dynamo=True``, which needs ``onnxscript``) and ONNX Runtime's dynamic int8 quantisation,
and writes the files where and as that backend reads them (``onnx/model.onnx``; inputs
``input_ids``, ``attention_mask``, ``token_type_ids``; output ``last_hidden_state``). The sentence
embeddings of the ONNX graph (run by ONNX Runtime, then the model's own pooling and
normalisation modules) must agree with PyTorch to 1e-4, or the export fails.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import logging
import os
import warnings
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from textmetric.errors import ConfigError, ModelLoadError, TextmetricError
from textmetric.hub.card import (
    CardInfo,
    EvalResults,
    card_base_model,
    dump_eval_entries,
    load_eval_results,
    merge_entries,
    render_card,
    training_entries,
)
from textmetric.io import atomic_path, ensure_writable, write_json, write_text
from textmetric.models.metadata import METADATA_FILE, ModelMetadata, model_fingerprint

logger = logging.getLogger(__name__)

ONNX_FILE = "onnx/model.onnx"
ONNX_QUANTIZED_FILE = "onnx/model_qint8.onnx"
ONNX_ATOL = 1e-4
"""Largest difference allowed between ONNX and PyTorch sentence embeddings."""
QUANTIZED_MIN_COSINE = 0.95
"""Smallest cosine allowed between the int8 model's embeddings and PyTorch's."""
TOKENIZER_LOAD_KEYS = ("local_files_only", "is_local")
TRAINING_ONLY = (
    "checkpoints",
    "checkpoint-*",
    "optimizer.pt",
    "scheduler.pt",
    "loss_state.pt",
    "rng_state*.pth",
    "trainer_state.json",
    "training_args.bin",
    "train_config.json",
    "run_layout.json",
    "tiny-ja-base",
)
"""Names (globs) that belong to a training run, never to an exported model."""
PROBE_TEXTS = (
    "今日は良い天気です。",
    "本日は晴天なり。",
    "猫が窓辺で眠っている。",
    "ＡＢＣ１２３とｶﾀｶﾅの全角・半角が混じった文。",
    "東京都千代田区で行われた会議の議事録を要約してください。",
    "a",
    "機械学習を用いた日本語文書の類似度計算は、検索や推薦、重複検出など多くの応用を持つ。"
    "文の長さが揃わない入力でも、パディングを正しく扱えば同じ結果になるはずである。",
)
VERSION_PACKAGES = (
    "textmetric",
    "sentence-transformers",
    "transformers",
    "torch",
    "tokenizers",
    "fugashi",
    "unidic-lite",
)


class ExportError(TextmetricError):
    """An export that cannot be made or does not check out (missing ONNX packages, mismatching outputs)."""


@dataclass
class ExportResult:
    """What :func:`export_model` wrote."""

    folder: Path
    files: dict[str, int] = field(default_factory=dict)
    """Relative path -> size in bytes."""
    fingerprint: str = ""
    evaluated: bool = False
    onnx: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def training_only_files(folder: str | Path) -> list[str]:
    """Files or folders in ``folder`` that belong to a training run (relative paths)."""
    folder = Path(folder)
    found = set()
    for pattern in TRAINING_ONLY:
        for path in folder.rglob(pattern):
            found.add(path.relative_to(folder).as_posix())
    return sorted(found)


def list_files(folder: str | Path) -> dict[str, int]:
    """Every file under ``folder`` with its size, sorted by path."""
    folder = Path(folder)
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()
    }


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in VERSION_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _utc_now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_sentence_transformer(folder: Path):
    """The model of a local folder, or a :class:`ModelLoadError` that says what is wrong."""
    from sentence_transformers import SentenceTransformer

    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        hint = ""
        from textmetric.training.trainer import last_checkpoint

        if last_checkpoint(folder) is not None:
            hint = " (it holds checkpoints of an unfinished run: finish it with `textmetric train --resume`)"
        raise ModelLoadError(
            f"{folder} is not a model folder{hint}; expected the --output of `textmetric train`"
        )
    try:
        return SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except ImportError as err:
        raise ModelLoadError(
            f"the tokenizer of '{folder}' needs a package that is not installed: {err} "
            "(Japanese BERTs need fugashi and unidic-lite: pip install fugashi unidic-lite)"
        ) from None
    except Exception as err:  # not a model: OSError, ValueError, KeyError ... from the loaders
        raise ModelLoadError(f"cannot load '{folder}' as a sentence-transformers model: {err}") from None


def _check_paths(source: Path, out: Path) -> None:
    src, dst = source.resolve(), out.resolve()
    if src == dst or src in dst.parents or dst in src.parents:
        raise ConfigError(f"--out {out} must be outside the model folder {source} (and not contain it)")


def _metadata_for(model, source: Path) -> tuple[ModelMetadata, list[str]]:
    """The model's ``textmetric.json``, or one described from the model itself for a plain folder."""
    from sentence_transformers.sentence_transformer.modules import Normalize

    from textmetric.models.builder import model_structure

    found = ModelMetadata.load(source)
    if found is not None:
        return found, []
    pooling = "mean"
    for module in model.children():
        mode = getattr(module, "pooling_mode", None)
        if isinstance(mode, str):
            pooling = mode
    described = ModelMetadata(
        structure=model_structure(model),
        pooling=pooling,
        normalize_embeddings=any(isinstance(m, Normalize) for m in model.children()),
        nfkc=True,
        max_seq_length=model.max_seq_length,
    )
    note = (
        f"{source} has no {METADATA_FILE} (not trained by textmetric): the card describes the model from "
        "its modules, and TextMetric will apply NFKC (its default for such models)"
    )
    return described, [note]


def _public_metadata(metadata: ModelMetadata, base_model: str | None) -> dict[str, Any]:
    """``textmetric.json`` as published: data files by name only (no local directories)."""
    from textmetric import __version__

    data = asdict(metadata)
    data["textmetric_version"] = metadata.textmetric_version or __version__
    if base_model:
        data["base_model"] = base_model
    data["data"] = [
        {**item, "path": Path(str(item["path"])).name} if item.get("path") else dict(item)
        for item in metadata.data
    ]
    return data


def _clean_tokenizer_configs(folder: Path) -> None:
    for path in folder.rglob("tokenizer_config.json"):
        config = json.loads(path.read_text("utf-8"))
        if any(key in config for key in TOKENIZER_LOAD_KEYS):
            for key in TOKENIZER_LOAD_KEYS:
                config.pop(key, None)
            path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", "utf-8")


def _tokenizer(model):
    first = model[0]
    return getattr(first, "tokenizer", None) or getattr(first, "processor", None)


def _tokenizer_class(model) -> str | None:
    tokenizer = _tokenizer(model)
    if tokenizer is None:
        sub = getattr(model[0], "sub_modules", None)
        if sub:
            tower = next(iter(sub.values()))
            tokenizer = getattr(tower[0], "tokenizer", None) if len(tower) else None
    return type(tokenizer).__name__ if tokenizer is not None else None


def _encode(model, texts, **kwargs) -> np.ndarray:
    return np.asarray(model.encode(list(texts), convert_to_numpy=True, batch_size=len(texts), **kwargs))


def verify_export(model, folder: Path) -> None:
    """Reload ``folder`` with plain sentence-transformers and compare it with ``model``."""
    reloaded = load_sentence_transformer(folder)
    encoders = ("encode_query", "encode_document") if hasattr(model, "encode_query") else ("encode",)
    for name in encoders:
        before = np.asarray(getattr(model, name)(list(PROBE_TEXTS), convert_to_numpy=True))
        after = np.asarray(getattr(reloaded, name)(list(PROBE_TEXTS), convert_to_numpy=True))
        if before.shape != after.shape or not np.allclose(before, after, atol=1e-6, rtol=0):
            diff = float(np.abs(before - after).max()) if before.shape == after.shape else float("inf")
            raise ExportError(
                f"the exported model gives other embeddings than {name} of the original (max diff {diff:.2e})"
            )
    old, new = _tokenizer(model), _tokenizer(reloaded)
    if old is not None and new is not None:
        for text in PROBE_TEXTS:
            if old(text, truncation=True)["input_ids"] != new(text, truncation=True)["input_ids"]:
                raise ExportError(
                    f"the exported tokenizer ({type(new).__name__}) gives other token ids for {text!r}"
                )
    if ModelMetadata.load(folder) is None:
        raise ExportError(f"the exported {METADATA_FILE} does not load")
    left = training_only_files(folder)
    if left:
        raise ExportError(f"training-only files in the export: {', '.join(left)}")


# ----------------------------------------------------------------------------------------- ONNX


def check_onnx_available() -> None:
    """Fail early, before the slow part, when the ONNX packages are missing."""
    missing = []
    for module, package in (("onnx", "onnx"), ("onnxruntime", "onnxruntime"), ("onnxscript", "onnxscript")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise ExportError(
            f"--onnx needs {', '.join(missing)} (not installed): pip install 'textmetric[onnx]' "
            "(or pip install onnx onnxruntime onnxscript)"
        )


def _last_hidden_state_module(auto_model):
    """The module exported to ONNX: the Hugging Face encoder, ``last_hidden_state`` out."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = auto_model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.model(**kwargs).last_hidden_state

    return Encoder().eval()


@contextlib.contextmanager
def _quiet():
    """The exporter and quantiser log internals (missing torchvision ops, pre-processing advice)."""
    names = ("torch.onnx", "torch.export", "torch._export", "torch.fx", "onnxscript", "")
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _onnx_inputs(features: dict[str, Any], input_names: list[str]) -> dict[str, np.ndarray]:
    ids = features["input_ids"].cpu().numpy().astype(np.int64)
    feeds = {"input_ids": ids, "attention_mask": features["attention_mask"].cpu().numpy().astype(np.int64)}
    if "token_type_ids" in input_names:
        types = features.get("token_type_ids")
        feeds["token_type_ids"] = (
            np.zeros_like(ids) if types is None else types.cpu().numpy().astype(np.int64)
        )
    return feeds


def onnx_sentence_embeddings(model, onnx_path: Path, texts) -> np.ndarray:
    """Sentence embeddings with the encoder run by ONNX Runtime, then the model's own later modules."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_names = [i.name for i in session.get_inputs()]
    features = model.preprocess(list(texts))
    hidden = session.run(["last_hidden_state"], _onnx_inputs(features, input_names))[0]
    features = {**features, "token_embeddings": torch.from_numpy(hidden)}
    with torch.no_grad():
        for module in list(model.children())[1:]:
            features = module(features)
    return features["sentence_embedding"].cpu().numpy()


def _export_graph(model, path: Path) -> list[str]:
    import torch

    transformer = model[0]
    auto_model = transformer.auto_model
    accepted = inspect.signature(auto_model.forward).parameters
    input_names = ["input_ids", "attention_mask"] + (
        ["token_type_ids"] if "token_type_ids" in accepted else []
    )
    features = model.preprocess(list(PROBE_TEXTS[:2]))
    args = tuple(torch.as_tensor(_onnx_inputs(features, input_names)[name]) for name in input_names)
    batch, sequence = torch.export.Dim("batch_size"), torch.export.Dim("sequence_length")
    dynamic = {name: {0: batch, 1: sequence} for name in input_names}
    wrapper = _last_hidden_state_module(auto_model)
    path.parent.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), _quiet(), torch.no_grad():
            torch.onnx.export(
                wrapper,
                args,
                str(path),
                input_names=input_names,
                output_names=["last_hidden_state"],
                dynamic_shapes=dynamic,
                dynamo=True,
                external_data=False,
            )
    except Exception as err:  # the exporter's errors are many and internal; say which step failed
        logger.debug("torch.onnx.export output:\n%s", log.getvalue())
        raise ExportError(
            f"ONNX export of {type(auto_model).__name__} failed: {type(err).__name__}: {err}"
        ) from None
    logger.debug("torch.onnx.export output:\n%s", log.getvalue())
    return input_names


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 weights by ONNX Runtime, as ``export_dynamic_quantized_onnx_model`` makes them."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        with _quiet():
            quantize_dynamic(
                str(source), str(target), weight_type=QuantType.QInt8, per_channel=False, reduce_range=False
            )
    except Exception as err:  # ONNX Runtime raises plain Exceptions for graphs it cannot quantise
        raise ExportError(f"ONNX int8 quantisation failed: {type(err).__name__}: {err}") from None


def compare_embeddings(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    atol: float | None = None,
    min_cosine: float | None = None,
    what: str,
) -> dict[str, float]:
    """Max abs difference and the lowest row cosine; :class:`ExportError` when out of bounds."""
    if reference.shape != candidate.shape:
        raise ExportError(f"{what}: embeddings of shape {candidate.shape}, PyTorch gives {reference.shape}")
    diff = float(np.abs(reference - candidate).max())
    norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(candidate, axis=1)
    cosine = float(np.min((reference * candidate).sum(axis=1) / np.maximum(norms, 1e-12)))
    if atol is not None and not diff <= atol:
        raise ExportError(
            f"{what}: embeddings differ from PyTorch by up to {diff:.2e} (allowed {atol:.0e}); "
            "the ONNX graph does not reproduce the model, so it was not exported"
        )
    if min_cosine is not None and not cosine >= min_cosine:
        raise ExportError(
            f"{what}: cosine to the PyTorch embeddings down to {cosine:.4f} (required {min_cosine}); "
            "quantisation loses too much for this model, export without --quantize"
        )
    return {"max_abs_diff": diff, "min_cosine": cosine}


def _check_onnx_structure(model) -> None:
    from textmetric.models.builder import model_structure

    if model_structure(model) != "siamese":
        raise ExportError(
            "--onnx supports siamese models; a dssm model's two towers are not exported to ONNX yet"
        )


def export_onnx(model, folder: Path, *, quantize: bool = False, texts=PROBE_TEXTS) -> dict[str, Any]:
    """Write ``onnx/model.onnx`` (and ``onnx/model_qint8.onnx``) into ``folder`` and check them."""
    check_onnx_available()
    _check_onnx_structure(model)
    reference = _encode(model, texts)
    path = folder / ONNX_FILE
    input_names = _export_graph(model, path)
    checked = compare_embeddings(
        reference, onnx_sentence_embeddings(model, path, texts), atol=ONNX_ATOL, what=ONNX_FILE
    )
    info: dict[str, Any] = {"file": ONNX_FILE, "inputs": input_names, **checked, "atol": ONNX_ATOL}
    if quantize:
        qpath = folder / ONNX_QUANTIZED_FILE
        _quantize(path, qpath)
        qchecked = compare_embeddings(
            reference,
            onnx_sentence_embeddings(model, qpath, texts),
            min_cosine=QUANTIZED_MIN_COSINE,
            what=ONNX_QUANTIZED_FILE,
        )
        info["quantized"] = {"file": ONNX_QUANTIZED_FILE, "weights": "int8 (dynamic)", **qchecked}
    return info


# --------------------------------------------------------------------------------------- export


def _in_training_part(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in a training-only part of ``folder`` (``checkpoints/`` ...)."""
    return any(
        Path(part).match(pattern) for part in path.relative_to(folder).parts for pattern in TRAINING_ONLY
    )


def _check_same_weights(source: Path, export: Path) -> None:
    """The re-saved weight files must be the trained folder's, byte for byte, where it has them."""
    for path in sorted(export.rglob("*.safetensors")):
        if _in_training_part(path, export):
            continue
        original = source / path.relative_to(export)
        if original.is_file() and _sha256(original) != _sha256(path):
            raise ExportError(f"the exported {path.relative_to(export)} differs from {original}")


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_eval_fingerprint(evaluation: EvalResults, source: Path, fingerprint: str) -> None:
    """An evaluation of the trained folder or of an export of it is this model; any other is not.

    ``textmetric evaluate`` fingerprints every weight file of the folder it was given, so a run
    kept with ``--keep-checkpoints`` has a fingerprint of its own besides the weights' one.
    """
    if not evaluation.model_fingerprint:
        return
    if evaluation.model_fingerprint not in {fingerprint, model_fingerprint(source)}:
        raise ConfigError(
            f"{evaluation.path} was measured on other weights (fingerprint "
            f"{evaluation.model_fingerprint}; this model's is {fingerprint}): evaluate this model with "
            f"`textmetric evaluate {source} --out DIR` and pass that metrics.json"
        )


def _share_permissions(folder: Path) -> None:
    """The temporary folder is private (0700); an export is meant to be shared: umask permissions."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def check_repo_id(repo_id: str) -> None:
    """Raise ConfigError unless ``repo_id`` is a valid ``ORG/NAME`` Hub model id (checked before any
    work: export names it on the card, push sends to it)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ConfigError(f"--repo-id '{repo_id}' is not a valid Hub repository id: {err}") from None
    if "/" not in repo_id:
        raise ConfigError(f"--repo-id '{repo_id}': expected ORG/NAME (or USER/NAME)")


def export_model(
    model: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    repo_id: str | None = None,
    model_name: str | None = None,
    eval_results: str | Path | None = None,
    license: str | None = None,
    datasets: list[str] | tuple[str, ...] = (),
    tags: list[str] | tuple[str, ...] = (),
    base_model: str | None = None,
    onnx: bool = False,
    quantize: bool = False,
) -> ExportResult:
    """Export the trained model folder ``model`` into ``out`` for the Hub (see the module docstring).

    Args:
        model: a model folder (``textmetric train --output`` or any sentence-transformers folder).
        out: the export folder; refused if it exists and is not empty, unless ``overwrite``.
        repo_id: ``org/name`` the model will be pushed to; named in the card's usage examples.
        model_name: the card's title (default: the repository name or the folder name).
        eval_results: the ``metrics.json`` of ``textmetric evaluate --out`` (or its folder), or a
            simple ``{set: {metric: value}}`` file (:mod:`textmetric.hub.card`); its numbers go into
            the card's table and ``model-index``. A report made for other weights is refused.
        license: the card's license (a Hub license id such as ``apache-2.0``, ``cc-by-sa-4.0``).
        datasets: Hub ids of the training / evaluation data sets, for the card's metadata.
        tags: extra tags.
        base_model: the Hub id of the base model, when training used a local copy of it.
        onnx: also write ``onnx/model.onnx`` (checked against PyTorch to 1e-4).
        quantize: also write ``onnx/model_qint8.onnx`` (implies ``onnx``).
    """

    source = Path(model).expanduser()
    if not source.is_dir():
        raise ModelLoadError(
            f"model folder '{model}' does not exist"
            if not source.exists()
            else f"'{model}' is a file; expected a model folder"
        )
    out = Path(out).expanduser()
    _check_paths(source, out)
    ensure_writable(out, overwrite=overwrite)
    if repo_id is not None:
        check_repo_id(repo_id)
    if base_model is not None and "/" not in base_model:
        raise ConfigError(f"--base-model '{base_model}': expected the Hub id of the base (ORG/NAME)")
    onnx = onnx or quantize
    if onnx:
        check_onnx_available()
    evaluation: EvalResults | None = load_eval_results(eval_results) if eval_results is not None else None
    notes: list[str] = []
    if evaluation is not None and not evaluation.model_fingerprint:
        notes.append(
            f"{evaluation.path} records no model fingerprint: make sure it was measured on this model"
        )

    st_model = load_sentence_transformer(source)
    if onnx:
        _check_onnx_structure(st_model)
    metadata, found_notes = _metadata_for(st_model, source)
    notes += found_notes
    entries = merge_entries(training_entries(metadata), evaluation.entries if evaluation else [])
    card_base = card_base_model(metadata, base_model)
    if card_base is None and metadata.base_model and metadata.base_model != "tiny-ja":
        notes.append(
            f"the base model '{metadata.base_model}' is not a Hub id: "
            "pass --base-model ORG/NAME to name it on the card"
        )
    if not license:
        notes.append("no --license given: the card says 'not specified' (the Hub asks for one)")
    if repo_id is None:
        notes.append("no --repo-id given: the card's usage examples name a local path")

    name = model_name or (repo_id.split("/")[-1] if repo_id else out.name)
    with atomic_path(out, overwrite=overwrite, is_dir=True) as tmp:
        st_model.save(str(tmp), create_model_card=False, safe_serialization=True)
        _check_same_weights(source, tmp)
        fingerprint = model_fingerprint(tmp)
        if evaluation is not None:
            _check_eval_fingerprint(evaluation, source, fingerprint)
        _clean_tokenizer_configs(tmp)
        onnx_info = export_onnx(st_model, tmp, quantize=quantize) if onnx else None
        info = CardInfo(
            model_name=name,
            repo_id=repo_id,
            license=license,
            datasets=list(datasets),
            tags=list(tags),
            base_model=card_base,
            dimension=st_model.get_embedding_dimension(),
            max_seq_length=st_model.max_seq_length,
            similarity_fn=str(st_model.similarity_fn_name or "cosine"),
            tokenizer_class=_tokenizer_class(st_model),
            onnx=onnx_info,
            versions=package_versions(),
            eval_timestamp=evaluation.timestamp if evaluation else None,
        )
        public = _public_metadata(metadata, card_base)
        public["export"] = {
            "repo_id": repo_id,
            "model_name": name,
            "exported_at": _utc_now(),
            "weights_fingerprint": fingerprint,
            "source": source.resolve().name,
            "license": license,
            "datasets": list(datasets),
            "eval_results": dump_eval_entries(entries),
            "onnx": onnx_info,
        }
        write_json(tmp / METADATA_FILE, public)
        write_text(tmp / "README.md", render_card(metadata, info, entries))
        verify_export(st_model, tmp)
        _share_permissions(tmp)
    return ExportResult(
        folder=out,
        files=list_files(out),
        fingerprint=fingerprint,
        evaluated=bool(entries),
        onnx=onnx_info,
        notes=notes,
    )


__all__ = [
    "ONNX_FILE",
    "ONNX_QUANTIZED_FILE",
    "ExportError",
    "ExportResult",
    "compare_embeddings",
    "export_model",
    "export_onnx",
    "list_files",
    "onnx_sentence_embeddings",
    "training_only_files",
    "verify_export",
]
