"""osteobook.chapters.mtor and its helpers: glue for every name the page uses, a one-to-one GSE21257 join
checked against a hand-read row, hand-computed scores, and the decision rule."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from osteobook.chapters import certainty, mtor
from osteobook.datasets import gse21257, mtor_tables
from osteobook.engine.params import load_chapter
from osteobook.errors import ParameterError
from osteobook.paths import NOTEBOOKS
from osteobook.stats import decision, pathway
from tests.conftest import check_glue_contract

NOTEBOOK = (NOTEBOOKS / "mtor.md").read_text()


@pytest.fixture(scope="module")
def result() -> mtor.Mtor:
    """The chapter with its defaults, but fewer permutations (the book run uses the spec's default)."""
    return mtor.analyse(**{**load_chapter("mtor").defaults(), "n_permutations": 1000})


@pytest.fixture(scope="module")
def joined():
    return gse21257.join_survival()


def test_every_glue_name_in_the_notebook_is_provided(result):
    check_glue_contract(NOTEBOOK, {**result.glue, **certainty.sof_glue("mtor")})


def test_numbers_are_plain(result):
    assert not [k for k, v in result.glue.items() if isinstance(v, np.generic)]


def test_results_hold_no_parameters(result):
    assert set(result.results) == {"trials", "tumours", "cell_lines", "mir21_pik3r1", "claims"}


def test_the_gse21257_join_is_one_to_one_with_a_hand_checked_row(joined):
    """L1016 is GSM531306; clinical.txt line 27 reads 'GSM531306  300  1  Male  Metastases  17'."""
    _, table, metastasis = joined
    assert len(table) == 53 and table["gsm"].is_unique
    row = table.loc["L1016"]
    assert (row["gsm"], row["futime"], row["fustate"], row["Group"]) == ("GSM531306", 300, 1, "Metastases")
    assert bool(metastasis["L1016"]) is True  # lionessR's 5-year metastasis agrees with the clinical group
    assert (table["metastasis"] == (table["Group"] == "Metastases")).all()
    assert (table["r_best"] > table["r_second"]).all()


def test_signed_core_score_by_hand(joined):
    """Patient L1016: mean z of the activators present minus mean z of the inhibitors present."""
    expression = joined[0]
    core = mtor_tables.load_core_genes()
    up = [g for g in core.loc[core["role"] == "activator", "gene"] if g in expression.index]
    down = [g for g in core.loc[core["role"] == "inhibitor", "gene"] if g in expression.index]
    assert (up, down) == (["RICTOR", "RHEB"], ["TSC1", "TSC2", "PTEN"])

    def z(gene: str) -> float:
        values = expression.loc[gene].to_numpy(float)
        return (expression.at[gene, "L1016"] - values.mean()) / values.std(ddof=1)

    by_hand = np.mean([z(g) for g in up]) - np.mean([z(g) for g in down])
    score = pathway.signed_score(expression, list(core.loc[core["role"] == "activator", "gene"]),
                                 list(core.loc[core["role"] == "inhibitor", "gene"]), "mean_z")
    assert score["L1016"] == pytest.approx(by_hand, abs=1e-12)


def test_rank_score_by_hand():
    """Four genes, two samples, two-gene sets: mean ranks run from (k+1)/2 = 1.5 to N-(k-1)/2 = 3.5.

    s1 ranks A..D as 4, 3, 1, 2 and s2 as 1, 2, 3, 4: {A, B} has mean ranks 3.5 and 1.5 (scores 1 and 0),
    {A, C} has 2.5 and 2 (scores 0.5 and 0.25). Genes absent from the matrix (Z) are ignored.
    """
    matrix = pd.DataFrame({"s1": [9.0, 8.0, 1.0, 2.0], "s2": [1.0, 2.0, 8.0, 9.0]}, index=list("ABCD"))
    assert pathway.rank_score(matrix, ["A", "B", "Z"]).tolist() == [1.0, 0.0]
    assert pathway.rank_score(matrix, ["A", "C"]).tolist() == [0.5, 0.25]


def test_decision_rule_separates_inconclusive_from_evidence_against():
    assert decision.classify(0.25, 0.5, 0, 0.2) == "important"
    assert decision.classify(0.05, 0.5, 0, 0.2) == "gain_uncertain_size"
    assert decision.classify(0.05, 0.1, 0, 0.2) == "gain_small"
    assert decision.classify(-0.1, 0.3, 0, 0.2) == "inconclusive"
    assert decision.classify(-0.1, 0.15, 0, 0.2) == "against"
    assert decision.classify(-0.3, -0.1, 0, 0.2) == "worse"
    with pytest.raises(ParameterError):
        decision.classify(0, 1, 0.2, 0.1)


def test_wilson_and_newcombe_basic_properties():
    low, high = decision.wilson(0, 10)
    assert low == pytest.approx(0, abs=1e-12) and 0 < high < 0.35
    same = decision.rate_difference(5, 20, 5, 20)
    assert same["difference"] == 0 and same["ci_low"] < 0 < same["ci_high"]
    swapped = decision.rate_difference(5, 20, 9, 30)
    mirror = decision.rate_difference(9, 30, 5, 20)
    assert (swapped["ci_low"], swapped["ci_high"]) == pytest.approx((-mirror["ci_high"], -mirror["ci_low"]))


def test_fewer_than_three_comparable_arms_are_not_pooled(result):
    assert result.trials.pooled is None
    assert len(result.trials.landmarks) < mtor.MIN_POOL
    assert "no pooled estimate" in result.glue["pool_text"]
    strict = mtor.analyse_trials("16-18 weeks", "LAGMAY2016_EFS4", 0.2, False)
    assert set(strict.landmarks["landmark_weeks"]) <= {16.0, 17.4, 18.0}


def test_retrospective_series_stay_out_of_the_comparison(result):
    arms = result.trials.arms.set_index("arm_id")
    retro = arms.index[arms["design"] != "prospective trial"]
    assert len(retro) and not set(retro) & set(result.trials.landmarks["arm_id"])


def test_entry_points_refuse_values_outside_the_spec():
    with pytest.raises(ParameterError, match="landmark_rule"):
        mtor.analyse_trials("3 months", "LAGMAY2016_EFS4", 0.2, False)
    with pytest.raises(ParameterError, match="important_gain"):
        mtor.analyse_trials("12-26 weeks", "LAGMAY2016_EFS4", 0.9, False)


def test_bh_family_holds_only_the_pathway_scores(result):
    tests = result.tumours.tests
    assert set(tests.loc[tests["in_family"], "score"]) == set(mtor.PATHWAY_SETS)
    assert tests.loc[~tests["in_family"], "q"].isna().all()
    assert result.glue["n_family"] == 12


def test_curated_tables_load_and_every_row_is_sourced():
    for table in (mtor_tables.load_core_genes(), mtor_tables.load_gdsc_drugs(), mtor_tables.load_context()):
        assert table["quote"].str.len().gt(10).all() and table["source_url"].str.startswith("http").all()


def test_reader_tables(result):
    arms = mtor.arm_table(result).data
    assert len(arms) == len(result.trials.arms)
    assert arms["Sources and quotes"].str.contains("<details").all()
    assert len(mtor.test_table(result)) == len(result.tumours.tests)
    assert len(mtor.gdsc_table(result)) == result.glue["gdsc_n_tested"]
    assert mtor.coverage_table(result).shape == (4, 3)
