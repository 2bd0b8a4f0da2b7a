"""Confidence intervals for a binomial proportion from counts (response rates, landmark PFS)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

# Names readers know, mapped to statsmodels' method names.
METHODS = {"exact": "beta", "wilson": "wilson"}
METHOD_LABELS = {"exact": "exact (Clopper–Pearson)", "wilson": "Wilson score"}


def proportion_ci(events, n, method: str = "exact", level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided CI for events/n; `method` is 'exact' (Clopper–Pearson) or 'wilson'."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    events, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    if np.any(events < 0) or np.any(events > n) or np.any(n <= 0):
        raise ValueError("need 0 <= events <= n and n > 0")
    low, high = proportion_confint(events, n, alpha=1 - level, method=METHODS[method])
    return np.asarray(low), np.asarray(high)


def with_ci(table: pd.DataFrame, events: str = "events", n: str = "n", method: str = "exact",
            level: float = 0.95) -> pd.DataFrame:
    """`table` plus columns `proportion`, `ci_low`, `ci_high` computed from its counts."""
    low, high = proportion_ci(table[events], table[n], method, level)
    return table.assign(proportion=table[events] / table[n], ci_low=low, ci_high=high)
