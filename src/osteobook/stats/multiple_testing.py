"""Multiple-testing control: one function for every chapter (Benjamini–Hochberg or Holm)."""
from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

from ..errors import check_choice

METHODS = {"BH": "fdr_bh", "Holm": "holm"}


def adjust(p_values, method: str = "BH") -> np.ndarray:
    """Adjusted p-values (BH q-values or Holm); NaN stays NaN and is not counted as a test."""
    check_choice("multiple-testing method", method, METHODS)
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        adjusted[tested] = multipletests(p[tested], method=METHODS[method])[1]
    return adjusted
