"""The one-variable ROS model of Co et al. (2024, Nature 631:654), re-implemented from its equation.

    dx/dt = c - kd*x + kf*x^n/(x^n + K^n) - m * kg*x*Kg^ng/(x^ng + Kg^ng)

x is ROS (arbitrary units). The first three terms are production (basal, first-order loss and the
Fenton/NADPH-oxidase positive feedback); the last is glutathione-dependent clearance scaled by a
multiplier m. In the paper m = 1/(1 + S), with ferroptotic stress S = s_max*E/(e_half + E) for
erastin E (uM). The authors' code is GPL-3 and is not copied: every function here is written from
the equation; parameter values come from `data/ferroptosis_model_parameters.csv` (`datasets.model_parameters`).

Because the multiplier enters linearly, every steady state satisfies m = production(x)/clearance(x):
the steady-state curve is parametrised by x itself, and fold points are the extrema of that ratio.
CAF support is modelled (an assumption of this book, not of the paper) as a change of m:

    capacity: m = (1 + a)/(1 + S)          more GSH-dependent clearance capacity
    stress:   m = 1/(1 + (1 - a)*S)        a fraction a of the erastin stress is offset
    bypass:   m = (1 - a)/(1 + S) + a      a fraction a of clearance rests on xCT-independent cysteine
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from ..errors import ParameterError, check_choice

SCENARIOS = ("capacity", "stress", "bypass")
_GRID = 4001  # points used to bracket roots before brentq polishes them


@dataclass(frozen=True)
class RosParameters:
    """Rate constants of the single-cell model and the erastin-to-stress map."""

    c: float
    kd: float
    kf: float
    k_nox: float
    n_nox: float
    kg: float
    k_gsh: float
    n_gsh: float
    s_max: float
    e_half: float

    @classmethod
    def from_values(cls, values: dict[str, float]) -> RosParameters:
        """From `{name: value}` (e.g. `datasets.model_parameters.load`); names not in the model are an error."""
        names = [f.name for f in fields(cls)]
        missing, unknown = sorted(set(names) - set(values)), sorted(set(values) - set(names))
        if missing or unknown:
            raise ParameterError(f"model parameters: missing {missing}, unknown {unknown}; the model needs {names}")
        return cls(**{name: float(values[name]) for name in names})


def production(x: np.ndarray | float, p: RosParameters) -> np.ndarray:
    """Basal production, first-order loss and Hill-type positive feedback."""
    x = np.asarray(x, dtype=float)
    return p.c - p.kd * x + p.kf * x**p.n_nox / (x**p.n_nox + p.k_nox**p.n_nox)


def clearance(x: np.ndarray | float, p: RosParameters) -> np.ndarray:
    """GSH-dependent clearance at multiplier 1 (it saturates as ROS inactivates the GSH system)."""
    x = np.asarray(x, dtype=float)
    return p.kg * x * p.k_gsh**p.n_gsh / (x**p.n_gsh + p.k_gsh**p.n_gsh)


def _production_slope(x: np.ndarray, p: RosParameters) -> np.ndarray:
    k = p.k_nox**p.n_nox
    return -p.kd + p.kf * p.n_nox * k * x ** (p.n_nox - 1) / (x**p.n_nox + k) ** 2


def _clearance_slope(x: np.ndarray, p: RosParameters) -> np.ndarray:
    k = p.k_gsh**p.n_gsh
    return p.kg * k * (x**p.n_gsh + k - p.n_gsh * x**p.n_gsh) / (x**p.n_gsh + k) ** 2


def rate(x: np.ndarray | float, m: float, p: RosParameters) -> np.ndarray:
    """dx/dt at ROS level x and clearance multiplier m."""
    return production(x, p) - m * clearance(x, p)


def rate_slope(x: np.ndarray | float, m: float, p: RosParameters) -> np.ndarray:
    """d(dx/dt)/dx: negative at a stable steady state."""
    x = np.asarray(x, dtype=float)
    return _production_slope(x, p) - m * _clearance_slope(x, p)


def stress(erastin: np.ndarray | float, p: RosParameters) -> np.ndarray:
    """Ferroptotic stress S from erastin (uM): S = s_max*E/(e_half + E)."""
    erastin = np.asarray(erastin, dtype=float)
    if np.any(erastin < 0):
        raise ParameterError("erastin must be >= 0 uM")
    return p.s_max * erastin / (p.e_half + erastin)


def erastin_for_stress(s: np.ndarray | float, p: RosParameters) -> np.ndarray:
    """Inverse of `stress`; infinite where S >= s_max (no erastin dose reaches it)."""
    s = np.asarray(s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(s < p.s_max, p.e_half * s / (p.s_max - s), np.inf)
    return np.where(s <= 0, 0.0, e)


def check_caf(scenario: str, caf: float) -> None:
    """Raise naming the parameter if the CAF scenario or support level is not allowed."""
    check_choice("caf_scenario", scenario, SCENARIOS)
    if not 0 <= caf < 1:
        raise ParameterError(f"caf support must be in [0, 1), got {caf!r} (scenario {scenario!r})")


def multiplier(s: np.ndarray | float, caf: float = 0.0, scenario: str = "bypass") -> np.ndarray:
    """Clearance multiplier m for stress S under CAF support `caf` (0 = the paper's m = 1/(1+S))."""
    check_caf(scenario, caf)
    s = np.asarray(s, dtype=float)
    if scenario == "capacity":
        return (1 + caf) / (1 + s)
    if scenario == "stress":
        return 1 / (1 + (1 - caf) * s)
    return (1 - caf) / (1 + s) + caf


def stress_for_multiplier(m: float, caf: float = 0.0, scenario: str = "bypass") -> float:
    """Stress S at which the multiplier falls to m (inverse of `multiplier`); inf if never."""
    check_caf(scenario, caf)
    if scenario == "capacity":
        s = (1 + caf) / m - 1
    elif scenario == "stress":
        s = (1 / m - 1) / (1 - caf)
    else:
        s = (1 - caf) / (m - caf) - 1 if m > caf else math.inf
    return max(s, 0.0)


def erastin_multiplier(erastin: np.ndarray | float, p: RosParameters, caf: float = 0.0,
                       scenario: str = "bypass") -> np.ndarray:
    """Clearance multiplier at an erastin dose (uM)."""
    return multiplier(stress(erastin, p), caf, scenario)


def x_ceiling(p: RosParameters) -> float:
    """The ROS level where production reaches zero: no steady state lies above it."""
    hi = 1.0
    while production(hi, p) > 0:
        hi *= 2
    return brentq(lambda x: float(production(x, p)), 1e-9, hi, xtol=1e-14)


def _roots(f, lo: float, hi: float) -> np.ndarray:
    """All sign changes of f on a fine grid in (lo, hi], polished with brentq."""
    grid = np.linspace(lo, hi, _GRID)
    values = f(grid)
    roots = [brentq(f, a, b, xtol=1e-14) for a, b, fa, fb in zip(grid[:-1], grid[1:], values[:-1], values[1:], strict=False)
             if fa == 0 or fa * fb < 0]
    return np.unique(np.round(roots, 12))


def steady_states(m: float, p: RosParameters) -> np.ndarray:
    """Steady-state ROS levels at multiplier m, ascending."""
    return _roots(lambda x: rate(x, m, p), 1e-9, x_ceiling(p))


@dataclass(frozen=True)
class Fold:
    """A saddle-node point: dx/dt = 0 and d(dx/dt)/dx = 0 at ROS x and multiplier m."""

    x: float
    m: float


def fold_points(p: RosParameters) -> tuple[Fold, Fold]:
    """The two folds, as (collapse, onset): collapse ends the low-ROS branch, onset starts the high one.

    They are the extrema of m(x) = production/clearance along the steady-state curve, i.e. the
    roots of production'*clearance - production*clearance' (root-finding, not a grid read-off).
    """
    def ratio_slope(x):
        return _production_slope(x, p) * clearance(x, p) - production(x, p) * _clearance_slope(x, p)

    xs = _roots(ratio_slope, 1e-6, x_ceiling(p) - 1e-9)
    if len(xs) != 2:
        raise ParameterError(f"expected two fold points for a bistable parameter set, found {len(xs)}: {xs}")
    folds = [Fold(float(x), float(production(x, p) / clearance(x, p))) for x in xs]
    return folds[0], folds[1]


def branch(p: RosParameters, points: int = 1500) -> pd.DataFrame:
    """The steady-state curve parametrised by ROS: columns x, m and stable (m decreasing in x)."""
    x = np.linspace(1e-4, x_ceiling(p) - 1e-6, points)
    m = production(x, p) / clearance(x, p)
    stable = rate_slope(x, m, p) < 0
    return pd.DataFrame({"x": x, "m": m, "stable": stable})


def diagram(p: RosParameters, caf: float = 0.0, scenario: str = "bypass", points: int = 1500) -> pd.DataFrame:
    """Steady states against erastin: the branch with its stress and erastin dose (inf if unreachable)."""
    curve = branch(p, points)
    s = np.array([stress_for_multiplier(m, caf, scenario) if m > 0 else np.inf for m in curve["m"]])
    m_at_zero = float(multiplier(0.0, caf, scenario))
    keep = curve["m"] <= m_at_zero  # points needing negative stress are not reachable
    curve = curve.assign(stress=s, erastin=erastin_for_stress(s, p))[keep]
    return curve[np.isfinite(curve["erastin"])].reset_index(drop=True)


def thresholds(p: RosParameters, caf: float = 0.0, scenario: str = "bypass") -> dict[str, float | bool]:
    """Erastin doses that open bistability (onset) and remove the low-ROS state (collapse).

    Also the fraction of the maximal erastin effect, theta = S/s_max, read as the fraction of
    cystine uptake that must be blocked (an assumption), and theta/(1 - theta): the inhibitor
    concentration needed in multiples of its own half-maximal concentration.
    """
    collapse, onset = fold_points(p)
    out: dict[str, float | bool] = {}
    for name, fold in (("onset", onset), ("collapse", collapse)):
        s = stress_for_multiplier(fold.m, caf, scenario)
        theta = s / p.s_max
        out[f"stress_{name}"] = s
        out[f"erastin_{name}"] = float(erastin_for_stress(s, p))
        out[f"inhibition_{name}"] = theta
        out[f"ic50_multiple_{name}"] = theta / (1 - theta) if theta < 1 else math.inf
        out[f"reachable_{name}"] = bool(theta < 1)
    return out


def critical_caf(p: RosParameters, scenario: str = "bypass", fold: str = "collapse") -> float:
    """The CAF support above which no erastin dose reaches a fold ('collapse' or 'onset'); nan if none below 1."""
    check_choice("fold", fold, ("collapse", "onset"))
    m = dict(zip(("collapse", "onset"), fold_points(p), strict=False))[fold].m

    def excess(caf: float) -> float:
        return min(stress_for_multiplier(m, caf, scenario), 1e6) - p.s_max

    if excess(0.0) >= 0:
        return 0.0
    top = 1 - 1e-9
    return brentq(excess, 0.0, top, xtol=1e-12) if excess(top) > 0 else math.nan


def simulate(x0: float, erastin: float, p: RosParameters, caf: float = 0.0, scenario: str = "bypass",
             t_end: float = 2000.0, points: int = 400):
    """Integrate the ODE from x0 at a fixed erastin dose (scipy solve_ivp, LSODA)."""
    m = float(erastin_multiplier(erastin, p, caf, scenario))
    return solve_ivp(lambda t, x: rate(x, m, p), (0.0, t_end), [x0], method="LSODA", rtol=1e-9, atol=1e-12,
                     t_eval=np.linspace(0.0, t_end, points))


def hysteresis_sweep(erastin: np.ndarray, p: RosParameters, x_start: float, caf: float = 0.0,
                     scenario: str = "bypass", t_end: float = 2000.0) -> np.ndarray:
    """Quasi-static sweep: relax at each dose in order, starting each run where the last one ended."""
    x, final = x_start, []
    for dose in erastin:
        x = float(simulate(x, float(dose), p, caf, scenario, t_end, points=2).y[0, -1])
        final.append(x)
    return np.array(final)


def regions(erastin: np.ndarray, caf: np.ndarray, p: RosParameters, scenario: str = "bypass") -> np.ndarray:
    """Number of steady states on an erastin x CAF-support grid (rows: caf, columns: erastin).

    Counted by root-finding at every grid point: an independent check of the closed-form
    thresholds, which use the fold multipliers only.
    """
    return np.array([[len(steady_states(float(erastin_multiplier(e, p, a, scenario)), p)) for e in erastin]
                     for a in caf])


# --- Parameter sensitivity: fold multipliers and critical bypass for many parameter sets at once ---------------

def _batch(values: dict[str, np.ndarray], base: RosParameters) -> RosParameters:
    """A RosParameters whose fields are column vectors (n, 1): `values` overrides `base` draw by draw."""
    n = len(next(iter(values.values()))) if values else 1
    return RosParameters(**{f.name: np.asarray(values.get(f.name, np.full(n, getattr(base, f.name))),
                                               dtype=float).reshape(-1, 1) for f in fields(RosParameters)})


def _bisect(f, lo: np.ndarray, hi: np.ndarray, iterations: int = 80) -> np.ndarray:
    """Vectorised bisection of f on brackets [lo, hi] where f changes sign (one root per row)."""
    f_lo = f(lo)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        f_mid = f(mid)
        same = np.sign(f_mid) == np.sign(f_lo)
        lo, f_lo, hi = np.where(same, mid, lo), np.where(same, f_mid, f_lo), np.where(same, hi, mid)
    return (lo + hi) / 2


def batch_folds(values: dict[str, np.ndarray], base: RosParameters, points: int = 2001) -> pd.DataFrame:
    """Fold multipliers for many parameter sets at once (vectorised `fold_points`).

    `values` maps parameter names to arrays of equal length (the other parameters stay at `base`). Returns one
    row per set: m_collapse, m_onset (nan when the set does not have exactly two folds, i.e. is not bistable),
    the floor m_floor = 1/(1 + s_max) that the maximal erastin dose reaches, and `bistable`.
    """
    p = _batch(values, base)
    # The largest root of production(x): production < c + kf - kd x, so it lies below (c + kf)/kd.
    top = (p.c + p.kf) / p.kd
    u = np.linspace(0.0, 1.0, points)[None, :]
    grid = 1e-9 + u * top
    prod = production(grid, p)
    last = points - 2 - np.argmax((prod[:, :-1] * prod[:, 1:] <= 0)[:, ::-1], axis=1)
    rows = np.arange(grid.shape[0])
    ceiling = _bisect(lambda x: production(x, p), grid[rows, last][:, None], grid[rows, last + 1][:, None])

    def ratio_slope(x):
        return _production_slope(x, p) * clearance(x, p) - production(x, p) * _clearance_slope(x, p)

    xs = 1e-6 + u * (ceiling - 1e-9 - 1e-6)
    slope = ratio_slope(xs)
    change = slope[:, :-1] * slope[:, 1:] < 0
    count = change.sum(axis=1)
    first = np.argmax(change, axis=1)
    later = np.where(np.arange(points - 1)[None, :] > first[:, None], change, False)
    second = np.where(count >= 2, np.argmax(later, axis=1), first)
    folds = [_bisect(ratio_slope, xs[rows, k][:, None], xs[rows, k + 1][:, None]) for k in (first, second)]
    m = [(production(x, p) / clearance(x, p)).ravel() for x in folds]
    bistable = count == 2
    return pd.DataFrame({"x_collapse": np.where(bistable, folds[0].ravel(), np.nan),
                         "x_onset": np.where(bistable, folds[1].ravel(), np.nan),
                         "m_collapse": np.where(bistable, m[0], np.nan), "m_onset": np.where(bistable, m[1], np.nan),
                         "m_floor": 1 / (1 + p.s_max.ravel()), "bistable": bistable})


def bypass_for_multiplier(m: np.ndarray, s_max: np.ndarray) -> np.ndarray:
    """Bypass support a above which no erastin dose brings the multiplier down to m: solve (1-a)/(1+s_max)+a = m.

    0 where even a = 0 cannot reach m (m below the floor 1/(1 + s_max)); nan where m is nan.
    """
    m, s_max = np.asarray(m, dtype=float), np.asarray(s_max, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(m), np.nan, np.clip(((1 + s_max) * m - 1) / s_max, 0.0, 1.0))


def batch_critical_bypass(values: dict[str, np.ndarray], base: RosParameters) -> pd.DataFrame:
    """`batch_folds` plus the critical bypass support for collapse (ferroptosis) and onset (priming)."""
    folds = batch_folds(values, base)
    s_max = 1 / folds["m_floor"] - 1
    return folds.assign(crit_collapse=bypass_for_multiplier(folds["m_collapse"], s_max),
                        crit_onset=bypass_for_multiplier(folds["m_onset"], s_max))


def one_at_a_time(base: RosParameters, ranges: pd.DataFrame, points: int = 25) -> pd.DataFrame:
    """Critical bypass along a sweep of each parameter from `low` to `high` (columns of `ranges`), the others at base.

    One row per (parameter, value): parameter, value, and the `batch_critical_bypass` columns.
    """
    frames = []
    for row in ranges.itertuples():
        values = np.linspace(row.low, row.high, points)
        frames.append(batch_critical_bypass({row.parameter: values}, base).assign(parameter=row.parameter,
                                                                                  value=values))
    return pd.concat(frames, ignore_index=True)


def latin_hypercube(base: RosParameters, ranges: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """`n` parameter sets drawn uniformly within `ranges` by a Latin hypercube (scipy `qmc.LatinHypercube(seed)`),
    with their critical bypass (`batch_critical_bypass`): one row per draw, the drawn values as columns."""
    from scipy.stats import qmc

    if n < 2:
        raise ParameterError(f"the Latin hypercube needs at least 2 draws, got {n}")
    unit = qmc.LatinHypercube(d=len(ranges), seed=seed).random(n)
    draws = qmc.scale(unit, ranges["low"].to_numpy(float), ranges["high"].to_numpy(float))
    values = dict(zip(ranges["parameter"], draws.T, strict=True))
    return pd.concat([pd.DataFrame(values), batch_critical_bypass(values, base)], axis=1)
