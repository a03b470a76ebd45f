"""Wheel build hook: compile the bundled knowledge into the wheel (immunocli/prebuilt.sqlite), so that the
first answer after an install copies one file instead of compiling (see src/immunocli/prebuilt.py).

An editable install compiles on first use as before (its files change as they are edited). A knowledge
with problems builds a wheel without the file: its first run reports them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class PrebuiltKnowledge(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel" or version == "editable":
            return
        here = Path(self.root)
        self._tmp = tempfile.mkdtemp(prefix="immuno-prebuilt-")
        out = Path(self._tmp) / "prebuilt.sqlite"
        sys.path.insert(0, str(here / "src"))
        try:
            from immunocli.prebuilt import make

            make(here / "data", out)
        except Exception as exc:  # noqa: BLE001 - a wheel without the file still works
            print(f"immuno: the bundled knowledge was not compiled into the wheel ({exc})", file=sys.stderr)
            return
        finally:
            sys.path.remove(str(here / "src"))
            for name in [m for m in sys.modules if m == "immunocli" or m.startswith("immunocli.")]:
                del sys.modules[name]
        build_data["force_include"][str(out)] = "immunocli/prebuilt.sqlite"

    def finalize(self, version, build_data, artifact_path):
        if getattr(self, "_tmp", None):
            shutil.rmtree(self._tmp, ignore_errors=True)
