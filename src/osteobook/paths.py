"""Where things live in the project and its build folder."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
NOTEBOOKS = ROOT / "notebooks"
PROFILES = ROOT / "profiles"
BUILD = ROOT / "_build"


def variant_dir(kind: str, variant: str) -> Path:
    """Build sub-folder for one book variant: `_build/<kind>/<variant>` (kind: executed, results, stage…)."""
    return BUILD / kind / variant


def results_path(chapter: str, variant: str = "default") -> Path:
    """The machine-readable key results a chapter writes (tests read these)."""
    return variant_dir("results", variant) / f"{chapter}.json"
