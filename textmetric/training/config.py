"""Training configuration: one dataclass for the CLI, the Python API and ``--config`` files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from textmetric.errors import ConfigError
from textmetric.models.builder import DEFAULT_BASE_MODEL, TINY_JA
from textmetric.models.tiny_ja import WORD_INITS, TinyJaConfig
from textmetric.models.word_vectors import DEFAULT_PAIR_WEIGHT

# A model trained from scratch needs a much larger step than a pretrained BERT (3e-4 worked for
# tiny-ja on JSTS; 2e-5 to 5e-5 is the usual range for fine-tuning BERT-base).
DEFAULT_LR_SCRATCH = 3e-4
DEFAULT_LR_PRETRAINED = 3e-5


@dataclass
class TrainConfig:
    """Everything a training run needs; saved as ``train_config.json`` next to the model."""

    data: list[str]
    output: str
    model: str = DEFAULT_BASE_MODEL
    structure: str = "siamese"
    pooling: str = "mean"
    normalize: bool = True
    max_seq_length: int = 128
    loss: list[str] = field(default_factory=list)
    loss_params: dict[str, Any] = field(default_factory=dict)
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 32
    lr: float | None = None
    warmup: float = 0.1
    weight_decay: float = 0.01
    # save an exponential moving average of the weights (e.g. 0.999; 0: the last weights), averaged
    # from this fraction of the steps on; see training.callbacks.WeightAverageCallback
    ema_decay: float = 0.0
    ema_start: float = 0.5
    seed: int = 42
    eval_sts: list[str] = field(default_factory=list)
    eval_retrieval: list[str] = field(default_factory=list)
    eval_steps: int | None = None
    best_metric: str | None = None
    save_steps: int = 500
    save_total_limit: int = 2
    logging_steps: int = 50
    resume: bool = False
    overwrite: bool = False
    keep_checkpoints: bool = False
    columns: str | None = None
    encoding: str | None = None
    nfkc: bool = True
    on_bad_row: str = "error"
    # tiny-ja (offline base) size
    tiny_vocab_size: int = 16000
    tiny_hidden_size: int = 256
    tiny_layers: int = 4
    tiny_heads: int = 4
    tiny_word_init: str = "ppmi"  # or "random"; see textmetric.models.word_vectors
    tiny_ppmi_pair_weight: float = DEFAULT_PAIR_WEIGHT  # positive pairs as PPMI contexts; 0: window only
    tiny_dropout: float = TinyJaConfig.dropout  # hidden and attention dropout while training (BERT's 0.1)
    # throughput and devices
    fast_tokenizer: bool = True
    dataloader_workers: int = 0
    # batches of similar length (less padding) for losses that allow it; see trainer._length_grouped_sampler
    length_grouping: bool = False
    gather_across_devices: bool = True
    precision: str = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.data, (str, Path)):
            self.data = [str(self.data)]
        if isinstance(self.loss, str):
            self.loss = [name.strip() for name in self.loss.split(",") if name.strip()]
        for name in ("eval_sts", "eval_retrieval"):
            value = getattr(self, name)
            if isinstance(value, (str, Path)):
                setattr(self, name, [str(value)])
        if not self.data:
            raise ConfigError("no training data given")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError("epochs must be positive (or give max_steps)")
        if self.batch_size < 2:
            raise ConfigError(
                "batch size must be at least 2 (metric-learning losses compare texts in a batch)"
            )
        if self.on_bad_row not in ("error", "skip"):
            raise ConfigError(f"on_bad_row must be 'error' or 'skip', not '{self.on_bad_row}'")
        if self.tiny_word_init not in WORD_INITS:
            raise ConfigError(
                f"tiny_word_init must be one of {', '.join(WORD_INITS)}, not '{self.tiny_word_init}'"
            )
        if self.tiny_ppmi_pair_weight < 0:
            raise ConfigError(f"tiny_ppmi_pair_weight must be >= 0, not {self.tiny_ppmi_pair_weight}")
        if not 0.0 <= self.tiny_dropout < 1.0:
            raise ConfigError(f"tiny_dropout must be in [0, 1), not {self.tiny_dropout}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1) (0: off; 0.999 is typical), not {self.ema_decay}")
        if not 0.0 <= self.ema_start < 1.0:
            raise ConfigError(f"ema_start is a fraction of the steps, in [0, 1), not {self.ema_start}")
        if self.ema_decay and self.best_metric:
            raise ConfigError(
                "ema_decay and best_metric both choose the weights to save (the moving average, or the "
                "best evaluated checkpoint); use one of them"
            )
        if self.precision not in ("auto", "fp32", "fp16", "bf16"):
            raise ConfigError(f"precision must be auto, fp32, fp16 or bf16, not '{self.precision}'")

    @property
    def is_tiny_ja(self) -> bool:
        return self.model == TINY_JA

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return DEFAULT_LR_SCRATCH if self.is_tiny_ja else DEFAULT_LR_PRETRAINED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read a YAML or JSON config; ``overrides`` (e.g. from the command line) win."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        text = path.read_text("utf-8")
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                raw = yaml.safe_load(text) or {}
            else:
                raw = json.loads(text)
        except Exception as err:
            raise ConfigError(f"{path}: cannot parse the config: {err}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the config must be a mapping of option names to values")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown option(s) {unknown}; known: {', '.join(sorted(known))}")
        base = path.parent
        for key in ("data", "eval_sts", "eval_retrieval"):
            if key in raw:
                values = raw[key] if isinstance(raw[key], list) else [raw[key]]
                raw[key] = [
                    str((base / v) if not Path(v).is_absolute() and (base / v).exists() else v)
                    for v in values
                ]
        raw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**raw)
