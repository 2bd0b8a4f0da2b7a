"""The inconclusive-versus-negative rule and the detectable effects behind it."""
import numpy as np
import pytest
from scipy.stats import norm

from osteobook.errors import ParameterError
from osteobook.stats import decision


@pytest.mark.parametrize("low, high, expected", [
    (0.76, 2.01, "inconclusive"),      # CAF iCAF score: CI includes 1 and 1.5
    (0.74, 1.46, "against"),           # fibroblast fraction: excludes 1.5 per SD (not 1.3: see below)
    (1.60, 2.50, "important"),
    (1.10, 1.40, "gain_small"),
    (1.10, 2.00, "gain_uncertain_size"),
    (0.40, 0.90, "worse"),
])
def test_hazard_ratio_rule_for_a_claimed_harm(low, high, expected):
    assert decision.association(low, high, 1.5) == expected


def test_the_important_effect_decides_between_inconclusive_and_against():
    assert decision.association(0.74, 1.46, 1.3) == "inconclusive"


def test_protective_claim_reads_the_interval_the_other_way():
    # FerrDb driver score HR 0.73 (0.54-0.97) against a claim of protection: shown, size not settled at 1/1.5
    assert decision.association(0.54, 0.97, 1.5, direction=-1) == "gain_uncertain_size"
    assert decision.association(0.54, 0.97, 1.5, direction=1) == "worse"


def test_correlation_rule_on_the_difference_scale():
    assert decision.association(-0.75, -0.20, 0.3, direction=-1, scale="difference") == "gain_uncertain_size"
    assert decision.association(-0.25, 0.20, 0.3, direction=-1, scale="difference") == "against"
    assert decision.association(-0.45, 0.10, 0.3, direction=-1, scale="difference") == "inconclusive"


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ParameterError, match="direction"):
        decision.association(0.5, 2, 1.5, direction=0)
    with pytest.raises(ParameterError, match="scale must be one of ratio, difference"):
        decision.association(0.5, 2, 1.5, scale="log")
    with pytest.raises(ParameterError, match="positive"):
        decision.association(-0.5, 2, 1.5)


def test_detectable_hr_matches_schoenfeld_by_hand():
    # 27 deaths, per-SD covariate: log HR = (1.959964 + 0.841621) / sqrt(27) = 0.539165
    assert decision.detectable_hr(27) == pytest.approx(np.exp(2.801585 / np.sqrt(27)), rel=1e-6)
    assert decision.detectable_hr(27) == pytest.approx(1.7146, abs=1e-4)
    # binary split 50/50 needs twice the log-HR: sqrt(1/0.25) = 2
    assert np.log(decision.detectable_hr(100, exposed=0.5)) == pytest.approx(2 * 2.801585 / 10, rel=1e-6)
    with pytest.raises(ParameterError, match="exposed"):
        decision.detectable_hr(10, exposed=1.0)


def test_detectable_rho_by_hand():
    z = norm.ppf(0.975) + norm.ppf(0.8)
    assert decision.detectable_rho(53) == pytest.approx(np.tanh(z / np.sqrt(50)), rel=1e-12)
    assert 0.37 < decision.detectable_rho(53) < 0.39
