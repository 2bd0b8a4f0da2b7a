"""Cox models with proportional-hazards checks, pre-declared splits and Kaplan–Meier estimates (lifelines).

lifelines handles tied event times with Efron's method, as R's `survival::coxph` does by default.
Its default convergence tolerance stops early (coefficients differ from R by ~1e-4); with the tighter
tolerance below they agree to ~1e-8.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, proportional_hazard_test
from pandas.errors import Pandas4Warning

from ..errors import DataError, check_choice

CONVERGENCE = {"precision": 1e-12, "r_precision": 1e-12}
SPLITS = {"median": 0.5, "upper_tertile": 2 / 3, "upper_quartile": 0.75}


@contextmanager
def _lifelines_quiet():
    """lifelines 0.30 calls pandas with positional arguments that pandas 4 deprecates: hide only that."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=Pandas4Warning, module="lifelines")
        yield


def survival_frame(frame: pd.DataFrame, duration: str, event: str, covariates: list[str]) -> pd.DataFrame:
    """Complete cases of `duration`, `event` and `covariates`, checked (times > 0, events 0/1)."""
    missing = [c for c in [duration, event, *covariates] if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; available: {list(frame.columns)}")
    data = frame[[duration, event, *covariates]].dropna().astype(float)
    if (data[duration] <= 0).any():
        bad = data.loc[data[duration] <= 0, duration].tolist()
        raise DataError(f"column {duration!r} must be > 0; found {bad}")
    if not set(data[event].unique()) <= {0.0, 1.0}:
        found = sorted(data[event].unique())
        raise DataError(f"column {event!r} must hold 0 (censored) or 1 (event); found {found}")
    if data[event].sum() == 0:
        raise DataError(f"column {event!r} has no events: a Cox model cannot be fitted")
    return data


def standardise(values: pd.Series) -> pd.Series:
    """(x - mean) / SD (SD with n - 1), so a hazard ratio is per standard deviation."""
    sd = values.std()
    if not sd > 0:
        raise DataError(f"{values.name!r} is constant: it cannot be standardised")
    return (values - values.mean()) / sd


def cox(frame: pd.DataFrame, duration: str, event: str, covariates: list[str],
        per_sd: list[str] | None = None) -> pd.DataFrame:
    """One Cox model; a row per covariate with coef, se, HR, 95% CI, Wald p and a Schoenfeld PH p.

    Covariates named in `per_sd` are standardised first (over the complete cases used).
    """
    data = survival_frame(frame, duration, event, covariates)
    for column in per_sd or []:
        data[column] = standardise(data[column])
    with _lifelines_quiet():
        fitter = CoxPHFitter().fit(data, duration_col=duration, event_col=event, fit_options=CONVERGENCE)
        summary = fitter.summary
        ph = proportional_hazard_test(fitter, data, time_transform="km").summary["p"]
    return pd.DataFrame({
        "term": summary.index, "coef": summary["coef"], "se": summary["se(coef)"],
        "hr": summary["exp(coef)"], "ci_low": summary["exp(coef) lower 95%"],
        "ci_high": summary["exp(coef) upper 95%"], "p": summary["p"], "ph_p": ph.reindex(summary.index),
        "n": len(data), "events": int(data[event].sum()),
    }).reset_index(drop=True)


def univariable_cox(frame: pd.DataFrame, duration: str, event: str, covariates: list[str]) -> pd.DataFrame:
    """One Cox model per covariate, each per standard deviation."""
    return pd.concat([cox(frame, duration, event, [c], per_sd=[c]) for c in covariates], ignore_index=True)


def split_high_low(values: pd.Series, rule: str) -> pd.Series:
    """'high' above the rule's quantile ('median', 'upper_tertile', 'upper_quartile'), else 'low'."""
    check_choice("split rule", rule, SPLITS)
    cut = values.quantile(SPLITS[rule])
    return pd.Series(np.where(values > cut, "high", "low"), index=values.index, name=f"{values.name} ({rule})")


def logrank(frame: pd.DataFrame, duration: str, event: str, group: str) -> dict[str, float]:
    """Log-rank test between the 'high' and 'low' groups, with group sizes and events."""
    high, low = frame[frame[group] == "high"], frame[frame[group] == "low"]
    if high.empty or low.empty:
        raise DataError(f"column {group!r} needs both 'high' and 'low' rows")
    with _lifelines_quiet():
        test = logrank_test(high[duration], low[duration], high[event], low[event])
    return {"p": float(test.p_value), "chi2": float(test.test_statistic), "n_high": len(high), "n_low": len(low),
            "events_high": int(high[event].sum()), "events_low": int(low[event].sum())}


def kaplan_meier(frame: pd.DataFrame, duration: str, event: str, group: str,
                 scale: float = 1.0) -> dict[str, KaplanMeierFitter]:
    """Fitted Kaplan–Meier estimates for the 'low' and 'high' groups; times divided by `scale` (365.25: years)."""
    fits = {}
    for name in ["low", "high"]:
        rows = frame[frame[group] == name]
        fitter = KaplanMeierFitter(label=f"{name} (n = {len(rows)}, events = {int(rows[event].sum())})")
        with _lifelines_quiet():
            fits[name] = fitter.fit(rows[duration] / scale, rows[event])
    return fits

