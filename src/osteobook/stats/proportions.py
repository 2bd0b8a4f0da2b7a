"""Confidence intervals for a binomial proportion from counts (response rates, landmark PFS)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logit
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

from ..errors import ParameterError, check_choice

# Names readers know, mapped to statsmodels' method names.
METHODS = {"exact": "beta", "wilson": "wilson", "jeffreys": "jeffreys", "wald": "normal"}
METHOD_LABELS = {"exact": "exact (Clopper–Pearson)", "wilson": "Wilson score", "jeffreys": "Jeffreys",
                 "wald": "Wald (normal approximation)", "km-loglog": "Kaplan–Meier, log–log (no censoring)"}


def proportion_ci(events, n, method: str = "exact", level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided CI for events/n by a method of `METHOD_LABELS`."""
    check_choice("ci_method", method, METHOD_LABELS)
    events, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    if np.any(events < 0) or np.any(events > n) or np.any(n <= 0):
        raise ParameterError("need 0 <= events <= n and n > 0")
    if method == "km-loglog":
        return _km_loglog(events, n, level)
    low, high = proportion_confint(events, n, alpha=1 - level, method=METHODS[method])
    return np.asarray(low), np.asarray(high)


def _km_loglog(events: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier survival with its log–log CI when nobody is censored (Greenwood = p(1-p)/n)."""
    p = events / n
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = norm.ppf(1 - (1 - level) / 2) * np.sqrt((1 - p) / (n * p)) / np.abs(np.log(p))
        low, high = p ** np.exp(spread), p ** np.exp(-spread)
    return np.where(p > 0, low, 0.0), np.where(p > 0, high, 0.0)


def with_ci(table: pd.DataFrame, method: str = "exact", level: float = 0.95) -> pd.DataFrame:
    """`table` plus `proportion`, `ci_low`, `ci_high` and `interval_source`.

    Rows with counts (`events`, `n`) get events/n and a CI computed by `method`; rows without counts keep
    the `estimate` and the `ci_low`/`ci_high` their source reports, if the table has those columns.
    """
    counted = table["events"].notna() & table["n"].notna()
    rows = table.copy()
    reported = rows.get("estimate", np.nan)
    rows["proportion"] = np.where(counted, rows["events"].astype(float) / rows["n"].astype(float), reported)
    for column in ("ci_low", "ci_high"):
        rows[column] = rows[column].astype(float) if column in rows else np.nan
    low, high = proportion_ci(rows.loc[counted, "events"].astype(int), rows.loc[counted, "n"].astype(int),
                              method, level)
    rows.loc[counted, ["ci_low", "ci_high"]] = np.column_stack([low, high])
    rows["interval_source"] = np.where(counted, f"computed: {METHOD_LABELS[method]}",
                                       np.where(rows["ci_low"].notna(), "as reported", "none reported"))
    return rows


def logit_se_from_ci(estimate, ci_low, ci_high, level=0.95) -> np.ndarray:
    """Standard error of logit(p) recovered from a reported CI: (logit(high) − logit(low)) / (2 z).

    Used for Kaplan–Meier rates, whose variance reflects censoring and is not p(1 − p)/n. Bounds at
    0 or 1 give no finite logit and return nan (the caller falls back to another representation).
    """
    low, high = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    level = np.asarray(level, dtype=float)
    usable = (low > 0) & (high < 1) & (low < high) & np.isfinite(low) & np.isfinite(high)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = (logit(high) - logit(low)) / (2 * norm.ppf(0.5 + level / 2))
    estimate = np.asarray(estimate, dtype=float)
    return np.where(usable & (estimate > 0) & (estimate < 1), se, np.nan)


def effective_count(estimate, ci_low, ci_high, level=0.95) -> tuple[np.ndarray, np.ndarray]:
    """(events, n) whose logit effect size and variance equal a reported rate's logit and its CI's SE².

    n_eff = 1 / (SE² p (1 − p)) and events = p n_eff, so 1/events + 1/(n_eff − events) = SE² and
    log(events / (n_eff − events)) = logit(p): pooling these counts on the logit scale is pooling the
    rate with its reported interval. (Not whole numbers; nan where the CI cannot be used.)
    """
    p = np.asarray(estimate, dtype=float)
    se = logit_se_from_ci(p, ci_low, ci_high, level)
    n_eff = 1 / (se**2 * p * (1 - p))
    return p * n_eff, n_eff


def reconstruct_reported(n: int, estimate: float, ci_low: float, ci_high: float, digits: int = 2,
                         methods: tuple[str, ...] = tuple(METHOD_LABELS), spread: int = 2) -> pd.DataFrame:
    """Which (events, method) pairs reproduce a reported 'estimate (ci_low-ci_high)' once rounded.

    Reported values are proportions rounded by the source to `digits` decimals (12% -> 0.12).
    Counts within `spread` of estimate x n are tried with every method.
    """
    centre = round(estimate * n)
    rows = []
    for events in range(max(0, centre - spread), min(n, centre + spread) + 1):
        for method in methods:
            low, high = (float(v) for v in proportion_ci(events, n, method))
            rows.append({"events": events, "method": METHOD_LABELS[method], "estimate": events / n,
                         "ci_low": low, "ci_high": high,
                         "estimate_matches": _rounds_to(events / n, estimate, digits),
                         "ci_matches": _rounds_to(low, ci_low, digits) and _rounds_to(high, ci_high, digits)})
    return pd.DataFrame(rows)


def _rounds_to(value: float, reported: float, digits: int) -> bool:
    """True if `value` rounded half-up to `digits` decimals equals `reported`."""
    scale = 10 ** digits
    return abs(np.floor(value * scale + 0.5 + 1e-9) - round(reported * scale)) < 1e-9
