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
