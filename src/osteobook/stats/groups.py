"""Two-group comparisons and associations of a score with another variable, with effect sizes and CIs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..errors import ParameterError


def _paired(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ParameterError(f"x and y differ in length: {x.shape} vs {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 4:
        raise ParameterError(f"need at least 4 complete pairs, got {int(keep.sum())}")
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
        raise ParameterError(f"groups has value(s) {unknown}; expected only {sorted(allowed, key=str)}")
    a, b = values[groups == high].dropna().to_numpy(float), values[groups == low].dropna().to_numpy(float)
    if len(a) < 2 or len(b) < 2:
        raise ParameterError(f"need at least 2 values per group, got {high}: {len(a)}, {low}: {len(b)}")
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
        raise ParameterError(f"outcome must be 0/1 (or boolean), got values {sorted(set(frame['y']))}")
    z = (frame["x"] - frame["x"].mean()) / frame["x"].std()
    fit = sm.Logit(frame["y"].astype(int), sm.add_constant(z.rename("x_per_sd"))).fit(disp=False)
    low, high = np.exp(fit.conf_int(alpha=1 - level).loc["x_per_sd"])
    return {"odds_ratio": float(np.exp(fit.params["x_per_sd"])), "ci_low": float(low), "ci_high": float(high),
            "p": float(fit.pvalues["x_per_sd"]), "n": len(frame), "events": int(frame["y"].astype(int).sum())}


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a - b) with the small-sample correction J = 1 - 3/(4(n1+n2) - 9)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n1, n2 = len(a), len(b)
    pooled = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (n1 + n2) - 9)))


def permutation_test(values: pd.Series, groups: pd.Series, first: str, second: str, n_permutations: int,
                     seed: int) -> dict[str, float]:
    """Two-sided permutation test of mean(first) - mean(second), with Hedges' g, its 95% CI and group sizes.

    Labels are shuffled `n_permutations` times with `np.random.default_rng(seed)`; p is the share of
    shuffles with |difference| at least the observed one, counting the observed split (never 0).
    The CI of g uses the large-sample variance (n1 + n2)/(n1 n2) + g^2/(2 (n1 + n2)) (Hedges & Olkin).
    """
    unknown = sorted(set(groups.dropna()) - {first, second})
    if unknown:
        raise ParameterError(f"groups hold value(s) {unknown}; expected only {first!r} and {second!r}")
    a = values[groups == first].dropna().to_numpy(float)
    b = values[groups == second].dropna().to_numpy(float)
    if len(a) < 2 or len(b) < 2:
        raise ParameterError(f"need at least 2 samples per group, got {first}: {len(a)}, {second}: {len(b)}")
    observed = a.mean() - b.mean()
    pooled, rng, extreme = np.concatenate([a, b]), np.random.default_rng(seed), 0
    for start in range(0, n_permutations, 50_000):
        shuffled = rng.permuted(np.tile(pooled, (min(50_000, n_permutations - start), 1)), axis=1)
        diffs = shuffled[:, :len(a)].mean(axis=1) - shuffled[:, len(a):].mean(axis=1)
        extreme += int(np.sum(np.abs(diffs) >= abs(observed) - 1e-12))
    g = hedges_g(a, b)
    se = np.sqrt((len(a) + len(b)) / (len(a) * len(b)) + g**2 / (2 * (len(a) + len(b))))
    return {"n_first": len(a), "n_second": len(b), "difference": float(observed), "hedges_g": g,
            "g_ci_low": float(g - 1.959964 * se), "g_ci_high": float(g + 1.959964 * se),
            "p": (1 + extreme) / (1 + n_permutations)}
