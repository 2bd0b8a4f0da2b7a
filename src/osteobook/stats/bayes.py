"""Beta-binomial models of response counts (responders x_i out of n_i in k trial arms).

Two views of the same data, both exact in the binomial sense (no continuity correction, so arms
with no responder count in full):

- `conjugate`: one true rate shared by every patient, prior Beta(a, b), posterior
  Beta(a + sum x, b + sum (n - x)) in closed form; `prob_greater` compares two such posteriors.
- `maximum_likelihood`: each arm has its own rate p_i ~ Beta(mu * kappa, (1 - mu) * kappa); the
  beta-binomial likelihood is maximised over (mu, rho = 1/(1 + kappa)), with a profile-likelihood CI
  for mu that carries the uncertainty about the heterogeneity rho (the frequentist beta-binomial
  meta-analysis).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special, stats

from ..errors import ParameterError

THRESHOLDS = (0.05, 0.10, 0.20)


def _counts(events, n) -> tuple[np.ndarray, np.ndarray]:
    x, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    if x.shape != n.shape or x.ndim != 1 or len(x) == 0:
        raise ParameterError(f"events and n must be equal-length, non-empty lists; got {x.shape} and {n.shape}")
    if np.any(x < 0) or np.any(x > n) or np.any(n <= 0) or np.any(x != np.round(x)) or np.any(n != np.round(n)):
        raise ParameterError("need whole numbers with 0 <= events <= n and n > 0")
    return x, n


def _prior(prior: tuple[float, float]) -> tuple[float, float]:
    a, b = (float(v) for v in prior)
    if not (a > 0 and b > 0):
        raise ParameterError(f"a beta prior needs a > 0 and b > 0, got Beta({a}, {b})")
    return a, b


@dataclass(frozen=True)
class BetaPosterior:
    """A Beta(a, b) distribution of a response rate (the conjugate posterior)."""

    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def median(self) -> float:
        return float(stats.beta.ppf(0.5, self.a, self.b))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed credible interval."""
        low, high = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], self.a, self.b)
        return float(low), float(high)

    def prob_above(self, threshold: float) -> float:
        """Posterior probability that the true rate exceeds `threshold`."""
        return float(stats.beta.sf(threshold, self.a, self.b))

    def summary(self, thresholds=THRESHOLDS, level: float = 0.95) -> dict[str, float]:
        low, high = self.interval(level)
        return {"a": self.a, "b": self.b, "mean": self.mean, "median": self.median, "cri_low": low,
                "cri_high": high, **{f"p_above_{t:g}": self.prob_above(t) for t in thresholds}}


def conjugate(events, n, prior: tuple[float, float] = (0.5, 0.5)) -> BetaPosterior:
    """Posterior of one rate shared by all arms: Beta(a + sum x, b + sum (n - x))."""
    x, n = _counts(events, n)
    a, b = _prior(prior)
    return BetaPosterior(float(a + x.sum()), float(b + (n - x).sum()))


def prob_greater(first: BetaPosterior, second: BetaPosterior) -> float:
    """P(rate of `first` > rate of `second`) for independent beta posteriors.

    Written as the integral over u in (0, 1) of F2(F1^-1(u)), which is smooth and bounded even when a
    density is unbounded at 0 (a < 1).
    """
    def integrand(u: float) -> float:
        return float(stats.beta.cdf(stats.beta.ppf(u, first.a, first.b), second.a, second.b))

    value, _ = integrate.quad(integrand, 0.0, 1.0, limit=200, epsabs=1e-11, epsrel=1e-10)
    return float(value)


def beta_binomial_loglik(x: np.ndarray, n: np.ndarray, mu: float, kappa: float) -> float:
    """Sum over arms of log BetaBin(x_i | n_i, mu * kappa, (1 - mu) * kappa).

    Written with rising factorials, log B(x + a, n - x + b) - log B(a, b) = sum_j log(a + j) +
    sum_j log(b + j) - sum_j log(a + b + j), which stays exact when kappa is large (the difference of
    two huge log-beta values would lose the digits that matter near the binomial limit).
    """
    alpha, beta = mu * kappa, (1 - mu) * kappa
    log_choose = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    total = float(log_choose.sum())
    for xi, ni in zip(x.astype(int), n.astype(int), strict=True):
        total += float(np.log(alpha + np.arange(xi)).sum() + np.log(beta + np.arange(ni - xi)).sum()
                       - np.log(kappa + np.arange(ni)).sum())
    return total


def _negloglik_rho(x: np.ndarray, n: np.ndarray, mu: float, rho: float) -> float:
    """-log L at (mu, rho); rho = 0 is the binomial limit (no heterogeneity)."""
    if rho <= 0:
        return -float(np.sum(stats.binom.logpmf(x, n, mu)))
    return -beta_binomial_loglik(x, n, mu, 1 / rho - 1)


def _profile(x: np.ndarray, n: np.ndarray, mu: float) -> tuple[float, float]:
    """max over rho in [0, 1) of the log-likelihood at mean rate mu, and the maximising rho."""
    fit = optimize.minimize_scalar(lambda r: _negloglik_rho(x, n, mu, r), bounds=(0.0, 0.999),
                                   method="bounded", options={"xatol": 1e-12})
    at_zero = _negloglik_rho(x, n, mu, 0.0)
    return (-at_zero, 0.0) if at_zero <= fit.fun else (-float(fit.fun), float(fit.x))


def maximum_likelihood(events, n, level: float = 0.95) -> dict[str, float]:
    """ML beta-binomial pooled rate with a profile-likelihood CI (the interval where 2 * drop <= chi2_1)."""
    x, n = _counts(events, n)
    if x.sum() == 0:
        raise ParameterError("no arm has a responder: the maximum-likelihood rate is 0 and has no profile CI")

    def negative_profile(logit_mu: float) -> float:
        return -_profile(x, n, float(special.expit(logit_mu)))[0]

    start = special.logit(x.sum() / n.sum())
    best = optimize.minimize_scalar(negative_profile, bracket=(start - 1, start + 1), tol=1e-12)
    mu_hat = float(special.expit(best.x))
    top, rho_hat = _profile(x, n, mu_hat)
    cut = top - stats.chi2.ppf(level, 1) / 2

    def gap(mu: float) -> float:
        return _profile(x, n, mu)[0] - cut

    low = optimize.brentq(gap, 1e-9, mu_hat, xtol=1e-12)
    high = optimize.brentq(gap, mu_hat, 1 - 1e-9, xtol=1e-12)
    return {"proportion": mu_hat, "proportion_ci_low": float(low), "proportion_ci_high": float(high),
            "rho": rho_hat, "loglik": top, "k": len(x)}
