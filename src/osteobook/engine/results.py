"""Each chapter writes its key numbers to a JSON file that the tests read."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def save_results(path: str | Path, results: dict[str, Any]) -> Path:
    """Write `results` as sorted JSON (NumPy scalars converted; NaN becomes null)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(results), indent=2, sort_keys=True) + "\n")
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
