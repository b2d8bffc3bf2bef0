"""Safe outputs: atomic writes and refusal to overwrite.

A crash, Ctrl-C or SIGKILL must never leave a half-written model, index, pairs file or report
where a finished one is expected. Every writer in textmetric goes through :func:`atomic_path`
(a file or folder is built under a temporary sibling name, then renamed into place) and checks
:func:`ensure_writable` first so that an existing output is not overwritten unless asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textmetric.errors import OutputExistsError


def ensure_writable(path: str | Path, *, overwrite: bool = False) -> Path:
    """Refuse an existing, non-empty output unless ``overwrite`` is set."""
    path = Path(path)
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputExistsError(f"{path} exists and is not empty; pass --overwrite to replace it")
    if path.is_file() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass --overwrite to replace it")
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_path(target: str | Path, *, overwrite: bool = False, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success move it into place atomically.

    On any exception the temporary file or folder is removed and ``target`` is untouched.
    For folders, the old target (if ``overwrite``) is replaced only after the new one is complete.
    """
    target = Path(target)
    ensure_writable(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    work = tmp if is_dir else tmp / target.name
    try:
        yield work
        if target.exists() or target.is_symlink():
            backup = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, backup)
            os.replace(work, target)
            _remove(backup)
        else:
            os.replace(work, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, data: Any, *, overwrite: bool = True) -> Path:
    """Write ``data`` as pretty UTF-8 JSON, atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return Path(path)


def write_text(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """Write UTF-8 text atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
