"""The GRADE rules of `osteobook.stats.grade`, each on stated inputs and at its boundaries.

The expected values are written out here from the rules as the module docstring states them (and, for the
information sizes, from the textbook formulas with the normal quantiles typed in), not computed by the module.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from osteobook.datasets import risk_of_bias as rob_data
from osteobook.errors import DataError, ParameterError
from osteobook.stats import grade

Z975, Z80 = 1.959963984540054, 0.8416212335729143


# ---- inconsistency -------------------------------------------------------------------------------------

@pytest.mark.parametrize("i2, pi, expected", [
    (50.0, (0.05, 0.40), 1),     # at the I² cut-off, PI crosses 10%: serious
    (49.99, (0.05, 0.40), 0),    # just below the cut-off
    (90.0, (0.12, 0.40), 0),     # large I², but the whole PI lies above the threshold: the decision does not change
    (90.0, (0.02, 0.10), 1),     # PI ends exactly on the threshold: it crosses (closed interval)
])
def test_inconsistency_needs_both_i2_and_a_crossing_spread(i2, pi, expected):
    domain = grade.inconsistency(5, i2, *pi, [0.1, 0.2, 0.3, 0.2, 0.1], threshold=0.10)
    assert domain.downgrade == expected
    assert domain.inputs["spread"] == "95% prediction interval"


def test_inconsistency_with_two_arms_reads_their_range_and_with_one_is_not_assessable():
    two = grade.inconsistency(2, 80.0, np.nan, np.nan, [0.05, 0.30], threshold=0.10)
    assert (two.downgrade, two.inputs["spread_low"], two.inputs["spread_high"]) == (1, 0.05, 0.30)
    assert grade.inconsistency(2, 80.0, np.nan, np.nan, [0.15, 0.30], threshold=0.10).downgrade == 0
    one = grade.inconsistency(1, float("nan"), np.nan, np.nan, [0.4], threshold=0.10)
    assert (one.downgrade, one.assessable) == (0, False)
    assert "not assessable" in one.footnote


# ---- imprecision ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ci, n, expected", [
    ((0.06, 0.23), 225, 1),   # CI contains 10%, n above OIS
    ((0.10, 0.23), 225, 1),   # lower limit exactly on the threshold: contains it
    ((0.11, 0.23), 225, 0),   # CI above the threshold, n above OIS
    ((0.11, 0.23), 85, 1),    # CI excludes the threshold, n one short of the OIS of 86
    ((0.11, 0.23), 86, 0),    # n equal to the OIS is enough
    ((0.02, 0.23), 40, 2),    # both: two levels
])
def test_imprecision_counts_a_crossing_ci_and_a_short_information_size(ci, n, expected):
    domain = grade.imprecision(*ci, threshold=0.10, n=n, ois=86)
    assert domain.downgrade == expected


def test_optimal_information_sizes_follow_the_textbook_formulas():
    p0, p1 = 0.10, 0.20
    by_hand = ((Z975 * np.sqrt(p0 * (1 - p0)) + Z80 * np.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2
    assert grade.ois_proportion(p0, p1) == int(np.ceil(by_hand)) == 86
    events = 4 * (Z975 + Z80) ** 2 / np.log(0.75) ** 2  # Schoenfeld, 1:1 allocation
    assert grade.ois_hazard_ratio(0.75) == int(np.ceil(events)) == 380
    with pytest.raises(ParameterError):
        grade.ois_hazard_ratio(1.0)
    with pytest.raises(ParameterError):
        grade.ois_proportion(0.2, 0.2)


# ---- risk of bias --------------------------------------------------------------------------------------

def _arms(concern, weight):
    return pd.DataFrame({"label": [f"arm {i}" for i in range(len(concern))], "concern": concern, "weight": weight})


@pytest.mark.parametrize("concern, weight, majority, any_arm", [
    ([True, False], [50, 50], 0, 1),          # exactly half the weight: not more than half
    ([True, False], [50.1, 49.9], 1, 1),
    ([False, False, False], [1, 1, 1], 0, 0),
    ([True, True, False], [10, 10, 80], 0, 1),
])
def test_risk_of_bias_rules(concern, weight, majority, any_arm):
    assert grade.risk_of_bias(_arms(concern, weight), "weight-majority").downgrade == majority
    assert grade.risk_of_bias(_arms(concern, weight), "any-arm").downgrade == any_arm
    with pytest.raises(ParameterError):
        grade.risk_of_bias(_arms(concern, weight), "majority")


@pytest.mark.parametrize("tool, judgments, concern", [
    ("RoB 2", ["low", "unknown", "unknown", "low", "some concerns"], False),          # 2 of 5 < half
    ("RoB 2", ["low", "unknown", "unknown", "high", "some concerns"], True),          # overall high
    ("RoB 2", ["unknown", "unknown", "unknown", "low", "low"], True),                 # 3 of 5
    ("MINORS", ["2", "unknown", "2", "2", "unknown", "unknown", "unknown", "2"], True),   # 4 of 8 = half
    ("MINORS", ["2", "unknown", "2", "2", "1", "unknown", "unknown", "2"], False),        # 3 of 8
    ("MINORS", ["2", "0", "0", "2", "0", "unknown", "1", "2"], True),                    # worst level counts
])
def test_an_arm_is_of_concern_by_the_stated_rule(tool, judgments, concern):
    assert grade.arm_concern(pd.Series(judgments), tool)["concern"] is concern


def test_an_unrated_arm_is_of_concern():
    assert grade.arm_concern(pd.Series([], dtype=str), None) == {
        "tool": "not rated", "domains": 0, "unknown_or_worst": 0, "overall": "unknown", "concern": True}


def test_rob2_overall_is_the_worst_domain_with_unknown_as_some_concerns():
    assert grade.rob2_overall(pd.Series(["low", "low", "unknown", "low", "low"])) == "some concerns"
    assert grade.rob2_overall(pd.Series(["low"] * 5)) == "low"
    assert grade.rob2_overall(pd.Series(["low", "high", "unknown", "low", "low"])) == "high"


# ---- indirectness, publication bias, the rating ----------------------------------------------------------

def test_indirectness_is_one_level_for_any_number_of_concerns_and_needs_reasons():
    assert grade.indirectness([]).downgrade == 0
    two = [{"kind": "comparator", "reason": "historical"}, {"kind": "surrogate endpoint", "reason": "PFS"}]
    assert grade.indirectness(two).downgrade == 1
    with pytest.raises(ParameterError):
        grade.indirectness([{"kind": "comparator", "reason": ""}])
    with pytest.raises(ParameterError):
        grade.indirectness([{"kind": "feelings", "reason": "x"}])


def test_publication_bias_is_tested_only_from_ten_arms():
    rng = np.random.default_rng(1)
    vi = rng.uniform(0.05, 0.5, 9)
    yi = rng.normal(0, np.sqrt(vi))
    nine = grade.publication_bias(yi, vi)
    assert (nine.downgrade, nine.assessable) == (0, False) and "k = 9 < 10" in nine.footnote


def test_egger_intercept_matches_least_squares_written_out():
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.05, 0.5, 12)
    se = np.sqrt(vi)
    yi = 0.8 * se + rng.normal(0, se)  # small-study effect built in
    x, y = 1 / se, yi / se
    design = np.column_stack([np.ones_like(x), x])
    coef, residual, *_ = np.linalg.lstsq(design, y, rcond=None)
    sigma2 = residual[0] / (len(y) - 2)
    se_intercept = np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[0, 0])
    egger = grade.egger_test(yi, vi)
    assert egger["intercept"] == pytest.approx(coef[0], rel=1e-10)
    assert egger["se"] == pytest.approx(se_intercept, rel=1e-10)
    assert grade.publication_bias(yi, vi).downgrade == int(egger["p"] < 0.10)


def _domain(name, down):
    return grade.Domain(name, down, "rule")


def test_certainty_starts_by_design_and_never_falls_below_very_low():
    domains = [_domain(n, 0) for n in grade.DOMAIN_NAMES]
    assert grade.rate("randomised", domains).symbols == "⊕⊕⊕⊕"
    assert grade.rate("single-arm", domains).label == "low"
    heavy = [_domain(n, 2) for n in grade.DOMAIN_NAMES]
    assert grade.rate("randomised", heavy).level == 1 and grade.rate("randomised", heavy).symbols == "⊕◯◯◯"
    one = [_domain(n, int(n == "imprecision")) for n in grade.DOMAIN_NAMES]
    assert grade.rate("randomised", one).label == "moderate"
    with pytest.raises(ParameterError):
        grade.rate("randomised", domains[:4])
    with pytest.raises(ParameterError):
        grade.rate("case series", domains)


# ---- the risk-of-bias table's loader ---------------------------------------------------------------------

def test_the_loader_names_file_line_column_and_allowed_values(tmp_path):
    table = pd.read_csv(rob_data.ROB_FILE, dtype=str, keep_default_na=False)
    bad = table.copy()
    bad.loc[3, "judgment"] = "moderate"          # not in any vocabulary
    bad.loc[20, "judgment"] = "low"              # a RoB 2 word on a MINORS row
    bad.loc[25, "quote"] = ""                    # a judgment without its quote
    path = tmp_path / "risk_of_bias.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError) as error:
        rob_data.load_risk_of_bias(path)
    message = str(error.value)
    assert "risk_of_bias.csv" in message and "line 5" in message and "'judgment'" in message
    assert "moderate" in message
    assert "judgment allowed for the tool" in message
    assert "quotes the sentence it rests on" in message


def test_the_curated_table_loads_and_every_trial_has_all_domains_of_its_tool():
    table = rob_data.load_risk_of_bias()
    assert rob_data.incomplete_trials(table) == {}
    assert set(table["tool"]) == {"RoB 2", "MINORS"}
