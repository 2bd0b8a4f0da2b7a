"""Beta-binomial models of response counts (responders x_i out of n_i in k trial arms).

Three views of the same data, all exact in the binomial sense (no continuity correction, so arms
with no responder count in full):

- `conjugate`: one true rate shared by every patient, prior Beta(a, b), posterior
  Beta(a + sum x, b + sum (n - x)) in closed form.
- `hierarchical`: each arm has its own rate p_i ~ Beta(mu * kappa, (1 - mu) * kappa); the posterior of
  the mean rate mu and of a new arm's rate is computed on a grid (mu by the prior's quantiles, so
  every grid cell carries the same prior mass; heterogeneity by phi = 1/sqrt(1 + kappa) uniform on
  (0, 1), which is phi^2 = the intra-arm correlation of two patients' responses).
- `maximum_likelihood`: the same beta-binomial likelihood maximised over (mu, rho = 1/(1 + kappa)),
  with a profile-likelihood CI for mu (the frequentist beta-binomial meta-analysis).
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
    return BetaPosterior(a + x.sum(), b + (n - x).sum())


def prob_greater(first: BetaPosterior, second: BetaPosterior) -> float:
    """P(rate of `first` > rate of `second`) for independent beta posteriors.

    Written as the integral over u in (0, 1) of F2(F1^-1(u)), which is smooth and bounded even when a
    density is unbounded at 0 (a < 1).
    """
    def integrand(u: float) -> float:
        return float(stats.beta.cdf(stats.beta.ppf(u, first.a, first.b), second.a, second.b))

    value, _ = integrate.quad(integrand, 0.0, 1.0, limit=200, epsabs=1e-11, epsrel=1e-10)
    return float(value)


def beta_binomial_loglik(x: np.ndarray, n: np.ndarray, mu, kappa) -> np.ndarray:
    """Sum over arms of log BetaBin(x_i | n_i, mu * kappa, (1 - mu) * kappa), broadcast over mu and kappa."""
    mu, kappa = np.asarray(mu, dtype=float)[..., None], np.asarray(kappa, dtype=float)[..., None]
    alpha, beta = mu * kappa, (1 - mu) * kappa
    log_choose = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return np.sum(log_choose + special.betaln(x + alpha, n - x + beta) - special.betaln(alpha, beta), axis=-1)


@dataclass(frozen=True)
class HierarchicalPosterior:
    """Grid posterior of the beta-binomial random-effects model."""

    mean_rate: np.ndarray  # grid points of mu
    kappa: np.ndarray  # grid points of kappa
    weights: np.ndarray  # posterior mass, shape (len(mean_rate), len(kappa)), sums to 1

    def _mu_mass(self) -> np.ndarray:
        return self.weights.sum(axis=1)

    def mean_quantile(self, q: float) -> float:
        """A quantile of the mean rate's posterior (grid points, linear interpolation of the CDF)."""
        order = np.argsort(self.mean_rate)
        cdf = np.cumsum(self._mu_mass()[order])
        return float(np.interp(q, cdf, self.mean_rate[order]))

    def prob_mean_above(self, threshold: float) -> float:
        return float(self._mu_mass()[self.mean_rate > threshold].sum())

    def prob_new_arm_above(self, threshold: float) -> float:
        """P(the rate of a new, exchangeable arm exceeds `threshold`), averaging over (mu, kappa)."""
        mu, kappa = np.meshgrid(self.mean_rate, self.kappa, indexing="ij")
        return float(np.sum(self.weights * stats.beta.sf(threshold, mu * kappa, (1 - mu) * kappa)))

    def heterogeneity_median(self) -> float:
        """Posterior median of phi^2 = 1/(1 + kappa), the correlation of two responses in one arm."""
        rho = 1 / (1 + self.kappa)
        order = np.argsort(rho)
        cdf = np.cumsum(self.weights.sum(axis=0)[order])
        return float(np.interp(0.5, cdf, rho[order]))

    def summary(self, thresholds=THRESHOLDS, level: float = 0.95) -> dict[str, float]:
        mass = self._mu_mass()
        return {"mean": float(np.sum(mass * self.mean_rate)), "median": self.mean_quantile(0.5),
                "cri_low": self.mean_quantile((1 - level) / 2), "cri_high": self.mean_quantile((1 + level) / 2),
                "icc_median": self.heterogeneity_median(),
                **{f"p_above_{t:g}": self.prob_mean_above(t) for t in thresholds},
                **{f"p_new_above_{t:g}": self.prob_new_arm_above(t) for t in thresholds}}


def hierarchical(events, n, mean_prior: tuple[float, float] = (0.5, 0.5), n_mean: int = 4000,
                 phi: np.ndarray | None = None, n_phi: int = 400) -> HierarchicalPosterior:
    """Posterior of (mu, kappa) on a grid: mu ~ `mean_prior`, phi = 1/sqrt(1 + kappa) ~ Uniform(0, 1).

    The mu grid sits at the prior's quantiles (cell midpoints), so the prior weight of every cell is
    equal and the posterior weight is proportional to the likelihood. `phi` replaces the uniform phi
    grid (for example one value, to fix the heterogeneity).
    """
    x, n = _counts(events, n)
    a, b = _prior(mean_prior)
    mu = stats.beta.ppf((np.arange(n_mean) + 0.5) / n_mean, a, b)
    phi = (np.arange(n_phi) + 0.5) / n_phi if phi is None else np.asarray(phi, dtype=float)
    if np.any(phi <= 0) or np.any(phi >= 1):
        raise ParameterError("phi = 1/sqrt(1 + kappa) must lie strictly between 0 and 1")
    kappa = 1 / phi**2 - 1
    loglik = beta_binomial_loglik(x, n, mu[:, None], kappa[None, :])
    weights = np.exp(loglik - loglik.max())
    return HierarchicalPosterior(mu, kappa, weights / weights.sum())


def _negloglik_rho(x: np.ndarray, n: np.ndarray, mu: float, rho: float) -> float:
    """-log L at (mu, rho); rho = 0 is the binomial limit (no heterogeneity)."""
    if rho <= 0:
        return -float(np.sum(stats.binom.logpmf(x, n, mu)))
    return -float(beta_binomial_loglik(x, n, mu, 1 / rho - 1))


def _profile(x: np.ndarray, n: np.ndarray, mu: float) -> tuple[float, float]:
    """max over rho in [0, 1) of the log-likelihood at mean rate mu, and the maximising rho."""
    fit = optimize.minimize_scalar(lambda r: _negloglik_rho(x, n, mu, r), bounds=(0.0, 0.999),
                                   method="bounded", options={"xatol": 1e-10})
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
