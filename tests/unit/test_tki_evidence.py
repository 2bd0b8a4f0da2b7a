"""osteobook.chapters.tki: arm selection and landmark harmonisation, on small hand-made tables; its figures."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from osteobook.chapters import tki as te
from osteobook.engine.params import load_chapter
from osteobook.plots.drugs import response_figure
from osteobook.plots.forest import forest_plot
from osteobook.stats import benchmark as benchmark_tests
from osteobook.stats import landmarks
from osteobook.stats import meta_analysis as ma


def arm(arm_id: str, drug_class: str, endpoint: str, weeks: float | None, estimator: str,
        events: int | None, n: int, estimate: float) -> dict:
    return {"arm_id": arm_id, "trial_id": arm_id, "trial_label": f"{arm_id} (cohort)", "arm_label": "drug",
            "drug_class": drug_class, "tki_family": "multi-target VEGFR", "endpoint": endpoint,
            "landmark_weeks": weeks, "landmark_label": None, "estimator": estimator,
            "events": pd.NA if events is None else events, "n": n, "estimate": estimate,
            "ci_low": None, "ci_high": None, "ci_level": None, "status": "verified", "comparator_arm_id": None}


@pytest.fixture()
def evidence() -> pd.DataFrame:
    rows = [
        arm("A", "TKI", "pfs_landmark", 17.4, "kaplan-meier", None, 30, 0.45),
        arm("A", "TKI", "pfs_landmark", 17.4, "binomial (missing = failure)", 10, 30, 10 / 30),
        arm("A", "TKI", "pfs_landmark", 26.1, "crude", 8, 30, 8 / 30),
        arm("B", "TKI + chemotherapy", "pfs_landmark", 16.0, "reported", None, 20, 0.62),
        arm("C", "TKI", "pfs_landmark", 12.0, "reported", None, 25, 0.8),
        arm("D", "ICI", "pfs_landmark", 17.4, "crude", 2, 20, 0.1),
        arm("A", "TKI", "orr", None, "crude", 3, 30, 0.1),
        arm("D", "ICI", "orr", None, "crude", 1, 20, 0.05),
    ]
    table = pd.DataFrame(rows)
    table["events"] = table["events"].astype("Int64")
    return table


def test_only_tki_arms_are_kept(evidence):
    assert set(te.tki_arms(evidence)["arm_id"]) == {"A", "B", "C"}
    assert list(te.response_table(evidence)["arm_id"]) == ["A"]


def test_kaplan_meier_preference_and_effective_counts(evidence):
    table = te.landmark_table(evidence, "16-18 weeks", "kaplan-meier").set_index("arm_id")
    assert set(table.index) == {"A", "B"}  # C's 12-week rate is outside the window
    assert table.at["A", "events"] == round(0.45 * 30) and table.at["A", "count_source"] == "estimate × n"
    assert table.at["B", "events"] == round(0.62 * 20)
    assert table.at["B", "regimen"] == "TKI combination"


def test_reported_ci_gives_the_effective_count(evidence):
    """A Kaplan–Meier rate with a CI enters with SE = (logit(hi) − logit(lo)) / (2z): events and n are then the
    effective counts, whose logit variance is that SE²; without a CI the rate stays round(rate × n)."""
    ci = evidence.copy()
    ci.loc[0, ["ci_low", "ci_high", "ci_level"]] = [0.28, 0.63, 0.95]
    table = te.landmark_table(ci, "16-18 weeks", "kaplan-meier", "reported-ci").set_index("arm_id")
    se = (np.log(0.63 / 0.37) - np.log(0.28 / 0.72)) / (2 * 1.959963984540054)
    assert table.at["A", "count_source"] == "reported CI"
    _, vi = ma.effect_sizes([table.at["A", "events"]], [table.at["A", "n"]])
    assert vi[0] == pytest.approx(se**2)
    assert table.at["A", "events"] / table.at["A", "n"] == pytest.approx(0.45)
    assert (table.at["A", "proportion"], table.at["A", "ci_low"], table.at["A", "ci_high"]) == (0.45, 0.28, 0.63)
    assert table.at["B", "count_source"] == "estimate × n" and table.at["B", "events"] == round(0.62 * 20)
    old = te.landmark_table(ci, "16-18 weeks", "kaplan-meier", "effective-count").set_index("arm_id")
    assert old.at["A", "events"] == round(0.45 * 30) and old.at["A", "count_source"] == "estimate × n"


def test_clinical_benefit_is_never_a_landmark_pfs(evidence):
    rows = pd.concat([evidence, pd.DataFrame([arm("E", "TKI", "pfs_landmark", 18.0, "crude", 0, 12, 0.0)])])
    rows.loc[rows["arm_id"] == "E", "landmark_label"] = "18 weeks (clinical benefit: CR+PR+SD)"
    rows["events"] = rows["events"].astype("Int64")
    assert "E" not in set(te.landmark_table(rows, "16-18 weeks")["arm_id"])
    assert "E" not in set(landmarks.near_landmark(rows.assign(rate=0.1, low=0.0, high=0.2), 17.4, 2.0)["arm_id"])


def test_binomial_preference_uses_the_reported_count(evidence):
    table = te.landmark_table(evidence, "16-18 weeks", "binomial").set_index("arm_id")
    assert table.at["A", "events"] == 10 and table.at["A", "count_source"] == "reported count"


def test_rules_change_which_landmarks_count(evidence):
    assert set(te.landmark_table(evidence, "4 months only")["arm_id"]) == {"A"}
    wide = te.landmark_table(evidence, "12-26 weeks").set_index("arm_id")
    assert set(wide.index) == {"A", "B", "C"}
    assert wide.at["A", "landmark_weeks"] == 17.4  # the landmark nearest 4 months wins over 6 months


def test_unknown_rule_is_refused(evidence):
    with pytest.raises(ValueError):
        te.landmark_table(evidence, "3 months")


def test_benchmark_comparison_by_hand():
    """Published representation (default): logit(0.12) with the SE of its CI; count: 11/96 throughout."""
    benchmark = pd.Series({"events": 11, "n": 96, "estimate": 0.12, "ci_low": 0.06, "ci_high": 0.19})
    pooled = ma.pool_proportions([20, 25], [40, 50])
    result = benchmark_tests.pooled_versus(pooled, benchmark, "logit")
    logit = lambda p: np.log(p / (1 - p))
    bench_v = ((logit(0.19) - logit(0.06)) / (2 * 1.959963984540054)) ** 2
    z = (pooled["estimate"] - logit(0.12)) / (pooled["se"] ** 2 + bench_v) ** 0.5
    assert result["z"] == pytest.approx(z)
    assert result["difference"] == pytest.approx(pooled["proportion"] - 0.12)
    assert result["ci_low_above_benchmark_ci"]
    count = benchmark_tests.pooled_versus(pooled, benchmark, "logit", "count")
    bench_y, bench_v = ma.effect_sizes([11], [96])
    z = (pooled["estimate"] - bench_y[0]) / (pooled["se"] ** 2 + bench_v[0]) ** 0.5
    assert count["z"] == pytest.approx(z)
    assert count["difference"] == pytest.approx(pooled["proportion"] - 11 / 96)


def test_forest_plot_lists_every_arm(evidence):
    table = te.landmark_table(evidence, "12-26 weeks")
    pooled = ma.pool_proportions(table["events"], table["n"])
    fig = forest_plot(te.add_weights(table, "logit", pooled["tau2"]), pooled, "rate", "Pooled",
                      benchmark=(0.12, 0.06, 0.19, "benchmark"))
    texts = {text.get_text() for text in fig.axes[0].texts}
    assert set(table["label"]) <= texts and "100%" in texts
    assert te.add_weights(table, "logit", pooled["tau2"])["weight"].sum() == pytest.approx(100)
    plt.close(fig)


def test_response_figure_jitter_follows_the_seed():
    response = pd.DataFrame({"Drug_1": np.linspace(-2, 3, 12)}, index=range(1, 13))

    def group_points(seed: int) -> np.ndarray:
        fig = response_figure(response, ["Drug_1"], {1, 2, 3}, seed)
        points = fig.axes[0].collections[0].get_offsets()
        plt.close(fig)
        return np.asarray(points)

    assert len(group_points(1)) == 3
    assert np.array_equal(group_points(1), group_points(1))
    assert not np.array_equal(group_points(1), group_points(2))


def test_parameter_choices_match_the_code():
    """The chapter's declared choices are exactly what the code implements."""
    spec = load_chapter("tki").parameters
    assert spec["landmark_rule"]["choices"] == list(landmarks.LANDMARK_RULES)
    assert spec["landmark_estimator"]["choices"] == list(landmarks.ESTIMATOR_PREFERENCES)
    assert spec["subgroup"]["choices"] == list(te.SUBGROUPS)
    assert spec["transform"]["choices"] == list(ma.MEASURES)
    assert spec["tau2_method"]["choices"] == list(ma.TAU2_METHODS)


def test_clearance_reads_an_interval_against_both_rules():
    """Rule 1: CI above the benchmark's upper bound; rule 2: CI above multiplier × that bound (COG: 2 ×)."""
    bench = pd.Series({"ci_high": 0.19})
    assert benchmark_tests.activity_bar(bench) == pytest.approx(0.38)
    clear = benchmark_tests.clearance(0.385, 0.569, bench)
    assert (clear["ci_separation"], clear["activity_bar_cleared"], clear["verdict"]) == (True, True, "important")
    borderline = benchmark_tests.clearance(0.331, 0.568, bench)
    assert (borderline["ci_separation"], borderline["activity_bar_cleared"]) == (True, False)
    assert borderline["verdict"] == "gain_uncertain_size"
    assert benchmark_tests.clearance(0.331, 0.568, bench, multiplier=1.5)["activity_bar_cleared"] is True
    assert benchmark_tests.clearance(0.10, 0.45, bench)["verdict"] == "inconclusive"
    assert benchmark_tests.clearance(0.10, 0.30, bench)["verdict"] == "against"
    with pytest.raises(Exception, match="must exceed 1"):
        benchmark_tests.activity_bar(bench, 1.0)
