"""osteobook.stats.bayes: conjugate beta posteriors against SciPy's closed forms, hand-derived comparisons,
and the beta-binomial likelihood and its maximum."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from osteobook.errors import ParameterError
from osteobook.stats import bayes


@pytest.mark.parametrize("x,n,prior", [([1, 0, 0], [22, 12, 31], (0.5, 0.5)), ([9, 1], [43, 17], (1, 1)),
                                       ([0], [31], (1, 4))])
def test_conjugate_posterior_is_the_closed_form(x, n, prior):
    post = bayes.conjugate(x, n, prior)
    a, b = prior[0] + sum(x), prior[1] + sum(n) - sum(x)
    assert (post.a, post.b) == (a, b)
    assert post.mean == pytest.approx(a / (a + b), rel=1e-12)
    assert post.median == pytest.approx(stats.beta.median(a, b), rel=1e-12)
    assert post.interval() == pytest.approx(stats.beta.interval(0.95, a, b), rel=1e-12)
    for t in bayes.THRESHOLDS:
        assert post.prob_above(t) == pytest.approx(1 - stats.beta.cdf(t, a, b), abs=1e-14)


def test_summary_names_every_threshold():
    summary = bayes.conjugate([1], [22]).summary()
    assert {"p_above_0.05", "p_above_0.1", "p_above_0.2", "cri_low", "cri_high", "median"} <= set(summary)


def test_zero_events_under_jeffreys_by_hand():
    """0/31 with Beta(0.5, 0.5): posterior Beta(0.5, 31.5); P(p > 0.1) = I_0.9(31.5, 0.5) by symmetry."""
    post = bayes.conjugate([0], [31])
    assert post.prob_above(0.1) == pytest.approx(stats.beta.cdf(0.9, 31.5, 0.5), rel=1e-10)


@pytest.mark.parametrize("first,second,expected", [((1, 1), (1, 1), 0.5), ((2, 1), (1, 1), 2 / 3),
                                                   ((1, 1), (2, 1), 1 / 3), ((1, 2), (1, 1), 1 / 3)])
def test_prob_greater_by_hand(first, second, expected):
    """P(X > Y): Beta(2,1) vs uniform = integral of 2x * x over (0, 1) = 2/3; symmetric cases 1/2."""
    got = bayes.prob_greater(bayes.BetaPosterior(*first), bayes.BetaPosterior(*second))
    assert got == pytest.approx(expected, abs=1e-9)


def test_prob_greater_against_simulation():
    rng = np.random.default_rng(1)
    first, second = bayes.BetaPosterior(10.5, 50.5), bayes.BetaPosterior(1.5, 64.5)
    draws = rng.beta(first.a, first.b, 400_000) > rng.beta(second.a, second.b, 400_000)
    assert bayes.prob_greater(first, second) == pytest.approx(draws.mean(), abs=3e-3)


def test_prob_greater_handles_a_below_one():
    """Jeffreys posterior of an all-zero group has an unbounded density at 0."""
    first, second = bayes.BetaPosterior(0.5, 31.5), bayes.BetaPosterior(0.5, 12.5)
    rng = np.random.default_rng(2)
    draws = rng.beta(0.5, 31.5, 400_000) > rng.beta(0.5, 12.5, 400_000)
    assert bayes.prob_greater(first, second) == pytest.approx(draws.mean(), abs=3e-3)


def test_loglik_is_the_beta_binomial_pmf():
    x, n = np.array([1, 0, 9]), np.array([22, 12, 43])
    mu, kappa = 0.1, 7.0
    expected = stats.betabinom.logpmf(x, n, mu * kappa, (1 - mu) * kappa).sum()
    assert float(bayes.beta_binomial_loglik(x, n, mu, kappa)) == pytest.approx(expected, rel=1e-12)


def test_maximum_likelihood_without_heterogeneity_is_the_pooled_rate():
    """Identical rates in every arm: rho = 0 at the maximum and the estimate is sum x / sum n."""
    fit = bayes.maximum_likelihood([2, 4, 6], [20, 40, 60])
    assert fit["proportion"] == pytest.approx(0.1, abs=1e-6)
    assert fit["rho"] == pytest.approx(0, abs=1e-6)
    assert fit["loglik"] == pytest.approx(stats.binom.logpmf([2, 4, 6], [20, 40, 60], 0.1).sum(), abs=1e-8)


def test_profile_interval_endpoints_lie_on_the_chi_square_cut():
    x, n = np.array([9, 1]), np.array([43, 17])
    fit = bayes.maximum_likelihood(x, n)
    cut = fit["loglik"] - stats.chi2.ppf(0.95, 1) / 2
    for end in ("proportion_ci_low", "proportion_ci_high"):
        assert bayes._profile(x, n, fit[end])[0] == pytest.approx(cut, abs=1e-7)
    assert fit["proportion_ci_low"] < fit["proportion"] < fit["proportion_ci_high"]


def test_profile_interval_is_wider_than_the_binomial_one():
    """Freeing the heterogeneity can only lower the drop in log-likelihood, so the interval widens."""
    fit = bayes.maximum_likelihood([1, 0, 0], [22, 12, 31])
    p = 1 / 65

    def binomial_drop(q):
        return 2 * (stats.binom.logpmf(1, 65, p) - stats.binom.logpmf(1, 65, q))

    assert binomial_drop(fit["proportion_ci_high"]) > stats.chi2.ppf(0.95, 1)


@pytest.mark.parametrize("call", [lambda: bayes.conjugate([3], [2]), lambda: bayes.conjugate([1], [10], (0, 1)),
                                  lambda: bayes.conjugate([], []), lambda: bayes.maximum_likelihood([0, 0], [5, 7]),
                                  lambda: bayes.conjugate([0.5], [10])])
def test_bad_input_is_refused(call):
    with pytest.raises(ParameterError):
        call()
