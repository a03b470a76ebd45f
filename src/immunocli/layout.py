"""Where knowledge lives: the bundled data, the user's directories, and the file layout inside each.

Kept apart from the loader so that a cached look-up can name its directories without importing the
model and the YAML layer.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA_DIR = "IMMUNO_DATA_DIR"
RECORD_DIRS = {"trials": "trial", "drugs": "drug", "approvals": "approval"}
LIST_FILES = {"endpoints.yaml": "endpoints", "indications.yaml": "indications", "clinical-context.yaml": "context"}
EXTENSIONS = (".yaml", ".yml", ".json")  # JSON is YAML's faster-to-parse subset, for generated knowledge


def bundled_dir() -> Path:
    # The wheel puts data/ inside the package. For an installed package this is what
    # importlib.resources.files() returns, without the 15 ms its import costs on every look-up.
    packaged = Path(__file__).resolve().parent / "data"
    if packaged.is_dir():
        return packaged
    # Running from a source checkout (editable install or PYTHONPATH=src): the repository's data/.
    return Path(__file__).resolve().parents[2] / "data"


def data_dirs(extra: list[str] | None = None) -> list[tuple[Path, str]]:
    """The directories to load, bundled first, as (path, origin label)."""
    dirs = [(bundled_dir(), "bundled")]
    env = os.environ.get(ENV_DATA_DIR)
    for entry in ([p for p in env.split(os.pathsep) if p] if env else []) + list(extra or []):
        path = Path(entry).expanduser()
        dirs.append((path, str(path)))
    return dirs
