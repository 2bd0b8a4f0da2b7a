"""osteobook.chapters.ici: every glued value exists, the rules behave as stated, and hand-checked numbers."""
from __future__ import annotations

import math
import re
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from osteobook.chapters import certainty, ici
from osteobook.datasets import ici_tables
from osteobook.engine.params import load_chapter
from osteobook.errors import ParameterError
from osteobook.paths import NOTEBOOKS
from osteobook.plots import ici_figures
from tests.conftest import check_glue_contract

NOTEBOOK = (NOTEBOOKS / "ici.md").read_text()


@pytest.fixture(scope="module")
def result() -> ici.Ici:
    return ici.analyse(**load_chapter("ici").defaults())


def test_every_glue_name_in_the_notebook_is_provided(result):
    check_glue_contract(NOTEBOOK, {**result.glue, **certainty.sof_glue("ici")})


def test_results_hold_no_parameters(result):
    assert set(result.results) == {"trials", "isg", "cibersort", "gse21257", "caf_link"}


def test_exercises_are_gated_and_labelled():
    labels = re.findall(r"^:::\{exercise\}\n:label: (\S+)", NOTEBOOK, flags=re.MULTILINE)
    assert len(labels) >= 4
    for label in labels:
        assert f":::{{solution-start}} {label}" in NOTEBOOK
    assert NOTEBOOK.count(":::{solution-start}") == NOTEBOOK.count(":::{solution-end}")


# ---- hand-checked numbers ------------------------------------------------------------------------

def test_exact_upper_bound_for_zero_of_31_by_hand(result):
    """0/31: two-sided 95% Clopper–Pearson upper limit 1 - 0.025^(1/31) = 11.2%; one-sided 1 - 0.05^(1/31)."""
    assert result.glue["zero_n"] == 31
    assert result.glue["zero_upper"] == pytest.approx(1 - 0.025 ** (1 / 31), abs=1e-10)
    assert result.glue["zero_upper"] == pytest.approx(0.1122, abs=5e-5)
    assert result.glue["zero_upper_one"] == pytest.approx(1 - 0.05 ** (1 / 31), abs=1e-10)
    assert result.glue["zero_rule3"] == pytest.approx(3 / 31)


def test_upper_bound_matches_beta_quantile():
    assert ici.upper_bound([1, 5, 7], [22, 40, 7], 0.95) == pytest.approx(
        [stats.beta.ppf(0.95, 2, 21), stats.beta.ppf(0.95, 6, 35), 1.0])


def test_ici_alone_posterior_by_hand(result):
    """ICI alone pooled counts under Jeffreys: Beta(0.5 + x, 0.5 + n - x)."""
    x, n = result.glue["alone_events"], result.glue["alone_n"]
    assert result.glue["alone_p10"] == pytest.approx(stats.beta.sf(0.10, 0.5 + x, 0.5 + n - x), rel=1e-10)


def test_newcombe_interval_by_hand():
    """Newcombe's hybrid score interval from two Wilson intervals (Newcombe 1998, method 10)."""
    z = stats.norm.ppf(0.975)

    def wilson(x, n):
        p = x / n
        centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * math.sqrt(
            p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half, centre + half

    got = ici.compare_counts(9, 43, 16, 37)
    (l1, u1), (l2, u2), p1, p2 = wilson(9, 43), wilson(16, 37), 9 / 43, 16 / 37
    d = p1 - p2
    assert got["ci_low"] == pytest.approx(d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), abs=1e-10)
    assert got["ci_high"] == pytest.approx(d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2), abs=1e-10)
    assert got["fisher_p"] == pytest.approx(stats.fisher_exact([[9, 34], [16, 21]])[1])


def test_glmm_difference_is_a_wald_test():
    fits = {"a": {"estimate": -1.6, "se": 0.35}, "b": {"estimate": -4.2, "se": 1.0}}
    got = ici.glmm_difference(fits, "a", "b")
    z = 2.6 / math.sqrt(0.35**2 + 1.0**2)
    assert got["q"] == pytest.approx(z**2) and got["p"] == pytest.approx(2 * stats.norm.sf(z))
    assert got["odds_ratio"] == pytest.approx(math.exp(2.6))


# ---- rules ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("direction,predicted,p,expected", [
    (0.5, 1, 0.01, "Supported"), (-0.5, 1, 0.01, "Evidence against"), (0.5, 1, 0.2, "Inconclusive"),
    (-0.3, -1, 0.001, "Supported")])
def test_verdict_rule(direction, predicted, p, expected):
    assert ici.verdict_from_test(direction, predicted, p, 0.05) == expected


def evidence_rows() -> pd.DataFrame:
    """Three ORR rows: the paediatric aggregate, one of its trials, and an adult trial."""
    base = {"endpoint": "orr", "drug_class": "ICI", "regimen": "ICI alone", "agents": "x", "status": "verified",
            "source_kind": "primary"}
    return pd.DataFrame([
        {**base, "outcome_id": "A", "arm_id": ici.PAEDIATRIC_AGGREGATE, "trial_id": "PEDIATRIC_ICI_POOLED",
         "trial_label": "Paediatric (pooled)", "events": 0, "n": 31},
        {**base, "outcome_id": "B", "arm_id": "IMATRIX_ATEZOLIZUMAB_OS", "trial_id": "IMATRIX",
         "trial_label": "iMATRIX", "events": 0, "n": 10},
        {**base, "outcome_id": "C", "arm_id": "SARC028_OS", "trial_id": "SARC028", "trial_label": "SARC028",
         "events": 1, "n": 22}])


def test_paediatric_aggregate_and_its_trials_are_never_pooled_together():
    aggregate = ici.response_arms(evidence_rows(), "aggregate")
    per_trial = ici.response_arms(evidence_rows(), "per_trial")
    assert set(aggregate["arm_id"]) == {ici.PAEDIATRIC_AGGREGATE, "SARC028_OS"}
    assert set(per_trial["arm_id"]) == {"IMATRIX_ATEZOLIZUMAB_OS", "SARC028_OS"}


def test_coverage_rule():
    table = ici.coverage({"a": ["G1", "G2"], "b": ["G1", "G3", "G4"]}, ["G1", "G2"])
    assert list(table["scored"]) == [True, False]
    assert list(table["missing"]) == ["none", "G3, G4"]


def test_pooled_arms_are_osteosarcoma_specific_ici_arms(result):
    arms = result.trial.arms
    assert arms["osteosarcoma_specific"].all() and arms["drug_class"].str.contains("ICI").all()
    assert not result.trial.context["osteosarcoma_specific"].any()
    assert result.glue["ici_k"] == len(arms) and result.glue["ici_patients"] == arms["n"].sum()


def test_gene_sets_table_has_sources():
    table = ici_tables.load_gene_sets()
    assert {"T-cell-inflamed GEP", "IFN-γ (10 genes)", "Cytotoxic cells", "Macrophages"} == set(table["set"])
    assert len(ici_tables.gene_sets(table)["T-cell-inflamed GEP"]) == 18
    assert table["quote"].str.len().gt(20).all() and table["source_url"].str.startswith("http").all()


def test_every_gene_of_a_set_appears_in_its_quote():
    table = ici_tables.load_gene_sets()
    for row in table.itertuples():
        assert row.source_symbol in row.quote, row.gene


def test_anchor_values_appear_in_their_quotes():
    for row in ici_tables.load_anchors().itertuples():
        for value in (row.estimate, row.ci_low, row.ci_high):
            assert any(f"{value:{fmt}}" in row.quote for fmt in ("g", ".2f", ".3f")), (row.anchor_id, value)


def test_a_bad_prior_is_refused():
    arguments = load_chapter("ici").defaults()
    with pytest.raises(ParameterError, match="prior"):
        ici.trial_responses(arguments["include_unverified"], "aggregate", "sceptical", 0.05)


def test_figure_inputs(result):
    pooled = ici.pooled_glmm(result.trial)
    assert set(pooled["group"]) == set(ici.GROUPS)
    assert set(ici.posterior_parameters(result.trial, "jeffreys")) == {"ICI alone", "ICI + TKI"}
    ours, anchors = ici.anchor_comparison(result.isg)
    assert len(ours) == 4 and np.all(anchors["estimate"] > 0)


def test_figures_are_drawn_from_the_result(result):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the HTML build treats warnings as errors
        figures = [
            ici_figures.response_figure(result.trial.arms, ici.pooled_glmm(result.trial),
                                        ici.posterior_parameters(result.trial, "jeffreys"), ici.THRESHOLDS, "Jeffreys"),
            ici_figures.survival_forest(result.isg.cox, ici.ENDPOINTS),
            ici_figures.anchor_figure(*ici.anchor_comparison(result.isg)),
            ici_figures.replication_figure(result.cibersort.cox, result.replication.comparison, result.replication.cox,
                                           result.isg.cox.loc[result.isg.cox["endpoint"] == "OS"]),
            ici_figures.correlation_heatmap(result.link.pairs, 0.05),
        ]
    try:
        assert [len(f.axes) for f in figures] == [2, 2, 1, 2, 3]  # the heatmap adds a colour bar
        stars = [t for t in figures[-1].axes[1].texts if t.get_text().endswith(" *")]
        gse = result.link.pairs.loc[result.link.pairs["cohort"] == "GSE21257"]
        assert len(stars) == int((gse["q"] < 0.05).sum())
    finally:
        for figure in figures:
            plt.close(figure)


def test_exclusion_verdict_carries_the_purity_caveat():
    """Significant bulk pairs count only if a positive correlation survives ESTIMATE adjustment (which is biased
    towards negative values); otherwise the verdict is 'not interpretable without purity adjustment'."""
    none_left = ici._exclusion_verdict(2, 0, 24, 0.05, {"removed": 1, "negative": 1, "positive": 0})
    assert none_left.startswith("Not interpretable without purity adjustment:")
    positive = ici._exclusion_verdict(0, 6, 24, 0.05, {"removed": 3, "negative": 1, "positive": 2})
    assert positive.startswith("Evidence against:") and "above 0 for 2" in positive
    assert ici._exclusion_verdict(1, 2, 24, 0.05, {"removed": 0, "negative": 1, "positive": 2}).startswith("Mixed")
    assert ici._exclusion_verdict(0, 0, 24, 0.05, {"removed": 0, "negative": 0, "positive": 0}).startswith(
        "Inconclusive")
    for verdict in (none_left, positive):
        assert verdict.split(":")[0] in ici.EXCLUSION_SENTENCES


def test_purity_checked_cxcl12_row():
    pair = pd.Series({"purity_low": -0.1, "purity_high": 0.4})
    assert ici._purity_checked("Evidence against", pair) == "Not interpretable without purity adjustment"
    assert ici._purity_checked("Supported", pd.Series({"purity_low": -0.6, "purity_high": -0.2})) \
        == "Not interpretable without purity adjustment"
    assert ici._purity_checked("Evidence against", pd.Series({"purity_low": 0.01, "purity_high": 0.5})) \
        == "Evidence against"
    assert ici._purity_checked("Inconclusive", pair) == "Inconclusive"


def test_default_caf_link_verdict_follows_the_adjusted_pairs(result):
    pairs = result.link.pairs
    significant = pairs.loc[pairs["q"] < 0.05]
    positive = int((significant["purity_low"] > 0).sum())
    verdict = str(result.link.glue["caf_verdict"])
    assert f"above 0 for {positive}" in verdict
    assert verdict.startswith("Evidence against" if positive else "Not interpretable without purity adjustment")
    assert ((pairs["purity_low"] < pairs["rho_purity"]) & (pairs["rho_purity"] < pairs["purity_high"])).all()
