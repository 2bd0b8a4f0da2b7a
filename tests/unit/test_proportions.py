import math

import numpy as np
import pytest
from scipy.stats import norm

from osteobook.stats.proportions import proportion_ci, reconstruct_reported
from tests.conftest import clopper_pearson


def wilson_by_hand(x, n, level=0.95):
    z = norm.ppf(1 - (1 - level) / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("x,n", [(0, 12), (3, 35), (11, 96), (17, 26), (26, 26)])
def test_exact_matches_beta_quantiles(x, n):
    assert proportion_ci(x, n, "exact") == pytest.approx(clopper_pearson(x, n), abs=1e-10)


@pytest.mark.parametrize("x,n", [(0, 12), (3, 35), (11, 96), (26, 26)])
def test_wilson_matches_formula(x, n):
    assert np.allclose(proportion_ci(x, n, "wilson"), wilson_by_hand(x, n), atol=1e-12)


def test_km_loglog_without_censoring_matches_formula():
    """S = 11/96, Greenwood variance p(1-p)/n, CI S^exp(+-z*se/|S log S|) (Kalbfleisch & Prentice)."""
    p = 11 / 96
    spread = 1.959963985 * math.sqrt(p * (1 - p) / 96) / abs(p * math.log(p))
    low, high = proportion_ci(11, 96, "km-loglog")
    assert (float(low), float(high)) == pytest.approx((p ** math.exp(spread), p ** math.exp(-spread)), abs=1e-9)


def test_lagmay_benchmark_reconstruction():
    """Lagmay 2016: 4-month EFS 12% (95% CI 6-19%), n = 96. No count out of 96 gives 12% (11/96 = 11.5%,
    12/96 = 12.5%, rounded half-up to 11% and 13%): the published EFS is a Kaplan-Meier estimate with
    censoring. The CI is reproduced by 11/96 with Jeffreys (6.2-19.0%) or uncensored KM log-log (6.1-18.7%)
    intervals and by 12/96 with Wald (5.9-19.1%), not by the exact interval for 11/96 (5.9-19.6%)."""
    table = reconstruct_reported(96, 0.12, 0.06, 0.19).set_index(["events", "method"])
    assert not table["estimate_matches"].any()
    assert table.loc[(11, "Jeffreys"), "ci_matches"] and table.loc[(11, "Kaplan–Meier, log–log (no censoring)"), "ci_matches"]
    assert not table.loc[(11, "exact (Clopper–Pearson)"), "ci_matches"]
    assert table.loc[(12, "Wald (normal approximation)"), "ci_matches"]


def test_bad_counts_and_method_are_refused():
    with pytest.raises(ValueError, match="events <= n"):
        proportion_ci(5, 4)
    with pytest.raises(ValueError, match="'ci_method' = 'bayes' is not allowed"):
        proportion_ci(1, 4, "bayes")


def test_logit_se_from_a_reported_interval_by_hand():
    """Grignani 2012: 46% (95% CI 28–63%), Kaplan–Meier. SE = (logit 0.63 − logit 0.28) / (2 × 1.96)."""
    from osteobook.stats.proportions import effective_count, logit_se_from_ci
    se = (math.log(0.63 / 0.37) - math.log(0.28 / 0.72)) / (2 * 1.959963984540054)
    assert float(logit_se_from_ci(0.46, 0.28, 0.63)) == pytest.approx(se, rel=1e-12)
    x, n = effective_count(0.46, 0.28, 0.63)
    assert float(x / n) == pytest.approx(0.46) and 1 / float(x) + 1 / float(n - x) == pytest.approx(se**2)
    assert float(n) < 35  # censoring: the interval is wider than 16/35's
    assert np.isnan(logit_se_from_ci(0.0, 0.0, 0.26)) and np.isnan(logit_se_from_ci(0.5, 0.1, 1.0))


@pytest.mark.r
def test_pooling_effective_counts_is_pooling_rates_with_their_reported_cis():
    """On the logit scale, pool_proportions on effective counts equals metafor's rma(yi = qlogis(p), sei = SE)."""
    from osteobook.stats.meta_analysis import pool_proportions
    from osteobook.stats.proportions import effective_count
    from tests.r_reference import r_vector, run_r
    p, low, high = [0.46, 0.378, 0.8], [0.28, 0.2, 0.6], [0.63, 0.554, 0.9]
    x, n = effective_count(p, low, high)
    ours = pool_proportions(x, n)
    theirs = run_r(f"""
        sei <- (qlogis({r_vector(high)}) - qlogis({r_vector(low)})) / (2 * qnorm(0.975))
        f <- rma(yi = qlogis({r_vector(p)}), sei = sei, method = "REML", control = list(threshold = 1e-12))
        emit("f", list(b = f$b[1], se = f$se, tau2 = f$tau2))""")
    assert (ours["estimate"], ours["se"], ours["tau2"]) == pytest.approx(
        (theirs["f.b"], theirs["f.se"], theirs["f.tau2"]), abs=1e-7)
