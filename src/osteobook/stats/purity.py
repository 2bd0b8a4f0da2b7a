"""Purity-adjusted associations: partial Spearman correlation given a purity (or non-tumour content) score.

Bulk expression measures a mixture, so two cell types' transcripts can correlate only because tumours differ
in how much non-tumour tissue they contain. The partial Spearman correlation removes a covariate's linear
effect from the ranks of both variables and correlates the residuals; its CI uses Fisher's z with n - 3 - k
degrees of freedom and its p-value Student's t with n - 2 - k (k covariates).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError


def _residual_ranks(values: pd.Series, covariates: pd.DataFrame) -> np.ndarray:
    design = np.column_stack([np.ones(len(values)), covariates.rank().to_numpy()])
    ranks = values.rank().to_numpy()
    coef, *_ = np.linalg.lstsq(design, ranks, rcond=None)
    return ranks - design @ coef


def partial_spearman(x: pd.Series, y: pd.Series, covariates: pd.DataFrame | pd.Series,
                     level: float = 0.95) -> dict[str, float]:
    """Spearman correlation of x and y given the covariates: rho, Fisher-z CI, t-test p, n and k."""
    covariates = covariates.to_frame() if isinstance(covariates, pd.Series) else covariates
    frame = pd.concat([x.rename("x"), y.rename("y"), covariates.add_prefix("z_")], axis=1).dropna()
    n, k = len(frame), covariates.shape[1]
    if n - k <= 4:
        raise ParameterError(f"need more than k + 4 complete observations, got n = {n} with k = {k}")
    z = frame.filter(like="z_")
    rx, ry = _residual_ranks(frame["x"], z), _residual_ranks(frame["y"], z)
    rho = float(np.corrcoef(rx, ry)[0, 1])
    half = stats.norm.ppf(1 - (1 - level) / 2) / np.sqrt(n - 3 - k)
    t = rho * np.sqrt((n - 2 - k) / (1 - rho**2))
    return {"rho": rho, "ci_low": float(np.tanh(np.arctanh(rho) - half)),
            "ci_high": float(np.tanh(np.arctanh(rho) + half)),
            "p": float(2 * stats.t.sf(abs(t), n - 2 - k)), "n": n, "k": k}
