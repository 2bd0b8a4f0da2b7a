"""Where the project and its build folder are.

The project is found from the environment, not from where the package is installed:
`$OSTEOBOOK_ROOT` when set (the runner sets it for every kernel), else the nearest folder at or above
the working directory that holds `data/registry.yaml`. `$OSTEOBOOK_BUILD_ROOT` moves `_build`
elsewhere (scratch builds).
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import OsteobookError

MARKER = Path("data") / "registry.yaml"


def find_root(start: Path | None = None) -> Path:
    """The project folder: `$OSTEOBOOK_ROOT`, or the nearest parent of `start` (default: cwd) with the marker."""
    if "OSTEOBOOK_ROOT" in os.environ:
        return Path(os.environ["OSTEOBOOK_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise OsteobookError(f"no project found at or above {here}: no {MARKER} there; "
                            "run from inside the project or set OSTEOBOOK_ROOT")


ROOT = find_root()
BUILD_ROOT = Path(os.environ.get("OSTEOBOOK_BUILD_ROOT", ROOT)).resolve()
DATA = ROOT / "data"
NOTEBOOKS = ROOT / "notebooks"
PROFILES = ROOT / "profiles"
BUILD = BUILD_ROOT / "_build"


def variant_dir(kind: str, variant: str) -> Path:
    """Build sub-folder for one book variant: `_build/<kind>/<variant>` (kind: executed, results, stage…)."""
    return BUILD / kind / variant


def results_path(chapter: str, variant: str = "default") -> Path:
    """The machine-readable key results a chapter writes (tests read these)."""
    return variant_dir("results", variant) / f"{chapter}.json"
