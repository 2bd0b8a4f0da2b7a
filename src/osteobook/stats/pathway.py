"""Pathway scores beyond the mean z-score, and models that adjust them for a second score.

- `rank_score`: a within-sample rank score (in the spirit of singscore): the mean rank of the set's
  genes among all genes of the sample, scaled to 0 (all at the bottom) .. 1 (all at the top). It needs
  no other samples, so it does not depend on who else is in the cohort, but it does depend on which
  genes the matrix holds.
- `signed_score`: activators' score minus inhibitors' score, for sets whose genes push both ways.
- `logistic_per_sd_adjusted`: logistic regression with several covariates, each per standard deviation.
- `residualise`: what is left of a score after a linear fit on another (a score "beyond proliferation").
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..errors import DataError, ParameterError, check_choice
from .scores import gene_set_score

SCORE_METHODS = ("mean_z", "rank")


def present(expression: pd.DataFrame, genes: list[str]) -> list[str]:
    """The set's genes found in the matrix, in set order, without repeats."""
    return [g for g in dict.fromkeys(genes) if g in expression.index]


def rank_score(expression: pd.DataFrame, genes: list[str]) -> pd.Series:
    """Mean within-sample rank of the set's genes, scaled so that 0 = the lowest and 1 = the highest possible.

    Ranks run 1..N over all N genes of each sample (ties share their mean rank); with k set genes the
    mean rank lies between (k + 1)/2 and N - (k - 1)/2.
    """
    found = present(expression, genes)
    if not found:
        raise DataError(f"none of the genes {sorted(genes)[:10]} is in the expression table")
    n, k = expression.shape[0], len(found)
    ranks = expression.rank(axis=0, method="average")
    low, high = (k + 1) / 2, n - (k - 1) / 2
    return ((ranks.loc[found].mean() - low) / (high - low)).rename(f"rank score of {k} genes")


def score(expression: pd.DataFrame, genes: list[str], method: str) -> pd.Series:
    """`mean_z` (mean of the genes' z-scores across samples, `stats.scores`) or `rank` (`rank_score`)."""
    check_choice("score_method", method, SCORE_METHODS)
    return gene_set_score(expression, genes, "mean_z") if method == "mean_z" else rank_score(expression, genes)


def signed_score(expression: pd.DataFrame, up: list[str], down: list[str], method: str) -> pd.Series:
    """Score of the activators minus score of the inhibitors (both must have a gene in the matrix)."""
    for name, genes in (("activators", up), ("inhibitors", down)):
        if not present(expression, genes):
            raise DataError(f"none of the {name} {genes} is in the expression table: no signed score")
    return (score(expression, up, method) - score(expression, down, method)).rename("signed score")


def logistic_per_sd_adjusted(frame: pd.DataFrame, outcome: str, covariates: list[str],
                             level: float = 0.95) -> pd.DataFrame:
    """Logistic regression of a 0/1 `outcome` on `covariates`, each standardised (SD with n - 1).

    One row per covariate: odds ratio per SD, Wald CI and p, with n and events of the complete cases.
    """
    data = frame[[outcome, *covariates]].dropna().astype(float)
    if not set(data[outcome].unique()) <= {0.0, 1.0}:
        raise ParameterError(f"outcome {outcome!r} must be 0/1, found {sorted(data[outcome].unique())}")
    z = (data[covariates] - data[covariates].mean()) / data[covariates].std()
    fit = sm.Logit(data[outcome], sm.add_constant(z)).fit(disp=False)
    ci = np.exp(fit.conf_int(alpha=1 - level))
    return pd.DataFrame({"term": covariates, "coef": fit.params[covariates].to_numpy(),
                         "se": fit.bse[covariates].to_numpy(), "odds_ratio": np.exp(fit.params[covariates]).to_numpy(),
                         "ci_low": ci.loc[covariates, 0].to_numpy(), "ci_high": ci.loc[covariates, 1].to_numpy(),
                         "p": fit.pvalues[covariates].to_numpy(), "n": len(data), "events": int(data[outcome].sum())})


def residualise(y: pd.Series, x: pd.Series) -> pd.Series:
    """Residuals of the least-squares line of `y` on `x` (same index; complete pairs only)."""
    data = pd.DataFrame({"y": y, "x": x}).dropna()
    slope, intercept = np.polyfit(data["x"], data["y"], 1)
    return (data["y"] - (intercept + slope * data["x"])).rename(f"{y.name} beyond {x.name}")
