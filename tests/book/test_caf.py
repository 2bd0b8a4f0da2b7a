"""The CAF chapter's numbers, recomputed independently from the raw registry files.

Single-cell enrichment: counts redone with plain pandas and p-values summed by hand from binomial
coefficients. TARGET-OS and ISG/OS2: inputs rebuilt here (own id mapping, own scores) and the Cox,
log-rank and logistic models refitted with R (`survival::coxph`, `survdiff`, `glm`).
"""
import csv
from itertools import product
from math import comb

import numpy as np
import pandas as pd
import pyreadr
import pytest
from scipy import stats

from osteobook.datasets.registry import fetch
from osteobook.paths import DATA
from tests.conftest import bh, chapter_results
from tests.r_reference import run_r

pytestmark = pytest.mark.book
ALIASES = {"IL8": "CXCL8", "CTGF": "CCN2"}


@pytest.fixture(scope="module")
def results():
    return chapter_results("caf")


def curated(source: str, set_name: str) -> list[str]:
    """Genes of one curated set, read with the csv module (unverified rows left out)."""
    with open(DATA / "caf_markers.csv", newline="") as handle:
        return [row["gene"] for row in csv.DictReader(handle)
                if row["source"] == source and row["set"] == set_name and row["status"] != "unverified"]


# ---- single-cell clusters ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seurat():
    table = pd.read_csv(fetch("wucheng_scos/markers_r0.3.txt"), sep=" ")
    table["gene"] = table["gene"].replace(ALIASES)
    table["cluster"] = table["cluster"].astype(str)
    return table


def test_enrichment_counts_and_p_values_by_hand(results, seurat):
    assert results["parameters"]["marker_source"] == "elyada2019" and not results["parameters"]["include_unverified"]
    sets = {s: curated("elyada2019", s) for s in ["myCAF", "iCAF", "apCAF"]}
    sets["pan-CAF"] = curated("cafreview2025", "pan-CAF")
    universe = set(seurat["gene"])
    selected = seurat[(seurat["p_val_adj"] < 0.05) & (seurat["avg_log2FC"] >= 0.25)]
    rows = {(r["cluster"], r["set"]): r for r in results["single_cell"]["enrichment"]}
    assert len(rows) == 23 * 4
    p_values = []
    for cluster, name in product(sorted(selected["cluster"].unique(), key=int), sets):
        markers = set(selected.loc[selected["cluster"] == cluster, "gene"])
        genes = set(sets[name]) & universe
        k, K, n, N = len(genes & markers), len(genes), len(markers), len(universe)
        p = sum(comb(K, i) * comb(N - K, n - i) for i in range(k, min(K, n) + 1)) / comb(N, n)
        row = rows[(cluster, name)]
        assert (row["k"], row["K"], row["n"], row["N"]) == (k, K, n, N), (cluster, name)
        assert row["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-300), (cluster, name)
        p_values.append(((cluster, name), p))
    q = bh(np.array([p for _, p in p_values]))
    for ((cluster, name), _), expected in zip(p_values, q, strict=False):
        assert rows[(cluster, name)]["q_value"] == pytest.approx(expected, rel=1e-9)


def test_default_calls(results):
    calls = results["single_cell"]["calls"]
    assert calls["4"] == "myCAF" and calls["9"] == "myCAF" and calls["14"] == "iCAF"
    assert calls["0"] == "not fibroblast-like"  # MHC-II genes in macrophages are not apCAFs
    assert len(results["single_cell"]["fibroblast_like"]) == 6


# ---- TARGET-OS -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def target():
    fractions = next(iter(pyreadr.read_r(fetch("wucheng_scos/scRNA_celltype_2000_500_result.rds")).values()))
    fractions.index = fractions.index.str.replace(".", "-", regex=False)
    survival = pd.read_csv(fetch("wucheng_scos/TARGET-OS.survival.tsv"), sep="\t").set_index("sample")
    clinical = pd.read_csv(fetch("osteosarc_prdx2/TARGET-OS.clinical.tsv.gz"), sep="\t").set_index("sample")
    joined = fractions[["Fibroblast"]].join(survival[["OS", "OS.time"]], how="inner")
    joined["met"] = clinical["metastasis_at_diagnosis.diagnoses"].map({"Metastasis, NOS": 1, "No Metastasis": 0})
    return fractions, joined


def test_sample_matching(results, target):
    fractions, joined = target
    assert results["target"]["n_fractions"] == len(fractions) == 88
    assert results["target"]["n_matched_survival"] == len(joined) == 85
    assert results["target"]["unmatched_survival"] == sorted(set(fractions.index) - set(joined.index))
    assert results["target"]["events"] == joined["OS"].sum()


@pytest.mark.r
def test_target_cox_logrank_and_logistic_match_r(results, target, tmp_path):
    _, joined = target
    path = tmp_path / "target.csv"
    joined.rename(columns={"OS.time": "time"}).to_csv(path, index=False)
    rule = {"median": 0.5, "upper_tertile": 2 / 3, "upper_quartile": 0.75}[results["target"]["split_rule"]]
    r = run_r(f"""
        library(survival)
        d <- read.csv("{path}")
        d$z <- as.numeric(scale(d$Fibroblast))
        s <- summary(coxph(Surv(time, OS) ~ z, data = d))
        emit("uni", list(coef = s$coefficients["z", "coef"], se = s$coefficients["z", "se(coef)"],
                         p = s$coefficients["z", "Pr(>|z|)"], low = s$conf.int["z", "lower .95"],
                         high = s$conf.int["z", "upper .95"]))
        a <- na.omit(d); a$z <- as.numeric(scale(a$Fibroblast))
        s2 <- summary(coxph(Surv(time, OS) ~ z + met, data = a))$coefficients
        emit("adj", list(z = s2["z", "coef"], met = s2["met", "coef"], n = nrow(a)))
        d$group <- ifelse(d$Fibroblast > quantile(d$Fibroblast, {rule}, type = 7), "high", "low")
        emit("lr", list(chisq = survdiff(Surv(time, OS) ~ group, data = d)$chisq))
        g <- glm(met ~ z, family = binomial, data = a)
        emit("glm", list(or = exp(coef(g)[["z"]]), low = exp(confint.default(g)["z", 1]),
                         high = exp(confint.default(g)["z", 2])))
    """)
    fib = results["target"]["fibroblast"]
    assert fib["coef"] == pytest.approx(r["uni.coef"], abs=1e-6)
    assert fib["se"] == pytest.approx(r["uni.se"], abs=1e-6)
    assert fib["p"] == pytest.approx(r["uni.p"], rel=1e-5)
    assert (fib["ci_low"], fib["ci_high"]) == pytest.approx((r["uni.low"], r["uni.high"]), rel=1e-5)
    adjusted = {row["term"]: row for row in results["target"]["adjusted"]}
    assert adjusted["Fibroblast"]["coef"] == pytest.approx(r["adj.z"], abs=1e-6)
    assert adjusted["metastasis"]["coef"] == pytest.approx(r["adj.met"], abs=1e-6)
    assert adjusted["metastasis"]["n"] == r["adj.n"]
    assert results["target"]["logrank"]["chi2"] == pytest.approx(r["lr.chisq"], rel=1e-6)
    logistic = results["target"]["metastasis_logistic"]
    assert logistic["odds_ratio"] == pytest.approx(r["glm.or"], rel=1e-5)
    assert (logistic["ci_low"], logistic["ci_high"]) == pytest.approx((r["glm.low"], r["glm.high"]), rel=1e-5)


# ---- ISG/OS2 -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def isg():
    expression = pd.read_csv(fetch("isg_os2/Norm_count_table.txt"), sep="\t", index_col=0).rename(index=ALIASES)
    metadata = pd.read_csv(fetch("isg_os2/metadata.txt"), sep="\t", index_col=0)
    metadata.columns = [c.strip() for c in metadata.columns]
    return expression, metadata


def mean_z(expression: pd.DataFrame, genes: list[str]) -> pd.Series:
    rows = expression.loc[genes]
    return ((rows.T - rows.mean(axis=1)) / rows.std(axis=1, ddof=1)).mean(axis=1)


def test_isg_gene_lists(results, isg):
    expression, _ = isg
    wanted = list(dict.fromkeys(curated("elyada2019", "iCAF") + curated("cafreview2025", "iCAF")))
    assert results["isg"]["icaf_genes"] == [g for g in wanted if g in expression.index]
    assert results["isg"]["t_genes"] == ["CD6", "CD3D", "CD3E", "SH2D1A", "CD3G"]  # TRAT1 is not on the panel


@pytest.mark.r
def test_isg_cox_matches_r(results, isg, tmp_path):
    expression, metadata = isg
    assert results["parameters"]["bulk_score"] == "mean_z"
    endpoint = results["isg"]["endpoint"]
    data = metadata[[f"{endpoint}_months", f"STATUS_{endpoint}"]].set_axis(["time", "status"], axis=1)
    data["icaf"] = mean_z(expression, results["isg"]["icaf_genes"])
    data["pdgfrb"] = expression.loc["PDGFRB"]
    path = tmp_path / "isg.csv"
    data.to_csv(path, index=False)
    r = run_r(f"""
        library(survival)
        d <- read.csv("{path}")
        for (v in c("icaf", "pdgfrb")) {{
          d$x <- as.numeric(scale(d[[v]]))
          s <- summary(coxph(Surv(time, status) ~ x, data = d))$coefficients
          emit(v, list(coef = s["x", "coef"], se = s["x", "se(coef)"], p = s["x", "Pr(>|z|)"]))
        }}
    """)
    cox = {row["term"]: row for row in results["isg"]["cox"]}
    for term, name in [("iCAF score", "icaf"), ("PDGFRB", "pdgfrb")]:
        assert cox[term]["coef"] == pytest.approx(r[f"{name}.coef"], abs=1e-6)
        assert cox[term]["se"] == pytest.approx(r[f"{name}.se"], abs=1e-6)
        assert cox[term]["p"] == pytest.approx(r[f"{name}.p"], rel=1e-5)
    assert [row["q"] for row in results["isg"]["cox"]] == pytest.approx(
        list(bh(np.array([row["p"] for row in results["isg"]["cox"]]))))


def test_isg_correlations(results, isg):
    expression, _ = isg
    features = {"iCAF score": mean_z(expression, results["isg"]["icaf_genes"]),
                "TGFB1": expression.loc["TGFB1"], "PDGFRB": expression.loc["PDGFRB"]}
    immune = {"T cells": mean_z(expression, results["isg"]["t_genes"]),
              "CD8 T cells": mean_z(expression, results["isg"]["cd8_genes"])}
    rows = results["isg"]["correlations"]
    for row in rows:
        rho, p = stats.spearmanr(features[row["feature"]], immune[row["immune score"]])
        assert row["rho"] == pytest.approx(rho, abs=1e-12) and row["p"] == pytest.approx(p, rel=1e-9)
        # percentile bootstrap CI near the Fisher-z interval (Bonett–Wright SE), and around the estimate
        se = np.sqrt((1 + rho ** 2 / 2) / (row["n"] - 3))
        low, high = np.tanh(np.arctanh(rho) + np.array([-1.96, 1.96]) * se)
        assert row["ci_low"] < rho < row["ci_high"]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=0.1)
    assert [row["q"] for row in rows] == pytest.approx(list(bh(np.array([row["p"] for row in rows]))))


def test_abcb1_by_pgp_status(results, isg):
    expression, metadata = isg
    abcb1 = expression.loc["ABCB1"]
    pos = abcb1[metadata["PgP_Status"] == "Positive"].to_numpy()
    neg = abcb1[metadata["PgP_Status"] == "Negative"].to_numpy()
    auc = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
    va, vb = pos.var(ddof=1) / len(pos), neg.var(ddof=1) / len(neg)
    df = (va + vb) ** 2 / (va ** 2 / (len(pos) - 1) + vb ** 2 / (len(neg) - 1))
    diff = pos.mean() - neg.mean()
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    result = results["isg"]["abcb1_pgp"]
    assert (result["n_high"], result["n_low"]) == (len(pos), len(neg))
    assert result["auc"] == pytest.approx(auc, rel=1e-12)
    expected = (diff, diff - half, diff + half)
    assert (result["difference"], result["ci_low"], result["ci_high"]) == pytest.approx(expected)


# ---- cluster identities, purity and verdicts -----------------------------------------------------

def test_identity_reading_by_hand(results, seurat):
    """Cluster 4 (the authors' "Fibroblast") carries 6 of the 7 osteoblast genes; the rule reads it as osteoblastic."""
    osteoblast = set(curated("osteoblast2013", "osteoblast")) & set(seurat["gene"])
    selected = seurat[(seurat["p_val_adj"] < 0.05) & (seurat["avg_log2FC"] >= 0.25)]
    rows = {(r["cluster"], r["set"]): r for r in results["identities"]["enrichment"]}
    for cluster in ["4", "14", "20"]:
        markers = set(selected.loc[selected["cluster"] == cluster, "gene"])
        assert rows[(cluster, "osteoblast")]["k"] == len(osteoblast & markers)
    assert rows[("4", "osteoblast")]["k"] == 6 and rows[("4", "osteoblast")]["q_value"] < 0.05
    reading = results["identities"]["reading"]
    assert reading["4"].startswith("osteoblastic") and reading["16"].startswith("osteoblastic")
    assert reading["20"].startswith("not established")  # no curated set for skeletal muscle
    assert "4" in results["identities"]["tumour_clusters"]


def estimate_lists() -> dict[str, list[str]]:
    """The registry member's two lists, read here with a regex (the chapter reads them with ast)."""
    import re
    text = fetch("tmeimmune/estimateScore.py").read_text()
    return {key: re.findall(r'"([A-Z0-9-]+)"', body)
            for key, body in re.findall(r'"(EST_stromal|EST_immune)"\s*:\s*\[([^\]]*)\]', text)}


def test_estimate_lists_from_the_wheel_member():
    """The registry member holds two 141-gene lists (Yoshihara et al. 2013)."""
    from osteobook.datasets import purity
    lists = estimate_lists()
    assert {k: len(set(v)) for k, v in lists.items()} == {"EST_stromal": 141, "EST_immune": 141}
    assert {"DCN", "PDGFRB", "FAP", "COL1A2"} <= set(lists["EST_stromal"])
    assert {"PTPRC", "CD3D", "CD74"} <= set(lists["EST_immune"])
    assert purity.read_estimate_sets() == {"stromal": lists["EST_stromal"], "immune": lists["EST_immune"]}


@pytest.mark.r
def test_purity_adjusted_correlations_match_r(results, isg, tmp_path):
    """Partial Spearman given the ESTIMATE score (tested and T-cell genes left out), refitted in R on residual ranks."""
    expression, _ = isg
    lists = estimate_lists()
    t_genes = set(curated("danaher2017", "T cells")) | set(curated("danaher2017", "CD8 T cells"))
    features = {"iCAF score": (mean_z(expression, results["isg"]["icaf_genes"]), results["isg"]["icaf_genes"]),
                "TGFB1": (expression.loc["TGFB1"], ["TGFB1"]), "PDGFRB": (expression.loc["PDGFRB"], ["PDGFRB"])}
    immune = {"T cells": mean_z(expression, results["isg"]["t_genes"]),
              "CD8 T cells": mean_z(expression, results["isg"]["cd8_genes"])}
    frames = {}
    for name, (values, genes) in features.items():
        drop = t_genes | set(genes)
        score = sum(mean_z(expression, [g for g in lists[k] if g in expression.index and g not in drop])
                    for k in ("EST_stromal", "EST_immune"))
        frames[name] = pd.DataFrame({"x": values, "t": immune["T cells"], "cd8": immune["CD8 T cells"], "z": score})
    paths = {}
    for name, frame in frames.items():
        paths[name] = tmp_path / f"{name.replace(' ', '_')}.csv"
        frame.to_csv(paths[name], index=False)
    script = "".join(f"""
        d <- read.csv("{path}")
        for (v in c("t", "cd8")) {{
          rx <- resid(lm(rank(d$x) ~ rank(d$z))); ry <- resid(lm(rank(d[[v]]) ~ rank(d$z)))
          r <- cor(rx, ry); n <- nrow(d); h <- qnorm(0.975) / sqrt(n - 4)
          emit(paste0("{name.replace(' ', '_')}_", v), list(rho = r, low = tanh(atanh(r) - h), high = tanh(atanh(r) + h)))
        }}""" for name, path in paths.items())
    r = run_r(script)
    label = {"T cells": "t", "CD8 T cells": "cd8"}
    for row in results["purity"]["exclusion"]:
        key = f"{row['feature'].replace(' ', '_')}_{label[row['immune score']]}"
        assert row["rho_estimate"] == pytest.approx(r[f"{key}.rho"], abs=1e-9), key
        assert (row["estimate_low"], row["estimate_high"]) == pytest.approx((r[f"{key}.low"], r[f"{key}.high"]),
                                                                            abs=1e-9)
    pdgfrb = next(row for row in results["purity"]["exclusion"]
                  if row["feature"] == "PDGFRB" and row["immune score"] == "T cells")
    assert pdgfrb["q"] < 0.05 and pdgfrb["in_tumour_clusters"]
    assert pdgfrb["verdict"].startswith("not interpretable without purity adjustment")


@pytest.mark.r
def test_tumour_fraction_adjusted_cox_matches_r(results, target, tmp_path):
    fractions, joined = target
    data = joined[["Fibroblast", "OS", "OS.time"]].rename(columns={"OS.time": "time"})
    data["tumour"] = fractions.loc[data.index, ["Osteoblasts", "Chondroblastic"]].sum(axis=1)
    expected = adjusted_cox_in_r(data.rename(columns={"OS": "status"}), ["Fibroblast", "tumour"], tmp_path)
    for row, reference in zip(results["purity"]["target_adjusted"], expected, strict=True):
        assert (row["hr"], row["ci_low"], row["ci_high"]) == pytest.approx(reference, rel=1e-5)


def adjusted_cox_in_r(data, covariates: list[str], folder) -> list[tuple[float, float, float]]:
    """R survival::coxph of (time, status) on the scaled covariates together: (HR, low, high) per covariate."""
    path = folder / "adjusted_cox.csv"
    data.to_csv(path, index=False)
    terms = " + ".join(f"scale({c})" for c in covariates)
    r = run_r(f"""
        library(survival)
        d <- read.csv("{path}")
        s <- summary(coxph(Surv(time, status) ~ {terms}, data = d))
        for (i in seq_len(nrow(s$conf.int))) emit(paste0("t", i), list(hr = s$conf.int[i, 1],
                                                                      low = s$conf.int[i, 3], high = s$conf.int[i, 4]))
    """)
    return [(r[f"t{i}.hr"], r[f"t{i}.low"], r[f"t{i}.high"]) for i in range(1, len(covariates) + 1)]


def test_verdicts_follow_the_rule_by_hand(results):
    """Inconclusive when the CI includes both 1 and the important HR; the detectable HR by Schoenfeld's formula."""
    important = results["parameters"]["important_hr"]
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    for row in results["purity"]["verdicts"]:
        if "HR per SD" not in row["association"]:
            continue
        includes_null = row["ci_low"] <= 1 <= row["ci_high"]
        expected = "inconclusive" if includes_null and row["ci_high"] >= important else (
            "against" if includes_null else row["key"])
        assert row["key"] == expected, row
    fib = results["purity"]["verdicts"][0]
    assert fib["key"] == "inconclusive" and fib["detectable"].startswith(f"HR ≥ {np.exp(z / np.sqrt(27)):.2f}")
    response = results["purity"]["verdicts"][4]
    against = response["ci_high"] < results["parameters"]["important_difference"] and response["ci_low"] <= 0
    assert (response["key"] == "against") == against


def test_icaf_score_make_up_by_hand(results, seurat):
    significant = seurat[seurat["p_val_adj"] < 0.05]
    myeloid = {"0", "11", "12", "22"}  # the authors' Myeloid clusters (data/wucheng_cluster_labels.csv)
    for row in results["purity"]["icaf_make_up"]:
        clusters = set(significant.loc[significant["gene"] == row["gene"], "cluster"])
        assert (row["expressed by"] in {"myeloid only", "both"}) == bool(clusters & myeloid), row


@pytest.mark.r
def test_isg_estimate_adjusted_cox_matches_r(results, isg, tmp_path):
    expression, metadata = isg
    lists = estimate_lists()
    endpoint = results["isg"]["endpoint"]
    drop = set(curated("danaher2017", "T cells")) | set(curated("danaher2017", "CD8 T cells")) | set(
        results["isg"]["icaf_genes"])
    data = metadata[[f"{endpoint}_months", f"STATUS_{endpoint}"]].set_axis(["time", "status"], axis=1)
    data["icaf"] = mean_z(expression, results["isg"]["icaf_genes"])
    data["est"] = sum(mean_z(expression, [g for g in lists[k] if g in expression.index and g not in drop])
                      for k in ("EST_stromal", "EST_immune"))
    row = results["purity"]["isg_adjusted"][0]
    assert row["term"] == "iCAF score"
    assert (row["hr"], row["ci_low"], row["ci_high"]) == pytest.approx(
        adjusted_cox_in_r(data, ["icaf", "est"], tmp_path)[0], rel=1e-5)
