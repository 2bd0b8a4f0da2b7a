"""osteobook.chapters.caf: the page's glued names, the results' shape and a few numbers checked by hand."""
from __future__ import annotations

import inspect
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from osteobook.chapters import caf
from osteobook.datasets.cohorts import ISG_EXPRESSION
from osteobook.datasets.registry import fetch
from osteobook.engine.params import load_chapter
from osteobook.engine.results import save_results
from osteobook.paths import NOTEBOOKS
from osteobook.plots import caf_figures

PAGE = (NOTEBOOKS / "caf.md").read_text()


@pytest.fixture(scope="module")
def result() -> caf.Caf:
    return caf.analyse(**load_chapter("caf").defaults())


def test_analyse_takes_exactly_the_chapters_parameters():
    assert set(inspect.signature(caf.analyse).parameters) == set(load_chapter("caf").defaults())


def test_every_glued_name_on_the_page_is_provided(result):
    texts = set(re.findall(r"\{glue(?::text)?\}`([^`:]+)", PAGE))
    figures = set(re.findall(r"```\{glue:figure\} (\S+)", PAGE))
    published = set(re.findall(r'publish_figure\("([^"]+)"', PAGE))
    assert texts and figures
    assert texts - set(result.glue) == set()
    assert figures - published == set()
    assert set(result.glue) - texts <= {"isg_events", "resp_auc", "met_or_p"}, "glued but never shown"


def test_glued_values_are_plain_python(result):
    """NumPy scalars would print as np.float64(...) in the stored notebook."""
    assert {type(v) for v in result.glue.values()} <= {int, float, str}


def test_results_are_the_three_sections_without_parameters(result, tmp_path):
    assert set(result.results) == {"single_cell", "target", "isg", "identities", "purity"}
    written = json.loads(save_results(tmp_path / "caf.json", result.results).read_text())
    assert written["target"]["n_matched_survival"] == result.glue["target_n"]
    assert written["isg"]["n"] == result.glue["isg_n"]


def test_sections_agree_with_analyse(result):
    assert result.glue == {**result.single_cell.glue, **result.identities.glue, **result.target.glue,
                           **result.isg.glue, **result.purity.glue}
    assert result.results == caf.key_results(result.single_cell, result.target, result.isg, result.identities,
                                             result.purity)


def test_fibroblast_like_clusters_by_hand(result):
    """Clusters with at least two of the four pan-CAF genes among their significant positive markers."""
    sc = result.single_cell.seurat
    markers = sc.loc[(sc["p_val_adj"] < 0.05) & (sc["avg_log2FC"] >= 0.25)]
    pan = set(result.single_cell.sets["pan-CAF"])
    hits = markers.loc[markers["gene"].isin(pan)].groupby("cluster")["gene"].nunique()
    assert sorted(hits.index[hits >= 2], key=int) == result.single_cell.results["fibroblast_like"]
    assert result.glue["n_fibro_like"] == len(result.single_cell.results["fibroblast_like"])


def test_group_sizes_add_up(result):
    glue = result.glue
    assert glue["km_high_n"] + glue["km_low_n"] == glue["target_n"]
    assert glue["pgp_pos"] + glue["pgp_neg"] == glue["isg_n"]
    assert glue["n_pr"] + glue["n_gr"] == glue["isg_n"]
    assert glue["status_agree"] <= glue["status_both"] <= glue["target_n"]
    assert glue["n_corr"] == 6


def test_pdgfrb_against_t_cells_by_hand(result):
    """Spearman ρ of PDGFRB with the mean z-score of the T-cell genes on the panel, written out with NumPy."""
    isg = result.isg.data
    expression = pd.read_csv(fetch(ISG_EXPRESSION), sep="\t", index_col=0)[isg.index]
    t = expression.loc[result.isg.results["t_genes"]].to_numpy()
    score = ((t - t.mean(axis=1, keepdims=True)) / t.std(axis=1, ddof=1, keepdims=True)).mean(axis=0)
    rho = stats.spearmanr(expression.loc["PDGFRB"], score).statistic
    assert result.glue["pdgfrb_t_rho"] == pytest.approx(rho, abs=1e-12)
    assert result.glue["pdgfrb_t_low"] < rho < result.glue["pdgfrb_t_high"]


def test_abcb1_auc_by_counting_pairs(result):
    isg = result.isg.data
    pos = isg.loc[isg["PgP_Status"] == "Positive", "ABCB1"].to_numpy()
    neg = isg.loc[isg["PgP_Status"] == "Negative", "ABCB1"].to_numpy()
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert result.glue["abcb1_auc"] == pytest.approx(wins / (len(pos) * len(neg)), abs=1e-12)


def test_key_numbers(result):
    key = caf.key_numbers(result.target, result.isg)
    assert key.name == "key result" and len(key) == 4
    assert key["TARGET fibroblast HR per SD"] == round(result.glue["fib_hr"], 4)


@pytest.mark.parametrize(("items", "text"), [([], "none"), (["a"], "a"), (["a", "b"], "a and b"),
                                             ([1, 2, 3], "1, 2 and 3")])
def test_listing(items, text):
    assert caf.listing(items) == text


def test_other_scores_and_sources():
    cells = caf.single_cell("ohlund2017", False, "mean_log2fc", 0.05, 0.5, 2)
    assert "apCAF" not in cells.sets and cells.glue["apcaf_outside"] == "none"
    assert cells.heatmap["colorbar_label"] == "mean log2 fold change"
    assert list(cells.heatmap["scores"].columns) == ["myCAF", "iCAF", "pan-CAF"]


def test_figures_are_drawn_from_the_result(result):
    cells, target, isg = result.single_cell, result.target, result.isg
    figures = {
        "heatmap": caf_figures.enrichment_heatmap(**cells.heatmap),
        "target": caf_figures.target_survival(target.km, target.logrank["p"], "median", target.explore),
        "isg": caf_figures.isg_associations(isg.cox, isg.correlations, "OS"),
        "efflux": caf_figures.efflux(isg.data, 1),
        "efflux again": caf_figures.efflux(isg.data, 1),
    }
    try:
        assert all(len(figure.axes) == 2 for figure in figures.values())
        bold = [t for t in figures["heatmap"].axes[0].texts if t.get_fontweight() == "bold"]
        assert len(bold) == int(cells.heatmap["passing"].to_numpy().sum())
        assert all(t.get_text().endswith(" *") for t in bold)
        assert np.array_equal(*(figures[name].axes[0].collections[-1].get_offsets()  # seeded jitter
                                for name in ("efflux", "efflux again")))
    finally:
        for figure in figures.values():
            plt.close(figure)


def test_partial_spearman_by_hand():
    """With an independent covariate the partial rho equals the Spearman rho of x and y up to the covariate's
    small sample correlation; with x = z + noise and y = z + noise it falls to about 0."""
    from osteobook.stats.purity import partial_spearman
    rng = np.random.default_rng(1)
    z = pd.Series(rng.normal(size=400))
    x, y = z + rng.normal(scale=0.3, size=400), z + rng.normal(scale=0.3, size=400)
    raw = stats.spearmanr(x, y)[0]
    adjusted = partial_spearman(x, y, z.rename("z"))
    assert raw > 0.8 and abs(adjusted["rho"]) < 0.15
    assert adjusted["ci_low"] < adjusted["rho"] < adjusted["ci_high"] and adjusted["k"] == 1
    half = stats.norm.ppf(0.975) / np.sqrt(400 - 4)
    assert adjusted["ci_high"] == pytest.approx(np.tanh(np.arctanh(adjusted["rho"]) + half))


def test_exclusion_verdict_rule():
    """Not detected -> decision.association on the raw CI; detected -> purity caveats first."""
    assert caf.exclusion_verdict(0.3, (-0.4, 0.1), (-0.4, 0.1), False, 0.05, 0.3).startswith("inconclusive")
    assert caf.exclusion_verdict(0.3, (-0.2, 0.3), (-0.2, 0.3), False, 0.05, 0.3).startswith("evidence against")
    assert "removes it" in caf.exclusion_verdict(0.001, (-0.7, -0.3), (-0.3, 0.05), False, 0.05, 0.3)
    assert "tumour-lineage" in caf.exclusion_verdict(0.001, (-0.7, -0.3), (-0.7, -0.4), True, 0.05, 0.3)
    assert "compete" in caf.exclusion_verdict(0.001, (-0.7, -0.3), (-0.7, -0.4), False, 0.05, 0.3)
    assert caf.exclusion_verdict(0.001, (0.3, 0.7), (0.3, 0.6), False, 0.05, 0.3).startswith("association in the opp")


def test_read_cluster_rule_order():
    assert caf.read_cluster({"osteoblast", "CAR stroma"}, "Fibroblast", True).startswith("osteoblastic")
    assert "cannot be told apart" in caf.read_cluster({"osteoblast"}, "Fibroblast", True)
    assert caf.read_cluster({"CAR stroma"}, "MSC", True).startswith("CXCL12-abundant")
    assert caf.read_cluster({"MSC"}, "MSC", True).startswith("MSC, as the authors")
    assert caf.read_cluster(set(), "MSC", True).startswith("not established")


def test_estimate_reader_refuses_a_wrong_list(tmp_path):
    from osteobook.datasets import purity
    from osteobook.errors import DataError
    bad = tmp_path / "estimateScore.py"
    bad.write_text('sig = {"EST_stromal": ["A", "B"], "EST_immune": ["C"]}\n')
    with pytest.raises(DataError, match="141"):
        purity.read_estimate_sets(bad)


def test_default_verdicts(result):
    """The referee's three nulls come out as generated verdicts, not 'Not supported'."""
    keys = dict(zip(result.purity.verdicts["association"], result.purity.verdicts["key"], strict=True))
    assert keys["TARGET-OS fibroblast fraction, overall survival (HR per SD)"] == "inconclusive"
    assert keys["ISG/OS2 iCAF score, overall survival (HR per SD)"] == "inconclusive"
    assert "Not supported" not in PAGE


def test_alt_texts_are_generated_from_the_figures_numbers(result):
    """The TARGET and ISG figures' alt texts name each interval that excludes the null, from the same tables."""
    explore, cox, corr = result.target.explore, result.isg.cox, result.isg.correlations
    excluding = explore.loc[(explore["ci_low"] > 1) | (explore["ci_high"] < 1)]
    alt = result.target.glue["explore_intervals"]
    for row in excluding.itertuples():
        assert f"{row.term} ({row.ci_low:.2f} to {row.ci_high:.2f}) lies" in alt
    assert f"the other {len(explore) - len(excluding)} interval" in alt
    assert result.isg.glue["isg_intervals"] == f"all {len(cox)} intervals cross 1"
    below = corr.loc[corr["ci_high"] < 0]
    assert [f"{r['feature']} vs {r['immune score']} ({r['ci_low']:.2f} to {r['ci_high']:.2f}) lies below 0"
            for _, r in below.iterrows()] == result.isg.glue["isg_rho_intervals"].split("; ")[:len(below)]
    for key in ("explore_intervals", "isg_intervals", "isg_rho_intervals"):
        assert f"{{glue:text}}`{key}`" in re.search(rf":alt: .*{key}.*", PAGE).group(0)
