"""``textmetric push`` without network: exactly what huggingface_hub is asked, and the refusals."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from textmetric.cli import app
from textmetric.errors import ConfigError, TextmetricError
from textmetric.hub import HubAuthError, HubError, HubOfflineError, plan_push, push_model
from textmetric.hub.export import list_files

REPO = "my-org/jsts-tiny"


class FakeHfApi:
    """A local stand-in for ``huggingface_hub.HfApi``: records every call, sends nothing."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, bytes] = {}
        self.fail = fail

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if self.fail is not None:
            raise self.fail
        return f"https://huggingface.co/{repo_id}"

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        root = Path(kwargs["folder_path"])
        self.uploaded = {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

        class Commit:
            commit_url = f"https://huggingface.co/{kwargs['repo_id']}/commit/abc"

        return Commit()


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with a hash of its bytes and its mtime: any local change shows."""
    state = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file():
            state[rel] = f"{hashlib.sha256(path.read_bytes()).hexdigest()} {path.stat().st_mtime_ns}"
        else:
            state[rel] = "dir"
    return state


@pytest.fixture
def online(monkeypatch, tmp_path):
    """huggingface_hub as on a connected machine with no saved login (HF_HOME empty, no HF_TOKEN)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    home = tmp_path / "hf-home"
    home.mkdir()
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    return home


def test_push_asks_the_hub_for_exactly_this_repository_and_these_files(exported_dir, online):
    before = snapshot(exported_dir)
    api = FakeHfApi()
    result = push_model(
        exported_dir,
        REPO,
        private=True,
        revision="v1",
        commit_message="first version",
        token="hf_test",
        api=api,
    )
    assert api.calls == [
        (
            "create_repo",
            {"repo_id": REPO, "token": "hf_test", "private": True, "repo_type": "model", "exist_ok": True},
        ),
        (
            "create_branch",
            {"repo_id": REPO, "branch": "v1", "token": "hf_test", "repo_type": "model", "exist_ok": True},
        ),
        (
            "upload_folder",
            {
                "repo_id": REPO,
                "folder_path": str(exported_dir),
                "repo_type": "model",
                "revision": "v1",
                "commit_message": "first version",
                "token": "hf_test",
                "delete_patterns": None,
            },
        ),
    ]
    assert set(api.uploaded) == set(list_files(exported_dir)) == set(result.plan.files)
    assert {"README.md", "model.safetensors", "textmetric.json", "vocab.txt"} <= set(api.uploaded)
    assert not any(name.startswith("checkpoints") for name in api.uploaded)
    assert result.commit_url.endswith("/commit/abc") and result.repo_url == f"https://huggingface.co/{REPO}"
    assert snapshot(exported_dir) == before


def test_default_push_to_main_with_token_from_the_environment(exported_dir, online, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    api = FakeHfApi()
    result = push_model(exported_dir, REPO, delete_stale=True, api=api)
    assert [name for name, _ in api.calls] == ["create_repo", "upload_folder"]  # no branch for main
    create, upload = api.calls[0][1], api.calls[1][1]
    assert create["private"] is False and create["token"] == "hf_from_env"
    assert upload["revision"] is None and upload["delete_patterns"] == "*"
    assert upload["commit_message"] == "Upload jsts-tiny (textmetric export)" == result.plan.commit_message
    assert result.plan.notes == []  # the card names this repository


def test_dry_run_lists_and_contacts_nothing(exported_dir):
    api = FakeHfApi()
    result = push_model(exported_dir, "other-org/name", private=True, dry_run=True, api=api)
    assert api.calls == [] and result.dry_run
    plan = result.plan.to_dict()
    assert plan["repo_id"] == "other-org/name" and plan["private"] is True and plan["revision"] == "main"
    assert plan["files"] == list_files(exported_dir)
    assert plan["total_bytes"] == sum(p.stat().st_size for p in exported_dir.rglob("*") if p.is_file())
    assert any("names 'my-org/jsts-tiny'" in note for note in plan["notes"])
    output = CliRunner().invoke(app, ["push", str(exported_dir), "--repo-id", REPO, "--dry-run"])
    assert output.exit_code == 0, output.output
    for name in ("model.safetensors", "README.md", REPO, "dry run: nothing was sent", "total_bytes"):
        assert name in output.output


def test_offline_mode_is_a_clear_error_and_changes_nothing(exported_dir, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    before = snapshot(exported_dir)
    api = FakeHfApi()
    with pytest.raises(HubOfflineError, match="HF_HUB_OFFLINE is set"):
        push_model(exported_dir, REPO, token="hf_test", api=api)
    assert api.calls == []
    result = CliRunner().invoke(app, ["push", str(exported_dir), "--repo-id", REPO])
    assert result.exit_code == 2 and "HF_HUB_OFFLINE" in result.output and "Traceback" not in result.output
    assert snapshot(exported_dir) == before


def test_no_token_is_a_clear_error(exported_dir, online):
    api = FakeHfApi()
    with pytest.raises(HubAuthError, match=r"no Hugging Face token .* set HF_TOKEN .* `hf auth login`"):
        push_model(exported_dir, REPO, api=api)
    assert api.calls == []
    assert isinstance(HubAuthError("x"), TextmetricError) and HubAuthError.exit_code == 2


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textmetric", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_without_token_or_network_exits_2_in_a_fresh_process(exported_dir, tmp_path):
    """A real process: empty HF_HOME and no HF_TOKEN; then a token but a Hub that cannot be reached."""
    home = tmp_path / "empty-hf-home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE")
    }
    env.update(HF_HOME=str(home), HF_HUB_OFFLINE="0")
    before = snapshot(exported_dir)
    no_token = _run_cli(["push", str(exported_dir), "--repo-id", REPO], env)
    assert no_token.returncode == 2, no_token.stderr
    assert "no Hugging Face token" in no_token.stderr and "Traceback" not in no_token.stderr
    # A closed port on this machine stands for "no network": the connection is refused at once.
    unreachable = _run_cli(
        ["push", str(exported_dir), "--repo-id", REPO],
        {**env, "HF_TOKEN": "hf_not_a_real_token", "HF_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert unreachable.returncode == 2, unreachable.stderr
    assert "cannot reach the Hugging Face Hub at http://127.0.0.1:9" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    assert snapshot(exported_dir) == before
    assert sorted(p.name for p in home.iterdir()) == []  # no login or cache written either


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (401, HubAuthError, "refused the token"),
        (403, HubAuthError, "may not write"),
        (500, HubError, "(500)"),
    ],
)
def test_hub_refusals_become_clear_errors(exported_dir, online, status, error, message):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    response = httpx2.Response(
        status, request=httpx2.Request("POST", "https://huggingface.co/api/repos/create")
    )
    api = FakeHfApi(fail=HfHubHTTPError("refused", response=response))
    with pytest.raises(error, match=message):
        push_model(exported_dir, REPO, token="hf_test", api=api)


def test_only_exported_folders_are_pushed(tmp_path, trained_dir):
    with pytest.raises(ConfigError, match=r"holds training state .* run `textmetric export"):
        plan_push(trained_dir, REPO)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text("{}", "utf-8")
    with pytest.raises(ConfigError, match="not a folder written by `textmetric export`"):
        plan_push(plain, REPO)
    with pytest.raises(ConfigError, match="does not exist"):
        plan_push(tmp_path / "missing", REPO)
    result = CliRunner().invoke(app, ["push", str(trained_dir), "--repo-id", REPO, "--dry-run"])
    assert result.exit_code == 2 and "training state" in result.output


@pytest.mark.parametrize("repo_id", ["no-slash", "a/b/c", "org/bad name", "org/--x"])
def test_bad_repository_ids(exported_dir, repo_id):
    with pytest.raises(ConfigError, match="repo-id"):
        plan_push(exported_dir, repo_id)
