"""osteobook.chapters.ferroptosis: every glued name exists, hand-checked numbers, layer rules."""
from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from osteobook.chapters import ferroptosis
from osteobook.models import ros
from osteobook.paths import NOTEBOOKS
from osteobook.plots import ferroptosis_figures
from osteobook.plots import model as model_figures

CHAPTER = NOTEBOOKS / "ferroptosis.md"
DEFAULTS = {name: spec["default"] for name, spec in
            yaml.safe_load((NOTEBOOKS / "ferroptosis.params.yaml").read_text())["parameters"].items()}


@pytest.fixture(scope="module")
def p():
    return ferroptosis.load_parameters()


@pytest.fixture(scope="module")
def model(p):
    return ferroptosis.analyse_model(p, DEFAULTS["erastin_min"], DEFAULTS["erastin_max"], 12)


@pytest.fixture(scope="module")
def caf(p):
    return ferroptosis.analyse_caf(p, DEFAULTS["caf_scenario"], DEFAULTS["caf_levels"], DEFAULTS["caf_max"],
                                   DEFAULTS["erastin_min"], DEFAULTS["erastin_max"])


@pytest.fixture(scope="module")
def sensitivity(p):
    return ferroptosis.analyse_sensitivity(p, DEFAULTS["seed"], 200, DEFAULTS["decidable_span"])


@pytest.fixture(scope="module")
def response():
    return ferroptosis.analyse_response(DEFAULTS["seed"], DEFAULTS["response_definition"], DEFAULTS["probe_collapse"],
                                       DEFAULTS["scoring_method"], DEFAULTS["gene_set"], 2000,
                                       DEFAULTS["include_unverified"])


@pytest.fixture(scope="module")
def survival():
    return ferroptosis.analyse_survival(DEFAULTS["scoring_method"], DEFAULTS["ambiguous_genes"], DEFAULTS["important_hr"])


def test_every_glued_name_in_the_page_is_published(model, caf, sensitivity, response, survival):
    text = CHAPTER.read_text()
    used = set(re.findall(r"\{glue:(?:text|md)\}`([A-Za-z_0-9]+)", text)) | set(re.findall(r"```\{glue:figure\} (\w+)", text))
    figures = set(re.findall(r'publish_figure\("(\w+)"', text))
    glued = {**model.glue, **caf.glue, **sensitivity.glue, **response.glue, **survival.glue}
    assert used and not used - set(glued) - figures
    assert not figures - used, "a published figure is never shown"


def test_folds_give_the_erastin_window_by_hand(model, p):
    # Fold multipliers -> stress S = 1/m - 1 -> erastin E = e_half S / (s_max - S).
    for name, low, high in (("onset", 0.39, 0.40), ("collapse", 11.73, 11.74)):
        fold = model.folds.loc[name]
        s = 1 / fold["m"] - 1
        assert fold["erastin"] == pytest.approx(p.e_half * s / (p.s_max - s), rel=1e-12)
        assert low < fold["erastin"] < high
        assert abs(ros.rate(fold["x"], fold["m"], p)) < 1e-10
    assert model.glue["theta_collapse"] == pytest.approx((1 / model.folds.loc["collapse", "m"] - 1) / p.s_max)
    assert model.glue["n_states_paper"] == 3 == len(model.paper_states)


def test_sweeps_jump_at_the_first_dose_past_each_fold(model):
    doses = model.sweep["erastin"]
    assert model.glue["jump_up"] == doses[doses > model.glue["e_collapse"]].min()
    assert model.glue["jump_down"] == doses[doses > model.glue["e_onset"]].min()
    assert model.glue["n_doses"] == len(doses) == 12
    assert model.time_courses["start"].nunique() == 4


def test_bypass_ceiling_by_hand(caf, model, p):
    # Bypass: m = (1 - a)/(1 + S) + a; at S = s_max the collapse multiplier is reached when
    # a = ((1 + s_max) m - 1) / s_max.
    m = model.folds.loc["collapse", "m"]
    assert caf.glue["crit_bypass"] == pytest.approx(((1 + p.s_max) * m - 1) / p.s_max, abs=1e-9)
    assert caf.glue["grid_agree"] == caf.glue["grid_total"] == 24 * 12
    table = ferroptosis.threshold_table(caf.thresholds, "bypass").data
    assert list(table["CAF support a"]) == ["0", "0.01", "0.02", "0.05", "0.1", "0.2"]
    assert table["ferroptosis from (µM erastin)"].iloc[-1] == "never"
    assert table["inhibitor dose (× its IC50)"].iloc[-1] == "none suffices"


def test_response_split_and_tests(response):
    assert (response.glue["n_good"], response.glue["n_poor"]) == (10, 11)
    assert list(response.per_gene.index) == ["SLC7A11", "SLC3A2", "GCLC", "GSS", "GPX4"]
    holm = np.minimum(1, np.maximum.accumulate(np.sort(response.per_gene["p"]) * np.arange(5, 0, -1)))
    assert np.sort(response.per_gene["p_holm"]) == pytest.approx(holm)
    assert response.glue["g_gpx4"] == response.per_gene.loc["GPX4", "hedges_g"] > 1
    probes = ferroptosis.probe_table(response.probes).data
    assert probes.columns.tolist() == ["gene", "probe_id", "FerrDb class", "status", "source and quote"]
    assert probes["source and quote"].str.contains("<details").all()


def test_seed_drives_the_permutations():
    def p_score(seed):
        return ferroptosis.analyse_response(seed, "geo_label", "max_mean", "mean_z", "core_axis", 1000, False).glue["p_score"]

    assert p_score(1) == p_score(1)
    assert p_score(1) != p_score(2)


def test_without_gpx4_its_values_are_missing():
    result = ferroptosis.analyse_response(1, "geo_label", "max_mean", "mean_z", "xct_system", 1000, False)
    assert math.isnan(result.glue["g_gpx4"]) and math.isnan(result.glue["p_gpx4_holm"])


def test_survival_model_rows(survival):
    assert survival.cox["term"].tolist() == ["signed", "drivers", "suppressors", "NFE2L2"]
    assert survival.glue["n_surv"] == 138  # 139 tumours, one with zero follow-up dropped
    assert survival.glue["hr_signed_low"] < survival.glue["hr_signed"] < survival.glue["hr_signed_high"]


def test_key_results_have_every_part_and_no_parameters(model, caf, sensitivity, response, survival):
    results = ferroptosis.key_results(model, caf, sensitivity, response, survival)
    assert "parameters" not in results
    assert {"fold_onset", "hysteresis", "critical_caf", "sensitivity", "fold_match", "gse87437", "survival",
            "model_parameters"} <= set(results)


def test_figures_take_the_result_numbers(model, caf, sensitivity, response, survival):
    figures = [
        model_figures.sensitivity_figure(sensitivity.oat_summary, sensitivity.draws,
                                         {"collapse": caf.glue["crit_bypass"], "onset": caf.glue["crit_bypass_onset"]},
                                         sensitivity.band),
        model_figures.steady_state_figure(model.curve, model.folds, model.sweep, ferroptosis.PAPER_DOSE,
                                          model.paper_states, model.time_courses),
        model_figures.caf_figure(caf.curves, "bypass", DEFAULTS["caf_levels"], (0.01, 100.0), DEFAULTS["caf_max"]),
        ferroptosis_figures.response_figure(response.score, response.response, response.per_gene),
        ferroptosis_figures.survival_figure(survival.cox),
    ]
    assert [len(f.axes) for f in figures] == [2, 2, 2, 2, 1]
    for figure in figures:
        plt.close(figure)


def test_ceiling_rule_by_hand():
    # A narrow band with priming inside it: questioned; a wide band or priming beyond the band: not decidable.
    narrow, inside = {"p5": 0.02, "p95": 0.05}, {"p5": 0.03, "p95": 0.5}
    assert ferroptosis.ceiling_verdict(narrow, inside, 10) == ("questioned", [])
    assert ferroptosis.ceiling_verdict(narrow, inside, 2) == ("not_decidable", ["span"])
    assert ferroptosis.ceiling_verdict({"p5": 0.0, "p95": 0.05}, inside, 1000) == ("not_decidable", ["span"])
    assert ferroptosis.ceiling_verdict(narrow, {"p5": 0.2, "p95": 0.9}, 10) == ("not_decidable", ["priming"])


def test_sensitivity_reports_the_referees_numbers(sensitivity, model):
    # m needed for collapse vs the floor reached by maximal erastin, and the one-at-a-time ranges of issue 15.
    assert model.glue["m_collapse"] == pytest.approx(0.112, abs=5e-4)
    assert model.glue["m_floor"] == pytest.approx(1 / 11)
    glue = sensitivity.glue
    assert (round(glue["oat_smax_low"], 4), round(glue["oat_smax_high"], 3)) == (0.0005, 0.067)
    assert (round(glue["oat_kg_low"], 3), round(glue["oat_kg_high"], 3)) == (0.002, 0.053)
    assert glue["band_collapse_p5"] <= glue["band_collapse_median"] <= glue["band_collapse_p95"]
    assert sensitivity.verdict == "not_decidable"
    assert str(glue["ceiling_verdict"]).startswith("**Not decidable by this model**")


def test_survival_verdicts_follow_the_rule(survival):
    cox = survival.cox.set_index("term")
    assert cox.loc["drivers", "verdict"] == "gain_uncertain_size"  # 0.73 (0.54-0.97), claim HR < 1, important 1/1.5
    assert cox.loc["signed", "verdict"] == "against"                # 0.88 (0.67-1.15): excludes 1/1.5 = 0.667
    assert "HR 0.73 per SD (95% CI 0.54–0.97), p = 0.033" in survival.glue["driver_text"]
    assert survival.glue["n_drivers_autophagy"] == survival.glue["n_drivers"] == len(survival.results["survival"]["drivers"])


def test_survival_alt_text_is_generated_from_the_rows():
    cox = pd.DataFrame({"label": ["a", "b", "c"], "hr": [0.7, 1.0, 1.6], "ci_low": [0.5, 0.8, 1.1],
                        "ci_high": [0.9, 1.2, 2.3]})
    alt = ferroptosis.survival_alt(cox)
    assert "a (0.50 to 0.90) lies below 1; c (1.10 to 2.30) lies above 1" in alt
    assert alt.endswith("the other 1 interval crosses 1.")
    assert ferroptosis.survival_alt(cox.iloc[[1]]).endswith(": the interval crosses 1.")


def test_the_page_alt_text_is_the_generated_one(survival):
    page = CHAPTER.read_text()
    block = page[page.index("```{glue:figure} fig_survival"):]
    assert re.search(r":alt: (.*)", block).group(1) == "{glue:text}`survival_alt`"  # filled by engine.alt_text
    assert survival.glue["survival_alt"].startswith("Forest plot of")
