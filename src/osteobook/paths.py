"""Where things live in the project and its build folder."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The folder that holds `_build` (default: the project). Set OSTEOBOOK_BUILD_ROOT for a scratch build.
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
