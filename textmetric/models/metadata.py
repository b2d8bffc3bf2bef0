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


def model_fingerprint(folder: str | Path) -> str:
    """A hash of a model folder's weight files: the identity an index records."""
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
    return digest.hexdigest()[:16]
