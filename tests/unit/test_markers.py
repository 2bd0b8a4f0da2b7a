"""Marker table, hypergeometric enrichment of cluster markers and cluster calls."""
from math import comb

import numpy as np
import pandas as pd
import pytest

from osteobook.datasets import markers
from osteobook.errors import DataError as CuratedDataError
from osteobook.errors import OsteobookError
from osteobook.stats import enrichment
from osteobook.stats.multiple_testing import adjust


def test_curated_table_loads_and_hides_unverified_rows():
    everything = markers.load_markers(include_unverified=True)
    default = markers.load_markers()
    assert set(everything["status"]) == {"verified", "secondary", "unverified"}
    assert "unverified" not in set(default["status"])
    assert len(default) == (everything["status"] != "unverified").sum()
    without_doi = everything["doi"].isna()
    assert set(everything.loc[without_doi, "source"]) == {"wuchengscos"}, "only the data authors' script has no DOI"
    assert everything.loc[~without_doi, "doi"].str.startswith("10.").all()


def test_identity_sets_hold_the_quoted_genes():
    """The authors' label markers and the book's identity sets, as quoted in data/caf_markers.csv."""
    table = markers.load_markers()
    authors = markers.marker_sets(table, "wuchengscos")
    assert set(authors) == set(markers.AUTHOR_SETS)
    assert authors["MSC"] == ["SFRP2", "CXCL12"] and authors["Osteoblasts"] == ["ALPL", "RUNX2"]
    assert set(markers.marker_sets(table, "osteoblast2013")["osteoblast"]) == {
        "RUNX2", "BGLAP", "SPARC", "IBSP", "SPP1", "COL1A1", "COL1A2"}
    assert markers.marker_sets(table, "omatsu2021")["CAR stroma"] == ["CXCL12", "LEPR", "KITL", "FOXC1", "EBF3"]
    for row in table.loc[table["source"].isin(["wuchengscos", "omatsu2021", "osteoblast2013"])].itertuples():
        assert row.source_symbol.split("/")[0].lower() in row.quote.lower() or row.gene in row.quote, row


def test_pan_caf_set_is_the_reviews_four_genes():
    sets = markers.marker_sets(markers.load_markers(), "cafreview2025", ["pan-CAF"])
    assert sets == {"pan-CAF": ["ACTA2", "FAP", "PDGFRA", "PDGFRB"]}


def test_cluster_labels_cover_23_clusters():
    labels = markers.load_cluster_labels()
    assert sorted(labels.index, key=int) == [str(i) for i in range(23)]
    assert labels["9"] == "Pericyte"


def test_bad_row_names_line_column_and_rule(tmp_path):
    table = pd.read_csv(markers.MARKERS_FILE, dtype=str, keep_default_na=False)
    table.loc[3, "set"] = "fibroCAF"
    bad = tmp_path / "caf_markers.csv"
    table.to_csv(bad, index=False)
    with pytest.raises(CuratedDataError) as err:
        markers.load_markers(bad)
    message = str(err.value)
    assert "caf_markers.csv" in message and "line 5" in message and "'set'" in message and "fibroCAF" in message


def test_unknown_source_and_set_are_refused_with_allowed_values():
    table = markers.load_markers()
    with pytest.raises(OsteobookError, match="sources: .*biffi2021"):
        markers.marker_sets(table, "costa2018")
    with pytest.raises(OsteobookError, match="allowed: .*iCAF"):
        markers.marker_sets(table, "biffi2021", ["xCAF"])


def test_old_symbols_are_harmonised():
    assert list(markers.harmonise_symbols(["IL8", "CTGF", "ACTA2"])) == ["CXCL8", "CCN2", "ACTA2"]


def by_hand(k, N, K, n):
    return sum(comb(K, i) * comb(N - K, n - i) for i in range(k, min(K, n) + 1)) / comb(N, n)


@pytest.mark.parametrize("k,N,K,n", [(3, 50, 5, 10), (0, 20, 3, 4), (7, 5922, 7, 608), (1, 100, 1, 1)])
def test_hypergeometric_tail_matches_the_sum_of_binomials(k, N, K, n):
    assert enrichment.hypergeom_p(k, N, K, n) == pytest.approx(by_hand(k, N, K, n), rel=1e-9)


def test_impossible_counts_are_refused():
    with pytest.raises(OsteobookError, match="impossible counts"):
        enrichment.hypergeom_p(4, 50, 3, 10)


def test_bh_matches_the_step_up_rule_and_keeps_nan():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.2])
    q = adjust(p, "BH")
    m = 4
    ranked = np.sort(p[:3].tolist() + [0.2])
    expected = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    assert np.isnan(q[3])
    assert sorted(q[~np.isnan(q)]) == pytest.approx(sorted(expected))


@pytest.fixture
def toy_markers():
    rows = [("a", "G1", 2.0, 0.001), ("a", "G2", 1.0, 0.001), ("a", "G3", 0.5, 0.2),
            ("b", "G3", 1.5, 0.001), ("b", "G4", 0.3, 0.001), ("b", "G5", 0.1, 0.001)]
    return pd.DataFrame([{"cluster": c, "gene": g, "avg_log2FC": fc, "p_val_adj": p} for c, g, fc, p in rows])


def test_enrichment_counts_and_mean_fold_change(toy_markers):
    table = enrichment.enrichment(toy_markers, {"S": ["G1", "G2", "G9"]}, max_padj=0.05, min_log2fc=0.25)
    a = table.set_index("cluster").loc["a"]
    # universe: G1..G5 (every gene listed); G9 is outside it; G3 fails p_adj in a, G5 fails log2FC in b
    assert (a["k"], a["K"], a["n"], a["N"]) == (2, 2, 2, 5)
    assert a["mean_log2fc"] == pytest.approx((2.0 + 1.0) / 2)
    assert a["p_value"] == pytest.approx(by_hand(2, 5, 2, 2))
    b = table.set_index("cluster").loc["b"]
    assert (b["k"], b["n"], b["mean_log2fc"]) == (0, 2, 0.0)


def test_calls_need_the_gate_before_a_subtype(toy_markers):
    table = enrichment.enrichment(toy_markers, {"pan-CAF": ["G1", "G2"], "myCAF": ["G1"], "apCAF": ["G3", "G4"]})
    calls = enrichment.cluster_calls(table, ["myCAF", "apCAF"], min_gate=2, score="mean_log2fc", min_mean_log2fc=0.5)
    assert calls.loc["a", "call"] == "myCAF"
    assert calls.loc["b", "call"] == "not fibroblast-like"  # apCAF passes, but b has no pan-CAF genes
    assert bool(calls.loc["b", "apCAF"])


def test_unknown_score_and_gate_are_refused(toy_markers):
    table = enrichment.enrichment(toy_markers, {"S": ["G1"]})
    with pytest.raises(OsteobookError, match="'hypergeometric', 'mean_log2fc'"):
        enrichment.passes(table, "zscore", 0.05, 0.5)
    with pytest.raises(OsteobookError, match="gate set 'pan-CAF'"):
        enrichment.cluster_calls(table, ["S"])


def test_seurat_file_without_a_column_names_file_and_columns(tmp_path):
    path = tmp_path / "markers.txt"
    path.write_text('"p_val" "avg_log2FC" "cluster" "gene"\n"A" 0 1.2 "0" "A"\n')
    with pytest.raises(OsteobookError, match=r"markers.txt: missing column\(s\) \['pct.1'"):
        markers.read_seurat_markers(path)
