"""What textmetric records next to a saved model: ``textmetric.json``.

sentence-transformers' own files say how to run the model; this file says how it was *made*
(base model, structure, normalisation, loss, data, metrics), so that :class:`textmetric.TextMetric`
applies the same text normalisation as training, the model card can describe the run, and an
index can check that it is searched with the model that built it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

METADATA_FILE = "textmetric.json"


@dataclass
class ModelMetadata:
    base_model: str | None = None
    structure: str = "siamese"
    pooling: str = "mean"
    normalize_embeddings: bool = True
    nfkc: bool = True
    max_seq_length: int | None = None
    loss: list[str] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    data: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    textmetric_version: str | None = None

    def save(self, folder: str | Path) -> Path:
        from textmetric import __version__

        self.textmetric_version = self.textmetric_version or __version__
        path = Path(folder) / METADATA_FILE
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2, default=str) + "\n", "utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> ModelMetadata | None:
        """The metadata of a textmetric model folder, or ``None`` for a plain sentence-transformers model."""
        path = Path(folder) / METADATA_FILE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text("utf-8"))
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# Keys a re-save rewrites without changing what the model computes (library versions, the
# folder it was loaded from, the dtype name the weights' bytes already carry).
_VOLATILE_KEYS = frozenset({"__version__", "transformers_version", "_name_or_path", "dtype", "torch_dtype"})
# JSON files in a module folder that configure something else than the module: the tokenizer
# (rewritten on export with its load-time keys dropped), generation, image preprocessing. (The
# prompts and versions in config_sentence_transformers.json are not module configuration either.)
_NOT_MODULE_CONFIG = frozenset(
    {
        "tokenizer_config.json",
        "generation_config.json",
        "preprocessor_config.json",
        "processor_config.json",
    }
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _module_folders(folder: Path) -> list[Path]:
    """The folders of the model's sentence-transformers modules, a ``Router``'s towers included."""
    entries = _read_json(folder / "modules.json")
    if not isinstance(entries, list):
        return [folder]  # a plain Hugging Face folder: sentence-transformers adds mean pooling
    found: dict[Path, None] = {}
    for entry in entries:
        module = folder / str(entry.get("path", "")) if isinstance(entry, dict) else folder
        found[module] = None
        router = _read_json(module / "router_config.json")
        if isinstance(router, dict) and isinstance(router.get("types"), dict):
            found.update((module / name, None) for name in router["types"])
    return list(found)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _config_files(folder: Path) -> list[Path]:
    """``modules.json`` and each module's own configuration (``1_Pooling/config.json``,
    ``sentence_bert_config.json``, ``router_config.json``, the encoder's ``config.json``...)."""
    files = {folder / "modules.json"} if (folder / "modules.json").is_file() else set()
    for module in _module_folders(folder):
        files.update(
            p for p in module.glob("*config.json") if p.is_file() and p.name not in _NOT_MODULE_CONFIG
        )
    return sorted(files)


def model_fingerprint(folder: str | Path) -> str:
    """A hash of what makes a model folder embed as it does: weights and module configuration.

    The identity an index and an evaluation report record. Weights alone are not enough: the same
    BERT with CLS instead of mean pooling, or without the Normalize module, gives other vectors.
    So ``modules.json`` and each module's configuration are hashed too, as parsed JSON without the
    keys a re-save rewrites (library versions, ``_name_or_path``, ``dtype``), so that saving a
    model again (another folder, another transformers version) keeps its fingerprint. Of the
    tokenizer only ``model_max_length`` (the saved ``max_seq_length``) counts; model cards,
    ``textmetric.json`` and prompt files are not part of it.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    weight_files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in {".safetensors", ".bin"} and ".onnx" not in p.name
    )
    for path in weight_files:
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    for path in _config_files(folder):
        config = _read_json(path)
        digest.update(str(path.relative_to(folder)).encode())
        if config is None:
            digest.update(path.read_bytes())
        else:
            digest.update(json.dumps(_canonical(config), sort_keys=True, ensure_ascii=False).encode())
    # sentence-transformers keeps max_seq_length in the tokenizer config: it decides truncation.
    for path in sorted(folder.rglob("tokenizer_config.json")):
        config = _read_json(path)
        if isinstance(config, dict) and "model_max_length" in config:
            digest.update(f"{path.relative_to(folder)}:{config['model_max_length']}".encode())
    return digest.hexdigest()[:16]
