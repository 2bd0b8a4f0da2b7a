"""Cox models with proportional-hazards checks, pre-declared splits and Kaplan–Meier estimates (lifelines).

lifelines handles tied event times with Efron's method, as R's `survival::coxph` does by default.
Its default convergence tolerance stops early (coefficients differ from R by ~1e-4); with the tighter
tolerance below they agree to ~1e-8.

The proportional-hazards check is the score test of current R `survival::cox.zph` (version 3.0 and
later; `cox_zph`): for each covariate, the score test of adding covariate × g(t) to the fitted model,
g = Kaplan–Meier-transformed time, with the full information matrix, plus a global test. lifelines'
`proportional_hazard_test` computes the older Grambsch–Therneau approximation (what `cox.zph` did before
3.0); `cox` reports it too (`ph_p_approx`), so a page can show both.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, proportional_hazard_test
from pandas.errors import Pandas4Warning
from scipy import stats

from ..errors import DataError, check_choice

CONVERGENCE = {"precision": 1e-12, "r_precision": 1e-12}
SPLITS = {"median": 0.5, "upper_tertile": 2 / 3, "upper_quartile": 0.75}
ZPH_TRANSFORMS = ("km", "identity", "rank", "log")


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
    """One Cox model; a row per covariate with coef, se, HR, 95% CI, Wald p and proportional-hazards checks.

    `ph_p` (with `ph_chisq`) is R `cox.zph(fit, transform = "km")`'s score test for the covariate and
    `ph_global_p` its global test (`cox_zph`); `ph_p_approx` is lifelines' Grambsch–Therneau approximation
    (R before survival 3.0). Covariates named in `per_sd` are standardised first (over the complete cases used).
    """
    data = survival_frame(frame, duration, event, covariates)
    for column in per_sd or []:
        data[column] = standardise(data[column])
    with _lifelines_quiet():
        fitter = CoxPHFitter().fit(data, duration_col=duration, event_col=event, fit_options=CONVERGENCE)
        summary = fitter.summary
        approx = proportional_hazard_test(fitter, data, time_transform="km").summary["p"]
    zph = cox_zph(data, duration, event, covariates, fitter.params_[covariates].to_numpy()).set_index("term")
    return pd.DataFrame({
        "term": summary.index, "coef": summary["coef"], "se": summary["se(coef)"],
        "hr": summary["exp(coef)"], "ci_low": summary["exp(coef) lower 95%"],
        "ci_high": summary["exp(coef) upper 95%"], "p": summary["p"],
        "ph_chisq": zph["chisq"].reindex(summary.index), "ph_p": zph["p"].reindex(summary.index),
        "ph_global_p": float(zph.at["GLOBAL", "p"]), "ph_p_approx": approx.reindex(summary.index),
        "n": len(data), "events": int(data[event].sum()),
    }).reset_index(drop=True)


def _time_transform(times: np.ndarray, events: np.ndarray, transform: str) -> np.ndarray:
    """g(t) before centring, as `cox.zph`: 'km' is 1 − S(t−), the left-continuous Kaplan–Meier of all data."""
    check_choice("transform", transform, ZPH_TRANSFORMS)
    if transform == "identity":
        return times.astype(float)
    if transform == "log":
        return np.log(times)
    if transform == "rank":
        return stats.rankdata(times)
    event_times = np.unique(times[events])
    at_risk = np.array([(times >= t).sum() for t in event_times])
    deaths = np.array([(events & (times == t)).sum() for t in event_times])
    survival = np.cumprod(1 - deaths / at_risk)
    before = np.searchsorted(event_times, times, side="left")  # event times strictly before each time
    return 1 - np.concatenate([[1.0], survival])[before]


def cox_zph(data: pd.DataFrame, duration: str, event: str, covariates: list[str], beta,
            transform: str = "km") -> pd.DataFrame:
    """Proportional-hazards score tests of R `survival::cox.zph` (≥ 3.0) for a fitted Cox model.

    For covariate j: the score test of adding x_j × g(t) to the model at the fitted `beta` (the added
    coefficients at 0), u' I⁻¹ u over the model's own terms and the added one, with 1 df; GLOBAL adds
    every x × g(t) (p df). Tied deaths are handled by Efron's approximation, as `coxph`'s default.
    Returns a row per covariate and a 'GLOBAL' row: chisq, df, p.
    """
    times = data[duration].to_numpy(float)
    events = data[event].to_numpy(float) == 1
    x = data[covariates].to_numpy(float)
    x = x - x.mean(axis=0)
    p = x.shape[1]
    risk = np.exp(x @ np.asarray(beta, dtype=float))
    g = _time_transform(times, events, transform)
    g = g - g[events].mean()
    u = np.zeros(2 * p)
    info = np.zeros((2 * p, 2 * p))
    for t in np.unique(times[events]):
        at_risk, dead = times >= t, events & (times == t)
        rest = at_risk & ~dead
        m, gt = int(dead.sum()), g[dead][0]
        s0_rest, s0_dead = risk[rest].sum(), risk[dead].sum()
        s1_rest, s1_dead = risk[rest] @ x[rest], risk[dead] @ x[dead]
        s2_rest = (x[rest] * risk[rest, None]).T @ x[rest]
        s2_dead = (x[dead] * risk[dead, None]).T @ x[dead]
        u[p:] += gt * x[dead].sum(axis=0)
        for k in range(1, m + 1):  # Efron: the tied deaths leave the risk set a 1/m at a time
            s0, s1, s2 = s0_rest + k / m * s0_dead, s1_rest + k / m * s1_dead, s2_rest + k / m * s2_dead
            mean = s1 / s0
            var = s2 / s0 - np.outer(mean, mean)
            u[p:] -= gt * mean
            info[:p, :p] += var
            info[:p, p:] += gt * var
            info[p:, :p] += gt * var
            info[p:, p:] += gt**2 * var
    rows = []
    for j, name in enumerate(covariates):
        keep = [*range(p), p + j]
        part = u[keep]
        chisq = float(part @ np.linalg.solve(info[np.ix_(keep, keep)], part))
        rows.append({"term": name, "chisq": chisq, "df": 1, "p": float(stats.chi2.sf(chisq, 1))})
    chisq = float(u @ np.linalg.solve(info, u))
    rows.append({"term": "GLOBAL", "chisq": chisq, "df": p, "p": float(stats.chi2.sf(chisq, p))})
    return pd.DataFrame(rows)


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

