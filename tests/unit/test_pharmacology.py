"""osteobook.pharmacology: the GDSC2 matrix, the curated osteosarcoma lines, and the rank comparison."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from osteobook.datasets import gdsc
from osteobook.datasets.registry import fetch
from osteobook.stats import drug_response


@pytest.fixture(scope="module")
def response() -> pd.DataFrame:
    return gdsc.load_response(fetch("lqz_autophagy/GDSC2_Res.rds"))


def test_matrix_shape_and_ids(response):
    assert response.shape == (805, 198)
    assert response.index.is_unique and response.index.dtype.kind == "i"
    assert set(gdsc.VEGFR_TKIS) <= set(response.columns)


def test_values_are_natural_log_ic50_in_micromolar(response):
    """ln(µM) values: medians of a few units, range within about ±10 (exp gives 0.0002 to 24 000 µM)."""
    values = response.to_numpy()[np.isfinite(response.to_numpy())]
    assert -10 < values.min() < -5 and 5 < values.max() < 11
    assert 1 < np.median(values) < 5


def test_curated_lines_follow_the_gdsc_tissue_label():
    lines = gdsc.load_lines()
    assert lines["osteosarcoma"].sum() == 10
    assert set(lines.loc[~lines["osteosarcoma"], "cell_line"]) == {"SJSA-1"}
    for row in lines.itertuples():  # the quoted source row names the same line, id and tissue
        fields = row.quote.split(",")
        assert (fields[0], int(fields[1]), fields[8]) == (row.cell_line, row.cosmic_id, row.gdsc_tissue_descriptor_2)


def test_every_curated_line_is_in_the_matrix(response):
    assert set(gdsc.load_lines()["cosmic_id"]) <= set(response.index)


def test_compare_lines_by_hand():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 2.5], index=[1, 2, 3, 4, 5, 6])
    result = drug_response.compare_lines(values, {5, 6})
    # group (5.0, 2.5) vs others (1, 2, 3, 4): 5.0 beats 4 lines, 2.5 beats 2 -> 6 of 8 pairs
    assert result["prob_group_higher"] == pytest.approx(6 / 8)
    assert result["rank_biserial"] == pytest.approx(0.5)
    differences = [g - o for g in (5.0, 2.5) for o in (1, 2, 3, 4)]
    assert result["hodges_lehmann"] == pytest.approx(np.median(differences))
    # small untied groups: the exact permutation p-value (as R's wilcox.test), not the normal approximation
    assert result["p_method"] == "exact"
    assert result["p"] == pytest.approx(stats.mannwhitneyu([5.0, 2.5], [1, 2, 3, 4], method="exact").pvalue)


def test_compare_drugs_skips_drugs_with_too_few_group_lines():
    response = pd.DataFrame({"A_1": [1.0, 2.0, 3.0, 4.0], "B_2": [1.0, np.nan, np.nan, 4.0]}, index=[1, 2, 3, 4])
    table = drug_response.compare_drugs(response, ["A_1", "B_2"], {2, 3}, min_group=2)
    assert list(table["drug"]) == ["A_1"]
    assert list(drug_response.screened(response, ["A_1", "B_2"], {2, 3})["n_group"]) == [2, 0]


def test_percentiles_use_mid_ranks():
    values = pd.Series([10.0, 20.0, 30.0, 40.0], index=[1, 2, 3, 4])
    assert list(drug_response.percentiles(values, {1, 4})) == [12.5, 87.5]


def test_drug_label():
    assert drug_response.drug_label("Wee1 Inhibitor_1046") == "Wee1 Inhibitor (GDSC 1046)"
