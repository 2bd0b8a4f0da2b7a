"""Spearman correlation with bootstrap CI, two-group comparison and logistic odds ratio per SD."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from osteobook.stats import groups as association


@pytest.fixture
def pairs():
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    return x, 0.5 * x + rng.normal(size=80)


def test_spearman_matches_scipy_and_is_reproducible(pairs):
    x, y = pairs
    first = association.spearman_ci(x, y, np.random.default_rng(1), n_boot=1000)
    again = association.spearman_ci(x, y, np.random.default_rng(1), n_boot=1000)
    rho, p = stats.spearmanr(x, y)
    assert first["rho"] == pytest.approx(rho) and first["p"] == pytest.approx(p)
    assert first == again
    # the bootstrap interval is close to the Fisher-z interval with the Bonett–Wright standard error
    se = np.sqrt((1 + rho ** 2 / 2) / (len(x) - 3))
    fisher = np.tanh(np.arctanh(rho) + np.array([-1.96, 1.96]) * se)
    assert first["ci_low"] == pytest.approx(fisher[0], abs=0.08)
    assert first["ci_high"] == pytest.approx(fisher[1], abs=0.08)


def test_spearman_drops_missing_pairs_and_needs_four(pairs):
    x, y = pairs
    x = x.copy()
    x[:5] = np.nan
    assert association.spearman_ci(x, y, np.random.default_rng(0), n_boot=200)["n"] == 75
    with pytest.raises(ValueError, match="at least 4 complete pairs"):
        association.spearman_ci([1, 2, np.nan], [1, 2, 3], np.random.default_rng(0))


def test_group_comparison_auc_counts_pairs():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, 2.5, 0.5])
    groups = pd.Series(["pos", "pos", "pos", "pos", "neg", "neg"])
    result = association.compare_groups(values, groups, high="pos", low="neg")
    high, low = values[groups == "pos"], values[groups == "neg"]
    by_hand = np.mean([(h > l) + 0.5 * (h == l) for h in high for l in low])
    assert result["auc"] == pytest.approx(by_hand)
    assert result["difference"] == pytest.approx(high.mean() - low.mean())
    assert result["ci_low"] < result["difference"] < result["ci_high"]


def test_group_comparison_refuses_unexpected_labels():
    with pytest.raises(ValueError, match=r"value\(s\) \['maybe'\]; expected only \['neg', 'pos'\]"):
        association.compare_groups(pd.Series([1.0, 2, 3]), pd.Series(["pos", "neg", "maybe"]), "pos", "neg")


def test_logistic_per_sd_matches_statsmodels_on_standardised_x(pairs):
    x, y = pairs
    outcome = pd.Series((y > 0).astype(int))
    result = association.logistic_per_sd(pd.Series(x), outcome)
    z = (x - x.mean()) / x.std(ddof=1)
    fit = sm.Logit(outcome, sm.add_constant(z)).fit(disp=False)
    assert result["odds_ratio"] == pytest.approx(np.exp(fit.params.iloc[1]))
    assert result["n"] == 80 and result["events"] == outcome.sum()
    with pytest.raises(ValueError, match="must be 0/1"):
        association.logistic_per_sd(pd.Series(x), pd.Series(np.full(80, 2)))
