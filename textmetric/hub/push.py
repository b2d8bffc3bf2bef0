"""``push_model``: an exported folder to a Hugging Face Hub repository.

Thin over ``huggingface_hub.HfApi``: ``create_repo`` (``exist_ok``; ``private`` applies when the
repository is created), ``create_branch`` for a ``revision`` other than ``main``, then one
``upload_folder`` commit. The token is the user's: ``HF_TOKEN`` or the saved ``hf auth login``.

Only folders written by ``textmetric export`` are pushed (their ``textmetric.json`` has an
``export`` section, and they hold no training state): a training run's folder would publish
checkpoints, optimizer state and local paths. ``dry_run`` stops after :func:`plan_push` and says
what would be sent. Nothing is written locally, in success or failure; every failure a user can
fix (offline, no token, refused token, unreachable Hub) is a :class:`HubError` with one message.

The client is injectable (``api=``) so that the exact calls can be checked without network.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textmetric.errors import ConfigError, TextmetricError
from textmetric.hub.export import check_repo_id, list_files, training_only_files
from textmetric.models.metadata import METADATA_FILE

_TRUE = {"1", "ON", "YES", "TRUE"}


class HubError(TextmetricError):
    """The Hub could not be reached or refused the push."""


class HubOfflineError(HubError):
    """Offline mode (``HF_HUB_OFFLINE=1``): nothing can be pushed."""


class HubAuthError(HubError):
    """No token, or a token the Hub refuses for this repository."""


@dataclass
class PushPlan:
    """What a push sends: repository, settings, files (relative path -> bytes)."""

    repo_id: str
    folder: Path
    files: dict[str, int]
    private: bool = False
    revision: str | None = None
    commit_message: str = ""
    delete_stale: bool = False
    endpoint: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "repo_type": "model",
            "folder": str(self.folder),
            "private": self.private,
            "revision": self.revision or "main",
            "commit_message": self.commit_message,
            "delete_stale": self.delete_stale,
            "endpoint": self.endpoint,
            "files": self.files,
            "total_bytes": self.total_bytes,
            "notes": self.notes,
        }


@dataclass
class PushResult:
    """The plan, and where it landed (``None`` for a dry run)."""

    plan: PushPlan
    dry_run: bool
    repo_url: str | None = None
    commit_url: str | None = None


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` as huggingface_hub read it at import, or as the environment says now."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE


def _export_section(folder: Path) -> dict[str, Any] | None:
    path = folder / METADATA_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    section = data.get("export") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else None


def plan_push(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    delete_stale: bool = False,
) -> PushPlan:
    """Check that ``folder`` is an export and say what pushing it to ``repo_id`` would send."""
    from huggingface_hub import constants

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"export folder '{folder}' does not exist")
    check_repo_id(repo_id)
    export_hint = f"run `textmetric export {folder} --out DIR --repo-id {repo_id}` and push DIR"
    left = training_only_files(folder)
    if left:
        raise ConfigError(
            f"{folder} holds training state ({', '.join(left[:4])}): it is not an export; {export_hint}"
        )
    section = _export_section(folder)
    if section is None or not (folder / "README.md").is_file():
        raise ConfigError(
            f"{folder} is not a folder written by `textmetric export` "
            f"(no model card / export record); {export_hint}"
        )
    notes = []
    named = section.get("repo_id")
    if named != repo_id:
        said = f"names '{named}'" if named else "names no repository"
        notes.append(
            f"the model card {said} in its usage examples; re-export with --repo-id {repo_id} to fix that"
        )
    if private:
        notes.append("--private applies when the repository is created; an existing one keeps its visibility")
    return PushPlan(
        repo_id=repo_id,
        folder=folder,
        files=list_files(folder),
        private=private,
        revision=revision,
        commit_message=commit_message
        or f"Upload {section.get('model_name') or repo_id.split('/')[-1]} (textmetric export)",
        delete_stale=delete_stale,
        endpoint=constants.ENDPOINT,
        notes=notes,
    )


def _status(err: Exception) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _translate(err: Exception, plan: PushPlan) -> HubError:
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(err, OfflineModeIsEnabled):
        return HubOfflineError(f"cannot push to {plan.repo_id}: huggingface_hub is in offline mode ({err})")
    if isinstance(err, HfHubHTTPError):
        status = _status(err)
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        if status == 401:
            return HubAuthError(
                f"the Hub refused the token (401) for {plan.repo_id}: "
                "log in again with `hf auth login` or set HF_TOKEN"
            )
        if status == 403:
            return HubAuthError(
                f"the token may not write to {plan.repo_id} (403): use a token with write access to "
                f"'{plan.repo_id.split('/')[0]}'"
            )
        return HubError(f"the Hub refused the push to {plan.repo_id} ({status}): {first}")
    return HubError(
        f"cannot reach the Hugging Face Hub at {plan.endpoint} ({type(err).__name__}: {err}); "
        "check the network (or HF_ENDPOINT) and try again. Nothing was changed locally"
    )


def push_model(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    delete_stale: bool = False,
    dry_run: bool = False,
    token: str | None = None,
    api: Any = None,
) -> PushResult:
    """Push the export ``folder`` to the Hub model repository ``repo_id``.

    Args:
        private: create the repository private.
        revision: the branch to commit to (created from ``main`` when missing); default ``main``.
        commit_message: default "Upload NAME (textmetric export)".
        delete_stale: delete files of the repository that the folder does not have (e.g. an
            ``onnx/`` of an older version); ``.gitattributes`` is kept.
        dry_run: only check and return the plan; nothing is contacted.
        token: default ``HF_TOKEN`` or the saved login (``huggingface_hub.get_token``).
        api: an ``HfApi``-like client (default ``HfApi(token=token)``).
    """
    plan = plan_push(
        folder,
        repo_id,
        private=private,
        revision=revision,
        commit_message=commit_message,
        delete_stale=delete_stale,
    )
    if dry_run:
        return PushResult(plan=plan, dry_run=True)
    if hub_offline():
        raise HubOfflineError(
            f"cannot push to {repo_id}: HF_HUB_OFFLINE is set. Unset it (and connect) to push, "
            f"or copy {plan.folder} to a machine with network and push from there"
        )
    if token is None:
        from huggingface_hub import get_token

        token = get_token()
    if not token:
        raise HubAuthError(
            f"no Hugging Face token to push to {repo_id}: set HF_TOKEN (a token with write access, "
            "from https://huggingface.co/settings/tokens) or run `hf auth login`"
        )
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        repo_url = api.create_repo(repo_id, token=token, private=private, repo_type="model", exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, token=token, repo_type="model", exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(plan.folder),
            repo_type="model",
            revision=revision,
            commit_message=plan.commit_message,
            token=token,
            delete_patterns="*" if delete_stale else None,
        )
    except TextmetricError:
        raise
    except Exception as err:  # network, HTTP and offline errors of huggingface_hub / its HTTP client
        raise _translate(err, plan) from None
    return PushResult(
        plan=plan,
        dry_run=False,
        repo_url=str(repo_url) if repo_url is not None else None,
        commit_url=getattr(commit, "commit_url", None) or (str(commit) if commit is not None else None),
    )


__all__ = [
    "HubAuthError",
    "HubError",
    "HubOfflineError",
    "PushPlan",
    "PushResult",
    "hub_offline",
    "plan_push",
    "push_model",
]
