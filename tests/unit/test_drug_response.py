"""`stats.drug_response`: the Mann–Whitney rule (exact without ties and below 50 per group, as R's wilcox.test)."""
import numpy as np
import pandas as pd
import pytest

from osteobook.stats import drug_response
from tests.r_reference import r_vector, run_r

SMALL = ([1.1, 2.4, 0.3, 5.2, 3.3, 4.8], [2.2, 6.1, 7.4, 5.9, 8.8, 6.6, 9.1])  # untied: exact
TIED = ([1.0, 2.0, 2.0, 5.0, 3.0], [2.0, 6.0, 7.0, 5.0, 8.0, 6.0])  # ties: normal approximation
RNG = np.random.default_rng(3)
LARGE = (list(RNG.normal(size=10)), list(RNG.normal(0.4, size=120)))  # 120 > 50: normal approximation


@pytest.fixture(scope="module")
def wilcox():
    lines = [f'emit("{name}", list(p = suppressWarnings(wilcox.test({r_vector(a)}, {r_vector(b)}))$p.value, '
             f'w = suppressWarnings(wilcox.test({r_vector(a)}, {r_vector(b)}))$statistic))'
             for name, (a, b) in {"small": SMALL, "tied": TIED, "large": LARGE}.items()]
    return run_r("\n".join(lines))


@pytest.mark.r
@pytest.mark.parametrize("name, data, method", [("small", SMALL, "exact"), ("tied", TIED, "asymptotic"),
                                                ("large", LARGE, "asymptotic")])
def test_mann_whitney_matches_wilcox_test(wilcox, name, data, method):
    u, p, used = drug_response.mann_whitney(*data)
    assert used == method
    assert u == pytest.approx(wilcox[f"{name}.w"])
    assert p == pytest.approx(wilcox[f"{name}.p"], rel=1e-9)


def test_compare_lines_names_its_method():
    values = pd.Series(SMALL[0] + SMALL[1], index=range(13))
    result = drug_response.compare_lines(values, set(range(6)))
    assert result["p_method"] == "exact" and result["prob_group_higher"] == pytest.approx(result["u"] / 42)
