"""Process roles under torch.distributed (``torchrun`` / ``accelerate launch`` / ``--nproc``).

Only the main process (global rank 0) validates and writes the output folder, builds the
tiny-ja base, writes checkpoints and logs; the others train and stay quiet (``textmetric embed``
uses the same roles: every process writes its own shard, process 0 the manifest). Every step that can
fail on one process before a collective (reading the inputs, preparing the output, loading the
base model, writing the final model) runs inside :class:`Agreement`: the processes exchange
their outcome, and if any failed, all raise the same error, so a bad input is one clear message
and an exit code, never a process waiting forever for a peer that already left.

The plain functions (:func:`world_size`, :func:`rank`, :func:`is_main_process`) read the
launcher's environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``), which torchrun, accelerate
and the SLURM / MPI wrappers around them all set.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from textmetric.errors import ConfigError, TextmetricError

logger = logging.getLogger("textmetric")

# How long a process waits for its peers at a collective (the main process may be building the
# tiny-ja vocabulary or evaluating while the others wait). Same default as transformers' ddp_timeout.
TIMEOUT = timedelta(seconds=int(os.environ.get("TEXTMETRIC_DIST_TIMEOUT", "1800")))

# Seconds a non-main process waits after a failure so that the main one reports it first.
REPLICA_EXIT_DELAY = 3.0

_CONTROL_GROUP: Any = None
_CREATED_BY_US = False

if os.environ.get("RANK", "0") != "0":
    # Progress bars of the non-main processes (model loading, model card) would interleave with
    # the main one. tqdm reads TQDM_* once, when imported: this module is imported first.
    os.environ.setdefault("TQDM_DISABLE", "1")


def world_size() -> int:
    """Number of training processes (1 when not launched by a distributed launcher)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """Global rank of this process (0 when not distributed)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    """True for the process that writes outputs (rank 0, or the only process)."""
    return rank() == 0


def is_distributed() -> bool:
    return world_size() > 1


def wants_cpu(device: str) -> bool:
    """Whether training runs on CPU: asked for, forced by ``accelerate launch --cpu``, or no GPU."""
    import torch

    if device == "cpu" or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes"):
        return True
    return device == "auto" and not torch.cuda.is_available()


def setup(*, cpu: bool) -> None:
    """Join the process group (gloo on CPU, NCCL on GPUs) and quieten the non-main processes.

    A no-op in a single process. When a launcher (or the user's script) has already initialised
    torch.distributed, that group is used as it is.
    """
    global _CONTROL_GROUP, _CREATED_BY_US
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        # torch.distributed.nn binds ``group.WORLD`` as its functions' default argument when it
        # is imported (sentence-transformers imports it lazily, to gather embeddings). Imported
        # after the group exists, those defaults keep the group alive past
        # destroy_process_group(): gloo's worker threads are then never joined and may still be
        # releasing a finished collective's tensors while Python shuts down, which aborts the
        # process ("terminate called without an active exception"). Imported first, they are None.
        import torch.distributed.nn

        if cpu:
            backend = "gloo"
        else:
            torch.cuda.set_device(local_rank())
            backend = "nccl"
        dist.init_process_group(backend=backend, timeout=TIMEOUT)
        _CREATED_BY_US = True
    # Small control messages (errors, RNG states, stop requests) are CPU objects: gloo carries
    # them whatever the training backend is.
    if _CONTROL_GROUP is None:
        if dist.get_backend() == "gloo":
            _CONTROL_GROUP = dist.group.WORLD
        else:
            _CONTROL_GROUP = dist.new_group(backend="gloo", timeout=TIMEOUT)
    if not is_main_process():
        _quieten_replica()


def teardown(*, failed: bool = False) -> None:
    """Leave the process group if :func:`setup` created it (a launcher's own group is left alone).

    After a failure the non-main processes linger a moment before exiting: a launcher stops all
    workers as soon as one exits with an error, and the main process must first print it.
    """
    global _CONTROL_GROUP, _CREATED_BY_US
    import torch.distributed as dist

    if failed and _CONTROL_GROUP is not None and not is_main_process():
        time.sleep(REPLICA_EXIT_DELAY)
    if _CREATED_BY_US and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
    _CONTROL_GROUP = None
    _CREATED_BY_US = False


def control_group():
    return _CONTROL_GROUP


def _quieten_replica() -> None:
    """Non-main processes print errors only: no duplicated logs, warnings or progress bars."""
    for name in ("textmetric", "sentence_transformers", "transformers", "accelerate", "datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with contextlib.suppress(Exception):
        import datasets

        datasets.disable_progress_bars()
    with contextlib.suppress(Exception):
        import transformers

        transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore")


# --- agreeing on success or failure ------------------------------------------------------------


@dataclass
class _Outcome:
    rank: int
    error_type: str | None = None
    message: str = ""
    textmetric: bool = False
    value: Any = None


class Agreement:
    """A step that every process enters; on exit all succeed together or all raise.

    ``with Agreement("reading the inputs") as step: ...``. Whatever the main process assigns to
    ``step.value`` is handed to every process. In a single process it only runs the block.
    A process that failed re-raises its own exception; the others raise the same kind of
    :class:`TextmetricError` with the failing rank's message (or a ``RuntimeError`` for a bug).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.value: Any = None

    def __enter__(self) -> Agreement:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if _CONTROL_GROUP is None:
            return False  # single process: the exception (if any) propagates as usual
        if exc is not None and not isinstance(exc, Exception):
            return False  # KeyboardInterrupt / SystemExit: the launcher stops everyone
        import torch.distributed as dist

        mine = _Outcome(rank=rank(), value=self.value if is_main_process() else None)
        if exc is not None:
            mine.error_type = f"{type(exc).__module__}.{type(exc).__qualname__}"
            mine.message = str(exc)
            mine.textmetric = isinstance(exc, TextmetricError)
            if not mine.textmetric:
                mine.message += "\n" + "".join(traceback.format_exception(exc_type, exc, tb))[-2000:]
        outcomes: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(outcomes, mine, group=_CONTROL_GROUP)
        self.value = outcomes[0].value
        failed = [o for o in outcomes if o.error_type is not None]
        if not failed:
            return False
        if exc is not None:
            return False  # re-raise this process's own error
        raise _rebuild(failed[0], self.what)


def _rebuild(outcome: _Outcome, what: str) -> Exception:
    prefix = f"process {outcome.rank} of {world_size()}: " if outcome.rank != rank() else ""
    if not outcome.textmetric:
        return RuntimeError(f"{prefix}{what} failed with {outcome.error_type}: {outcome.message}")
    module, _, name = outcome.error_type.rpartition(".")
    cls: type[Exception] = TextmetricError
    with contextlib.suppress(Exception):
        found = getattr(sys.modules[module], name)
        if isinstance(found, type) and issubclass(found, TextmetricError):
            cls = found
    try:
        return cls(prefix + outcome.message)
    except Exception:
        return TextmetricError(prefix + outcome.message)


# --- collectives used while training ------------------------------------------------------------


def agree_on_signal(signum: int | None) -> int | None:
    """The stop signal any process received (Ctrl-C / SIGTERM), so that all stop at the same step."""
    if _CONTROL_GROUP is None:
        return signum
    import torch
    import torch.distributed as dist

    flag = torch.tensor([signum or 0], dtype=torch.int64)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=_CONTROL_GROUP)
    return int(flag.item()) or None


def gather_objects(obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order (``[obj]`` in a single process)."""
    if _CONTROL_GROUP is None:
        return [obj]
    import torch.distributed as dist

    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj, group=_CONTROL_GROUP)
    return gathered


def average_gradients(params) -> None:
    """Average the gradients of parameters that DDP does not see (a loss's classifier or centres).

    DDP averages the encoder's gradients; a loss's own parameters live outside the wrapped model,
    so without this each process would update its copy of them differently.
    """
    import torch
    import torch.distributed as dist

    params = list(params)
    if not params or not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    present = torch.tensor([float(p.grad is not None) for p in params], device=grads[0].device)
    flat = torch.cat([g.reshape(-1).float() for g in grads])
    dist.all_reduce(flat)
    dist.all_reduce(present)
    flat /= dist.get_world_size()
    offset = 0
    for param, had in zip(params, present.tolist(), strict=True):
        size = param.numel()
        if had:
            param.grad = flat[offset : offset + size].view_as(param).to(param.dtype).clone()
        offset += size


def average_in_place(tensors) -> None:
    """Average floating-point tensors in place across processes (a loss's buffers, e.g. centres).

    State a loss updates by hand on its own batch (center loss moves its class centres towards
    the batch's embeddings) would drift apart between processes; averaging after every step
    keeps one state, as if each centre moved by the mean of the processes' updates.
    """
    import torch
    import torch.distributed as dist

    tensors = [t for t in tensors if t.is_floating_point()]
    if not tensors or not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return
    flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    with torch.no_grad():
        for tensor in tensors:
            size = tensor.numel()
            tensor.copy_(flat[offset : offset + size].view_as(tensor))
            offset += size


# --- ``textmetric train|embed --nproc N`` ----------------------------------------------------------


@contextlib.contextmanager
def process_group(*, cpu: bool) -> Iterator[None]:
    """:func:`setup` on entry, :func:`teardown` on exit; nested uses share the outermost group.

    The CLI joins the group before loading the model and the API joins it again inside
    ``embed_file``: only the outermost block creates and leaves it.
    """
    if _CONTROL_GROUP is not None:
        yield
        return
    setup(cpu=cpu)
    failed = True
    try:
        yield
        failed = False
    finally:
        teardown(failed=failed)


def rank_device(device: str | None) -> str | None:
    """This process's device when several processes share a machine: one GPU each, in turn.

    ``None`` / ``auto`` / ``cuda`` mean "a GPU if there is one": ``cuda:LOCAL_RANK``, wrapping
    round when there are more processes than GPUs (they then share). An explicit ``cuda:1`` or
    ``cpu`` is kept. In a single process the device is returned unchanged.
    """
    if not is_distributed() or device not in (None, "auto", "cuda"):
        return device
    import torch

    if torch.cuda.is_available():
        return f"cuda:{local_rank() % torch.cuda.device_count()}"
    return "cpu" if device in (None, "auto") else device


def verbosity_flags() -> list[str]:
    """``--verbose`` / ``--quiet`` as given to this command, to pass on to the launched workers."""
    level = logging.getLogger("textmetric").level
    if level and level <= logging.DEBUG:
        return ["--verbose"]
    return ["--quiet"] if level >= logging.WARNING else []


def launch_local(config, nproc: int, *, verbosity: list[str] | None = None) -> int:
    """Run ``textmetric train`` in ``nproc`` processes on this machine (torchrun, standalone).

    The configuration goes to the workers as a ``--config`` file, so they run exactly what was
    asked here. Returns the exit code as :func:`launch_command` does.
    """
    _check_nproc(nproc)
    from textmetric.io import write_json

    folder = Path(tempfile.mkdtemp(prefix="textmetric-launch-"))
    try:
        config_file = write_json(folder / "train_config.json", config.to_dict())
        return launch_command(["train", "--config", str(config_file)], nproc, verbosity=verbosity)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def launch_command(command: list[str], nproc: int, *, verbosity: list[str] | None = None) -> int:
    """Run ``textmetric COMMAND...`` in ``nproc`` processes on this machine (torchrun, standalone).

    Each process gets ``cores / nproc`` torch threads (unless ``OMP_NUM_THREADS`` is set), not
    torchrun's default of one. Returns the exit code: 0, or the code of the first failing process
    (2 for a user error, 130 for an interrupt).
    """
    _check_nproc(nproc)
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    args = [
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        "--max-restarts",
        "0",
        "-m",
        "textmetric",
        *(verbosity or []),
        *command,
    ]
    saved = {name: os.environ.get(name) for name in ("OMP_NUM_THREADS",)}
    if saved["OMP_NUM_THREADS"] is None:  # torchrun would set 1: share this machine's cores instead
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    elastic = logging.getLogger("torch.distributed.elastic")
    level = elastic.level
    if logger.getEffectiveLevel() > logging.DEBUG:
        elastic.setLevel(logging.CRITICAL)  # the workers report their own errors
    try:
        run(parse_args(args))
        return 0
    except ChildFailedError as err:
        _, first = err.get_first_failure()
        code = first.exitcode if first.exitcode and first.exitcode > 0 else 1
        if code not in (2, 130):
            logger.error(
                "%s process %d failed with exit code %s", command[0], first.local_rank, first.exitcode
            )
        return code
    finally:
        elastic.setLevel(level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_nproc(nproc: int) -> None:
    if nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, not {nproc}")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError(
            "--nproc starts its own processes; it cannot be used under torchrun / accelerate launch"
        )
