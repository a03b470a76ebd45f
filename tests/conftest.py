"""Shared fixtures: run the real CLI in-process or as a subprocess, with a private cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunocli.cli import app

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own cache directory and no user knowledge from the environment."""
    monkeypatch.setenv("IMMUNO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IMMUNO_DATA_DIR", raising=False)
    monkeypatch.delenv("IMMUNO_NO_CACHE", raising=False)


class Run:
    def __init__(self, result):
        self.code = result.exit_code
        self.out = result.stdout
        self.err = result.stderr
        self.exception = result.exception

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def immuno():
    """Invoke `immuno ARGS…` in-process; returns exit code, stdout and stderr apart."""
    runner = CliRunner()

    def run(*args: str, env: dict | None = None) -> Run:
        return Run(runner.invoke(app, list(args), env=env))

    return run


@pytest.fixture
def shell(tmp_path):
    """Run a shell pipeline with this Python's `immuno` (python -m immunocli) on PATH-free terms."""

    def run(command: str, env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "IMMUNO_CACHE_DIR": str(tmp_path / "cache"), **(env or {})}
        immuno = f"{sys.executable} -m immunocli"
        return subprocess.run(command.replace("immuno ", immuno + " ", 1) if command.startswith("immuno ") else command,
                              shell=True, capture_output=True, text=True, env=full_env, timeout=60)

    return run


@pytest.fixture
def user_dir(tmp_path):
    """An empty knowledge directory with the standard layout."""
    root = tmp_path / "knowledge"
    for sub in ("trials", "drugs", "approvals"):
        (root / sub).mkdir(parents=True)
    return root
