"""Random-effects meta-analysis of single-arm proportions and of log hazard ratios.

The conventions follow R's metafor (Viechtbauer 2010) so every number can be checked against it:
`escalc` effect sizes (logit with 1/2 added to studies with 0 or n events; Freeman–Tukey double
arcsine), `rma` estimators of tau² (DerSimonian–Laird, REML), Hartung–Knapp confidence intervals,
I² from the "typical" within-study variance, prediction intervals, and `rma.glmm(measure="PLO")`'s
binomial-normal model fitted by maximum likelihood with adaptive Gauss–Hermite quadrature.

Prediction intervals follow Riley et al. (2011) by default: a *t* quantile with k − 2 degrees of freedom
(metafor's `predict(fit, pi.type = "riley")`). metafor's own default (`pi_type="metafor"`) uses the normal
quantile, or *t* with k − 1 df under Hartung–Knapp, so that the interval equals the CI when tau² = 0.
Hartung–Knapp is not applied to fewer than `KNHA_MIN_K` studies: with two studies the rescaling factor
rests on one degree of freedom and can shrink the standard error several-fold; the fit falls back to
the normal interval and says so (`knha_fallback`, and a `HartungKnappFallback` warning).
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize, special, stats

from ..errors import ParameterError, check_choice

MEASURES = {"logit": "PLO", "freeman-tukey": "PFT"}
TAU2_METHODS = ("REML", "DL")
# name -> how the prediction interval's critical value is chosen
PI_TYPES = {"riley": "Riley et al. 2011: t with k − 2 degrees of freedom",
            "metafor": "metafor's default: normal quantile (t with k − 1 df under Hartung–Knapp)"}
KNHA_MIN_K = 3  # Hartung–Knapp needs at least this many studies; fewer fall back to the normal interval


class HartungKnappFallback(UserWarning):
    """Hartung–Knapp was asked for with fewer than `KNHA_MIN_K` studies; the normal interval was used."""


@dataclass(frozen=True)
class Pooled:
    """A pooled estimate on the analysis scale (logit, double arcsine or log HR) with heterogeneity."""

    k: int
    method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float  # percent, as metafor reports it
    q: float
    q_p: float
    test: str  # "z" or "knha" (Hartung–Knapp, t with k-1 df)
    pi_type: str = "riley"  # how the prediction interval was computed (`PI_TYPES`)
    pi_df: float = float("nan")  # degrees of freedom of its t quantile (nan: normal quantile)
    knha_fallback: bool = False  # Hartung–Knapp was asked for but k < KNHA_MIN_K: normal interval used

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def effect_sizes(events, n, transform: str = "logit") -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and sampling variances as metafor's `escalc(measure="PLO"|"PFT")`."""
    x, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    if np.any(x < 0) or np.any(x > n) or np.any(n <= 0):
        raise ParameterError("need 0 <= events <= n and n > 0")
    check_choice("transform", transform, MEASURES)
    if transform == "logit":
        zero_cell = (x == 0) | (x == n)
        x, n = x + 0.5 * zero_cell, n + 1.0 * zero_cell
        return np.log(x / (n - x)), 1 / x + 1 / (n - x)
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))), 1 / (4 * n + 2)


def to_proportion(value, transform: str, n=None) -> np.ndarray:
    """Back-transform to a proportion: inverse logit, or the inverse double arcsine at the harmonic-mean n (Miller 1978)."""
    value = np.asarray(value, dtype=float)
    check_choice("transform", transform, MEASURES)
    if transform == "logit":
        return special.expit(value)
    n_hm = 1 / np.mean(1 / np.asarray(n, dtype=float))
    s = np.sin(2 * value)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 0.5 * (1 - np.sign(np.cos(2 * value)) * np.sqrt(1 - (s + (s - 1 / s) / n_hm) ** 2))
    lowest, highest = effect_sizes(np.array([0.0, n_hm]), np.array([n_hm, n_hm]), "freeman-tukey")[0]
    return np.where(value > highest, 1.0, np.where(value < lowest, 0.0, p))


def cochran_q(yi: np.ndarray, vi: np.ndarray) -> tuple[float, float]:
    """Cochran's Q around the common-effect mean and its chi-squared p-value (k-1 df)."""
    w = 1 / vi
    q = float(np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2))
    return q, float(stats.chi2.sf(q, len(yi) - 1)) if len(yi) > 1 else float("nan")


def tau2_dl(yi: np.ndarray, vi: np.ndarray) -> float:
    """DerSimonian–Laird moment estimator of tau², truncated at zero (0 for a single study)."""
    if len(yi) < 2:
        return 0.0
    w = 1 / vi
    q, _ = cochran_q(yi, vi)
    return max(0.0, (q - (len(yi) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))


def tau2_reml(yi: np.ndarray, vi: np.ndarray) -> float:
    """Restricted maximum-likelihood tau² (the root of the REML score, or 0 if the score is negative there)."""
    def score(tau2: float) -> float:
        w = 1 / (vi + tau2)
        mu = np.sum(w * yi) / np.sum(w)
        return float(-np.sum(w) + np.sum(w**2) / np.sum(w) + np.sum(w**2 * (yi - mu) ** 2))

    if len(yi) < 2 or score(0.0) <= 0:
        return 0.0
    upper = max(1.0, 10 * np.var(yi))
    while score(upper) > 0:
        upper *= 10
    return float(optimize.brentq(score, 0.0, upper, xtol=1e-14, rtol=1e-14))


def typical_variance(vi: np.ndarray) -> float:
    """Higgins & Thompson's 'typical' within-study variance, the denominator of I²."""
    w = 1 / vi
    return (len(vi) - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))


def prediction_critical(k: int, test_df: float | None, pi_type: str = "riley",
                        level: float = 0.95) -> tuple[float, float]:
    """Critical value and its t degrees of freedom (nan: normal) for a random-effects prediction interval.

    'riley': t with k − 2 df (at least 1, as metafor's `pi.type = "riley"`); 'metafor': the CI's own
    quantile (`test_df` None: normal; else t with `test_df` df).
    """
    check_choice("pi_type", pi_type, PI_TYPES)
    if pi_type == "riley":
        df = float(max(k - 2, 1))
        return float(stats.t.ppf(0.5 + level / 2, df)), df
    if test_df is None:
        return float(stats.norm.ppf(0.5 + level / 2)), float("nan")
    return float(stats.t.ppf(0.5 + level / 2, test_df)), float(test_df)


def pool(yi, vi, method: str = "REML", knha: bool = False, level: float = 0.95, pi_type: str = "riley",
         knha_min_k: int = KNHA_MIN_K) -> Pooled:
    """Random-effects (REML, DL) or common-effect ('EE') inverse-variance pooling, as metafor's `rma`.

    The prediction interval is mu ± crit × sqrt(tau² + SE²) with `prediction_critical(pi_type)`; a
    single study has none (nan), and a common-effect fit's is its CI. Hartung–Knapp with fewer than `knha_min_k` studies falls back to the
    normal interval with a `HartungKnappFallback` warning.
    """
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    k = len(yi)
    check_choice("method", method, (*TAU2_METHODS, "EE"))
    check_choice("pi_type", pi_type, PI_TYPES)
    if method == "EE":
        tau2 = 0.0
    else:
        tau2 = tau2_reml(yi, vi) if method == "REML" else tau2_dl(yi, vi)
    w = 1 / (vi + tau2)
    mu = float(np.sum(w * yi) / np.sum(w))
    se = float(np.sqrt(1 / np.sum(w)))
    fallback = knha and k < knha_min_k
    if fallback:
        warnings.warn(f"Hartung–Knapp asked for with k = {k} < {knha_min_k} studies: the normal (z) interval "
                      "is used instead", HartungKnappFallback, stacklevel=2)
    use_knha = knha and not fallback
    if use_knha:
        se *= float(np.sqrt(np.sum(w * (yi - mu) ** 2) / (k - 1)))
        crit = stats.t.ppf(0.5 + level / 2, k - 1)
    else:
        crit = stats.norm.ppf(0.5 + level / 2)
    q, q_p = cochran_q(yi, vi)
    i2 = 100 * tau2 / (typical_variance(vi) + tau2) if k > 1 else 0.0
    if method == "EE":  # no between-study variance: the prediction interval is the CI (as metafor)
        pi_crit, pi_df = crit, (k - 1.0 if use_knha else float("nan"))
    else:
        pi_crit, pi_df = prediction_critical(k, k - 1 if use_knha else None, pi_type, level)
    spread = pi_crit * np.sqrt(tau2 + se**2) if k > 1 or method == "EE" else float("nan")
    return Pooled(k=k, method=method, estimate=mu, se=se, ci_low=mu - crit * se, ci_high=mu + crit * se,
                  pi_low=mu - spread, pi_high=mu + spread, tau2=tau2, i2=float(i2), q=q, q_p=q_p,
                  test="knha" if use_knha else "z", pi_type=pi_type, pi_df=pi_df, knha_fallback=bool(fallback))


def glmm_logit(events, n, nodes: int = 7, level: float = 0.95, pi_type: str = "riley") -> Pooled:
    """Binomial-normal random-effects model (logit link) by ML with adaptive Gauss–Hermite quadrature.

    The model and quadrature are those of metafor's `rma.glmm(measure="PLO")` (lme4 `glmer`, nAGQ = 7).
    I² uses the typical variance of the logit effect sizes, as metafor does; Q is the Wald-type test.
    Counts may be non-integer (effective counts recovered from a reported CI): the binomial kernel is
    then a quasi-likelihood, as `glmer` fits it with a warning.
    """
    x, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    nodes_t, weights = hermegauss(nodes)

    def negloglik(params: np.ndarray) -> float:
        return -_marginal_loglik(params[0], params[1], x, n, nodes_t, weights)

    yi, vi = effect_sizes(x, n, "logit")
    start = np.array([np.sum(yi / vi) / np.sum(1 / vi), np.sqrt(max(tau2_dl(yi, vi), 0.01))])
    fit = optimize.minimize(negloglik, start, method="L-BFGS-B", bounds=[(None, None), (0.0, None)],
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
    beta, sigma = fit.x
    se = float(np.sqrt(np.linalg.inv(_hessian(negloglik, fit.x))[0, 0]))
    crit = stats.norm.ppf(0.5 + level / 2)
    tau2 = float(sigma**2)
    q, q_p = cochran_q(yi, vi)
    pi_crit, pi_df = prediction_critical(len(x), None, pi_type, level)
    spread = pi_crit * np.sqrt(tau2 + se**2)
    return Pooled(k=len(x), method="ML (GLMM)", estimate=float(beta), se=se, ci_low=beta - crit * se,
                  ci_high=beta + crit * se, pi_low=beta - spread, pi_high=beta + spread, tau2=tau2,
                  i2=float(100 * tau2 / (typical_variance(vi) + tau2)), q=q, q_p=q_p, test="z",
                  pi_type=pi_type, pi_df=pi_df)


def _marginal_loglik(beta: float, sigma: float, x: np.ndarray, n: np.ndarray, nodes_t: np.ndarray,
                     weights: np.ndarray) -> float:
    """Sum over studies of log ∫ Bin(x | n, expit(beta + sigma u)) φ(u) du by adaptive quadrature."""
    u = np.zeros_like(x)
    for _ in range(50):  # Newton steps to each study's conditional mode (the integrand is log-concave)
        p = special.expit(beta + sigma * u)
        grad, curv = sigma * (x - n * p) - u, sigma**2 * n * p * (1 - p) + 1
        u = u + grad / curv
        if np.max(np.abs(grad)) < 1e-12:
            break
    p = special.expit(beta + sigma * u)
    scale = 1 / np.sqrt(sigma**2 * n * p * (1 - p) + 1)
    points = u[:, None] + scale[:, None] * nodes_t[None, :]
    eta = beta + sigma * points
    log_binom = (special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1))[:, None]
    log_f = log_binom + x[:, None] * eta - n[:, None] * np.logaddexp(0, eta) - points**2 / 2 - np.log(2 * np.pi) / 2
    log_terms = log_f + nodes_t[None, :] ** 2 / 2 + np.log(weights)[None, :]
    return float(np.sum(np.log(scale) + special.logsumexp(log_terms, axis=1)))


def _hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central finite-difference Hessian of a scalar function."""
    dim = len(x)
    hess = np.zeros((dim, dim))
    for i in range(dim):
        for j in range(dim):
            ei, ej = np.eye(dim)[i] * step, np.eye(dim)[j] * step
            hess[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * step**2)
    return hess


def pool_proportions(events, n, transform: str = "logit", method: str = "REML", knha: bool = False,
                     level: float = 0.95, pi_type: str = "riley") -> dict[str, float | int | str]:
    """Pool events/n and return the pooled fit with estimate, CI and PI back-transformed to proportions.

    `events` and `n` may be effective (non-integer) counts, e.g. a Kaplan–Meier rate whose logit-scale
    variance was recovered from its reported CI (`proportions.effective_count`).
    """
    if method == "GLMM":
        if transform != "logit":
            raise ParameterError("the binomial-normal GLMM is fitted on the logit scale only")
        fit = glmm_logit(events, n, level=level, pi_type=pi_type)
    else:
        fit = pool(*effect_sizes(events, n, transform), method=method, knha=knha, level=level, pi_type=pi_type)
    back = to_proportion([fit.estimate, fit.ci_low, fit.ci_high, fit.pi_low, fit.pi_high], transform, n)
    names = ("proportion", "proportion_ci_low", "proportion_ci_high", "proportion_pi_low", "proportion_pi_high")
    return {**fit.as_dict(), "transform": transform, **dict(zip(names, map(float, back), strict=False))}


def leave_one_out(table: pd.DataFrame, label: str = "label", **options) -> pd.DataFrame:
    """The pooled proportion with each study left out in turn (`options` go to `pool_proportions`)."""
    rows = []
    for index in table.index:
        rest = table.drop(index)
        rows.append({"left_out": table.at[index, label],
                     **pool_proportions(rest["events"], rest["n"], **options)})
    return pd.DataFrame(rows)


def subgroup_analysis(table: pd.DataFrame, group: str, **options) -> tuple[pd.DataFrame, dict[str, float]]:
    """Pool each subgroup separately, then test the difference between subgroups (Q-between, common effect).

    This is the usual test with separate tau² per subgroup: the subgroup estimates and their
    standard errors are compared with Cochran's Q on G-1 degrees of freedom. A subgroup too small for
    Hartung–Knapp (k < `KNHA_MIN_K`) gets the normal interval (`knha_fallback` in its row); the
    returned `knha_fallback` lists those subgroups, so the page can say so.
    """
    rows = []
    for name, part in table.groupby(group, sort=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HartungKnappFallback)
            rows.append({group: name, **pool_proportions(part["events"], part["n"], **options)})
    fits = pd.DataFrame(rows)
    q, p = cochran_q(fits["estimate"].to_numpy(), fits["se"].to_numpy() ** 2)
    fallback = [str(name) for name in fits.loc[fits["knha_fallback"], group]]
    if fallback:
        warnings.warn(f"Hartung–Knapp not applied to subgroup(s) {', '.join(fallback)} (k < {KNHA_MIN_K}): "
                      "normal intervals used", HartungKnappFallback, stacklevel=2)
    return fits, {"q_between": q, "df": len(fits) - 1, "p_between": p, "knha_fallback": fallback}


def pool_log_hazard_ratios(hr, ci_low, ci_high, ci_level: float = 0.95, level: float = 0.95) -> dict[str, float]:
    """Common-effect inverse-variance pooling of log hazard ratios whose SEs are recovered from reported CIs."""
    se = log_hr_se(ci_low, ci_high, ci_level)
    fit = pool(np.log(np.asarray(hr, dtype=float)), se**2, method="EE", level=level)
    return {**fit.as_dict(), "hr": float(np.exp(fit.estimate)), "hr_ci_low": float(np.exp(fit.ci_low)),
            "hr_ci_high": float(np.exp(fit.ci_high)), "z": fit.estimate / fit.se,
            "p": float(2 * stats.norm.sf(abs(fit.estimate / fit.se)))}


def log_hr_se(ci_low, ci_high, ci_level: float = 0.95) -> np.ndarray:
    """Standard error of a log hazard ratio recovered from its reported confidence interval."""
    return (np.log(np.asarray(ci_high, dtype=float)) - np.log(np.asarray(ci_low, dtype=float))) / (
        2 * stats.norm.ppf(0.5 + ci_level / 2))


def compare_methods(events, n, level: float = 0.95, pi_type: str = "riley") -> pd.DataFrame:
    """The pooled proportion under every transform × tau² estimator × CI method, plus the GLMM."""
    rows = [pool_proportions(events, n, transform, method, knha, level, pi_type)
            for transform in MEASURES for method in TAU2_METHODS for knha in (False, True)]
    rows.append(pool_proportions(events, n, "logit", "GLMM", level=level, pi_type=pi_type))
    return pd.DataFrame(rows)
