"""Effect sizes with confidence intervals for associations between a score and another variable."""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


def _paired(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.shape} vs {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 4:
        raise ValueError(f"need at least 4 complete pairs, got {int(keep.sum())}")
    return x[keep], y[keep]


def spearman_ci(x, y, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95) -> dict[str, float]:
    """Spearman's rho, its p-value and a percentile bootstrap CI (pairs resampled with `rng`)."""
    x, y = _paired(x, y)
    rho, p = stats.spearmanr(x, y)
    rows = rng.integers(0, len(x), size=(n_boot, len(x)))
    rx, ry = stats.rankdata(x[rows], axis=1), stats.rankdata(y[rows], axis=1)
    rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (rx * ry).sum(axis=1) / np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
    low, high = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {"rho": float(rho), "p": float(p), "ci_low": float(low), "ci_high": float(high), "n": len(x)}


def compare_groups(values: pd.Series, groups: pd.Series, high: str, low: str, level: float = 0.95) -> dict[str, float]:
    """Difference in means (`high` minus `low`, Welch CI), Mann–Whitney p and AUC = P(high > low)."""
    allowed = {high, low}
    unknown = sorted(set(groups.dropna()) - allowed, key=str)
    if unknown:
        raise ValueError(f"groups has value(s) {unknown}; expected only {sorted(allowed, key=str)}")
    a, b = values[groups == high].dropna().to_numpy(float), values[groups == low].dropna().to_numpy(float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 values per group, got {high}: {len(a)}, {low}: {len(b)}")
    welch = stats.ttest_ind(a, b, equal_var=False)
    ci = welch.confidence_interval(level)
    u = stats.mannwhitneyu(a, b, alternative="two-sided")
    return {"n_high": len(a), "n_low": len(b), "mean_high": a.mean(), "mean_low": b.mean(),
            "difference": a.mean() - b.mean(), "ci_low": ci.low, "ci_high": ci.high,
            "p_welch": welch.pvalue, "p_mannwhitney": u.pvalue, "auc": u.statistic / (len(a) * len(b))}


def logistic_per_sd(x: pd.Series, outcome: pd.Series, level: float = 0.95) -> dict[str, float]:
    """Odds ratio of a binary outcome per standard deviation of `x`, with a Wald CI (logistic regression)."""
    frame = pd.DataFrame({"x": x, "y": outcome}).dropna()
    if not set(frame["y"].astype(int)) <= {0, 1}:
        raise ValueError(f"outcome must be 0/1 (or boolean), got values {sorted(set(frame['y']))}")
    z = (frame["x"] - frame["x"].mean()) / frame["x"].std()
    fit = sm.Logit(frame["y"].astype(int), sm.add_constant(z.rename("x_per_sd"))).fit(disp=False)
    low, high = np.exp(fit.conf_int(alpha=1 - level).loc["x_per_sd"])
    return {"odds_ratio": float(np.exp(fit.params["x_per_sd"])), "ci_low": float(low), "ci_high": float(high),
            "p": float(fit.pvalues["x_per_sd"]), "n": len(frame), "events": int(frame["y"].astype(int).sum())}
