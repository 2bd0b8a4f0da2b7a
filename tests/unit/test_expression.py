"""Series-matrix parsing, probe collapse, scores and the permutation test (on small made-up tables)."""
import gzip
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from osteobook.datasets import expression as ex
from osteobook.datasets.registry import fetch
from osteobook.errors import DataError as CuratedDataError
from osteobook.errors import OsteobookError
from osteobook.stats import groups, scores

MATRIX = """!Series_title\t"A made-up series for tests"
!Sample_geo_accession\t"GSM1"\t"GSM2"\t"GSM3"
!Sample_characteristics_ch1\t"response to preoperative chemotherapy: GOOD"\t"response to preoperative chemotherapy: POOR"\t"response to preoperative chemotherapy: POOR"
!Sample_characteristics_ch1\t"tumor necrosis after preoperative chemotherapy (huvos grade): Huvos grade  3"\t"tumor necrosis after preoperative chemotherapy (huvos grade): Huvos grade  1"\t"tumor necrosis after preoperative chemotherapy (huvos grade): Huvos grade  4"
!series_matrix_table_begin
"ID_REF"\t"GSM1"\t"GSM2"\t"GSM3"
"p1_at"\t1\t2\t3
"p2_at"\t10\t20\t60
"p3_s_at"\t5\t5\t8
!series_matrix_table_end
"""


@pytest.fixture
def matrix_file(tmp_path):
    path = tmp_path / "GSE0_series_matrix.txt.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(MATRIX)
    return path


@pytest.fixture
def probe_map():
    return pd.DataFrame({"gene": ["A", "A", "B"], "probe_id": ["p1_at", "p2_at", "p3_s_at"]})


def test_series_matrix_is_parsed(matrix_file):
    series = ex.read_series_matrix(matrix_file)
    assert series.expression.shape == (3, 3)
    assert series.expression.loc["p2_at", "GSM3"] == 60
    assert series.samples.loc["GSM2", ex.RESPONSE_COLUMN] == "POOR"


def test_series_matrix_without_table_names_the_file(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text(MATRIX.split("!series_matrix_table_begin")[0])
    with pytest.raises(OsteobookError, match="broken.txt: no expression table"):
        ex.read_series_matrix(path)


def test_response_labels_from_label_or_huvos(matrix_file):
    samples = ex.read_series_matrix(matrix_file).samples
    assert ex.response_labels(samples).tolist() == ["GOOD", "POOR", "POOR"]
    assert ex.response_labels(samples, "huvos").tolist() == ["GOOD", "POOR", "GOOD"]
    with pytest.raises(OsteobookError, match="'response_definition' = 'necrosis' is not allowed"):
        ex.response_labels(samples, "necrosis")


def test_collapse_by_highest_mean_or_mean(matrix_file, probe_map):
    expression = ex.read_series_matrix(matrix_file).expression
    best = scores.collapse_probes(expression, probe_map, "max_mean")
    assert best.loc["A"].tolist() == [10, 20, 60] and best.loc["B"].tolist() == [5, 5, 8]
    assert scores.collapse_probes(expression, probe_map, "mean").loc["A"].tolist() == [5.5, 11, 31.5]
    with pytest.raises(OsteobookError, match="'probe_collapse' = 'median' is not allowed"):
        scores.collapse_probes(expression, probe_map, "median")
    with pytest.raises(OsteobookError, match=r"probe\(s\) \['p9_at'\]"):
        scores.collapse_probes(expression, pd.DataFrame({"gene": ["C"], "probe_id": ["p9_at"]}))


def test_scores_and_their_errors():
    expression = pd.DataFrame({"s1": [1.0, 2.0], "s2": [2.0, 4.0], "s3": [3.0, 9.0]}, index=["A", "B"])
    z = scores.zscore_rows(expression)
    assert z.loc["A"].tolist() == pytest.approx([-1, 0, 1])
    assert scores.gene_set_score(expression, ["A", "B", "Z"]).tolist() == pytest.approx(z.mean().tolist())
    with pytest.raises(OsteobookError, match="'scoring_method' = 'sum' is not allowed"):
        scores.gene_set_score(expression, ["A"], "sum")
    with pytest.raises(OsteobookError, match="none of the genes"):
        scores.gene_set_score(expression, ["Z"])
    with pytest.raises(OsteobookError, match=r"\['C'\] do not vary"):
        scores.zscore_rows(pd.DataFrame({"s1": [1.0], "s2": [1.0]}, index=["C"]))


def test_curated_probe_map_loads_with_sources():
    core = ex.load_probe_map()
    assert {"SLC7A11", "GPX4"} <= set(core["gene"]) and "GCLM" not in set(core["gene"])
    assert "GCLM" in set(ex.load_probe_map(include_unverified=True)["gene"])
    assert set(ex.load_probe_map(gene_set="xct_system")["gene"]) == {"SLC7A11", "SLC3A2"}
    assert core["source_url"].str.startswith("http").all()
    with pytest.raises(OsteobookError, match="'gene_set' = 'all' is not allowed"):
        ex.load_probe_map(gene_set="all")


def test_probe_map_with_a_bad_row_names_file_line_and_column(tmp_path):
    table = pd.read_csv(ex.GENES_FILE, dtype=str)
    table.loc[1, "probe_id"] = "not a probe"
    table.to_csv(tmp_path / "genes.csv", index=False)
    with pytest.raises(CuratedDataError, match=r"(?s)genes.csv.*line 3: column 'probe_id'"):
        ex.load_probe_map(tmp_path / "genes.csv")


def test_ferrdb_classes_separate_genes_on_both_sides():
    table = pd.DataFrame({"gene": ["A", "B", "B", "C"], "class": ["driver", "driver", "suppressor", "suppressor"]})
    assert ex.ferrdb_classes(table) == {"driver": ["A"], "suppressor": ["C"], "both": ["B"]}
    assert ex.ferrdb_classes(table, "both")["driver"] == ["A", "B"]
    with pytest.raises(OsteobookError, match="'ambiguous_genes' = 'drop' is not allowed"):
        ex.ferrdb_classes(table, "drop")


def test_registry_ferrdb_file_reads():
    table = ex.read_ferrdb(fetch("ferrdb/ferrdbhs.rda"))
    assert set(table["class"]) == {"driver", "suppressor"} and "GPX4" in set(table["gene"])


def test_hedges_g_by_hand():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0, 5.0])
    pooled = np.sqrt((2 * 1.0 + 3 * (5 / 3)) / 5)
    assert groups.hedges_g(a, b) == pytest.approx((2 - 3.5) / pooled * (1 - 3 / (4 * 7 - 9)))


def test_permutation_p_matches_exact_enumeration():
    rng = np.random.default_rng(7)
    values = pd.Series(rng.normal(size=9))
    labels = pd.Series(["POOR"] * 4 + ["GOOD"] * 5)
    observed = values[:4].mean() - values[4:].mean()
    splits = [values[list(c)].mean() - values.drop(list(c)).mean() for c in combinations(range(9), 4)]
    exact = np.mean(np.abs(splits) >= abs(observed) - 1e-12)
    result = groups.permutation_test(values, labels, "POOR", "GOOD", 20000, seed=1)
    assert result["p"] == pytest.approx(exact, abs=0.015)
    assert result["g_ci_low"] < result["hedges_g"] < result["g_ci_high"]
    with pytest.raises(OsteobookError, match=r"\['MIXED'\]"):
        groups.permutation_test(values, labels.replace({"GOOD": "MIXED"}), "POOR", "GOOD", 1000, 1)
