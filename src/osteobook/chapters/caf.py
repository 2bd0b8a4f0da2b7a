"""Chapter "CAF subtypes in osteosarcoma": single-cell clusters, TARGET-OS fractions, ISG/OS2 genes.

One function per section returns that section's numbers: its tables, the values glued into the text
(`glue`) and its part of the key results file (`results`). `analyse` runs all three. Figures are drawn
by `osteobook.plots.caf_figures` from these numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import cohorts, markers
from ..datasets.registry import fetch
from ..engine.params import validate
from ..sources import linked_table, source_cell
from ..stats import enrichment, survival
from ..stats.groups import compare_groups, logistic_per_sd, spearman_ci
from ..stats.multiple_testing import adjust
from ..stats.scores import gene_set_score

SEURAT_MARKERS = "wucheng_scos/markers_r0.3.txt"
SOURCE_LABELS = {"elyada2019": "Elyada et al. (2019)", "biffi2021": "Biffi & Tuveson (2021)",
                 "ohlund2017": "Öhlund et al. (2017)", "cafreview2025": "review's"}
SUBTYPES = ["myCAF", "iCAF", "apCAF"]
ROBUSTNESS_SOURCES = ["elyada2019", "biffi2021"]  # the single-gene sets of the others cannot reach significance
SPLIT_LABELS = {"median": "the median", "upper_tertile": "the upper tertile", "upper_quartile": "the upper quartile"}
ENDPOINT_LABELS = {"OS": "overall survival", "EFS": "event-free survival"}
ISG_FEATURES = ["iCAF score", "TGFB1", "PDGFRB"]
IMMUNE_SCORES = ["T cells", "CD8 T cells"]
TABLE_STYLE = [{"selector": "td, th", "props": "padding: 3px 8px; vertical-align: top;"}]


def listing(items) -> str:
    """'a, b and c' for prose ('none' when empty)."""
    items = [str(i) for i in items]
    return "none" if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (so glued values print plainly)."""
    return value.item() if hasattr(value, "item") else value


def caf_sets(table: pd.DataFrame, source: str) -> dict[str, list[str]]:
    """The source's myCAF/iCAF/apCAF lists and the review's pan-CAF genes."""
    return {**markers.marker_sets(table, source, SUBTYPES), **markers.marker_sets(table, "cafreview2025", ["pan-CAF"])}


# ---- marker sets ---------------------------------------------------------------------------------

def marker_summary() -> pd.io.formats.style.Styler:
    """Every curated set (unverified genes too, marked †) with its genes and counts by status."""
    table = markers.load_markers(include_unverified=True)
    flagged = table.assign(gene=np.where(table["status"] == "unverified", table["gene"] + "†", table["gene"]))
    summary = (flagged.groupby(["source", "set"], sort=False)
               .agg(genes=("gene", ", ".join), **{status: ("status", lambda s, v=status: int((s == v).sum()))
                                                  for status in ["verified", "secondary", "unverified"]})
               .reset_index())
    quotes = (table.drop_duplicates(["source", "set", "source_url", "quote"])
              .groupby(["source", "set"], sort=False)
              .apply(lambda rows: "".join(source_cell(row) for _, row in rows.iterrows()), include_groups=False)
              .rename("sources and quotes").reset_index())
    summary = summary.merge(quotes, on=["source", "set"], how="left")
    return (linked_table(summary, ["sources and quotes"], sortable=False).set_table_styles(TABLE_STYLE)
            .set_caption("Curated marker sets (data/caf_markers.csv). † unverified: used only with "
                         "include_unverified = True."))


# ---- single-cell clusters ------------------------------------------------------------------------

@dataclass(frozen=True)
class SingleCell:
    """Seurat markers of the clusters, the marker sets' enrichment and each cluster's call."""

    seurat: pd.DataFrame  # FindAllMarkers output, current gene symbols
    labels: pd.Series
    sets: dict[str, list[str]]
    enriched: pd.DataFrame
    calls: pd.DataFrame
    robust: dict[str, pd.Series]  # the calls made with each multi-gene marker source
    heatmap: dict[str, Any]  # arguments of `plots.caf_figures.enrichment_heatmap`
    glue: dict[str, Any]
    results: dict[str, Any]


def call_clusters(sc: pd.DataFrame, sets: dict[str, list[str]], cluster_score: str, alpha: float,
                  min_mean_log2fc: float, min_pan_caf: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enrichment of every set in every cluster, and the clusters' pan-CAF gate and subtype calls."""
    enriched = enrichment.enrichment(sc, sets)
    calls = enrichment.cluster_calls(enriched, [s for s in SUBTYPES if s in sets], min_gate=min_pan_caf,
                                     score=cluster_score, alpha=alpha, min_mean_log2fc=min_mean_log2fc)
    return enriched, calls


def single_cell(marker_source: str, include_unverified: bool, cluster_score: str, alpha: float,
                min_mean_log2fc: float, min_pan_caf: int) -> SingleCell:
    """Score the Wucheng-tech clusters for the CAF sets of `marker_source` and call fibroblast-like clusters."""
    validate("caf", locals())
    table = markers.load_markers(include_unverified=include_unverified)
    sc = markers.read_seurat_markers(fetch(SEURAT_MARKERS))
    labels = markers.load_cluster_labels()
    sets = caf_sets(table, marker_source)
    enriched, calls = call_clusters(sc, sets, cluster_score, alpha, min_mean_log2fc, min_pan_caf)
    calls["label"] = labels.reindex(calls.index)
    robust = {source: call_clusters(sc, caf_sets(table, source), cluster_score, alpha, min_mean_log2fc,
                                    min_pan_caf)[1]["call"] for source in ROBUSTNESS_SOURCES}
    fibro = calls.loc[calls["fibroblast_like"]]
    universe = set(sc["gene"])

    def named(clusters) -> str:
        return listing([f"{c} ({labels[c]})" for c in clusters])

    ap_passes = calls["apCAF"].astype(bool) if "apCAF" in calls else pd.Series(False, index=calls.index)
    hypergeometric = cluster_score == "hypergeometric"
    glue = {
        "source_label": SOURCE_LABELS[marker_source],
        "sc_rows": len(sc), "n_clusters": sc["cluster"].nunique(), "n_universe": len(universe),
        "max_padj": float(sc["p_val_adj"].max()),
        "n_fibro_like": len(fibro), "min_pan_caf": min_pan_caf, "fibro_clusters": named(fibro.index),
        "mycaf_clusters": named(fibro.index[fibro["call"].str.contains("myCAF")]),
        "icaf_clusters": named(fibro.index[fibro["call"].str.contains("iCAF")]),
        "unassigned_clusters": named(fibro.index[fibro["call"] == "none"]),
        "apcaf_outside": named(calls.index[ap_passes & ~calls["fibroblast_like"]]),
        "il6_in_universe": "is" if "IL6" in universe else "is not",
        "author_fibroblast": named(labels.index[labels == "Fibroblast"]),
        "author_msc": named(labels.index[labels == "MSC"]),
        "score_label": "BH q-value of the hypergeometric test" if hypergeometric
        else "mean log2 fold change of the set's genes",
    }
    results = {"n_clusters": int(sc["cluster"].nunique()), "universe": len(universe), "sets": sets,
               "enrichment": enriched.to_dict(orient="records"), "calls": calls["call"].to_dict(),
               "fibroblast_like": list(fibro.index)}
    heatmap = {**_heatmap_frames(enriched, calls, [*(s for s in SUBTYPES if s in sets), "pan-CAF"], cluster_score,
                                 alpha, min_mean_log2fc),
               "xlabel": f"marker set ({SOURCE_LABELS[marker_source]}; pan-CAF from the review)"}
    return SingleCell(sc, labels, sets, enriched, calls, robust, heatmap, glue, results)


def _heatmap_frames(enriched: pd.DataFrame, calls: pd.DataFrame, columns: list[str], cluster_score: str,
                    alpha: float, min_mean_log2fc: float) -> dict[str, Any]:
    """Clusters x sets: the score shown as colour (-log10 q or mean log2FC), 'k/K' text and whether it passes."""
    def wide(table: pd.DataFrame, value: str) -> pd.DataFrame:
        return table.pivot(index="cluster", columns="set", values=value).reindex(index=calls.index, columns=columns)

    hypergeometric = cluster_score == "hypergeometric"
    grid = wide(enriched, "q_value" if hypergeometric else "mean_log2fc").astype(float)
    counts = wide(enriched.assign(kK=enriched["k"].astype(str) + "/" + enriched["K"].astype(str)), "kK")
    passing = wide(enriched.assign(ok=enrichment.passes(enriched, cluster_score, alpha, min_mean_log2fc)), "ok")
    rows = [f"{c} · {label}" + (" ◆" if fibro else "")
            for c, label, fibro in zip(calls.index, calls["label"], calls["fibroblast_like"], strict=True)]
    return {"scores": (-np.log10(grid) if hypergeometric else grid).set_axis(rows),
            "counts": counts.set_axis(rows), "passing": passing.eq(True).set_axis(rows),
            "ylabel": "cluster · authors' label (◆ fibroblast-like)",
            "colorbar_label": "−log10 BH q-value" if hypergeometric else "mean log2 fold change"}


def fibroblast_table(cells: SingleCell) -> pd.io.formats.style.Styler:
    """Fibroblast-like clusters: six strongest markers, pan-CAF markers, the call with each marker source."""
    sc, enriched = cells.seurat, cells.enriched
    fibro = cells.calls.loc[cells.calls["fibroblast_like"]]
    top = (sc.loc[sc["p_val_adj"] < 0.05].sort_values("avg_log2FC", ascending=False).groupby("cluster")["gene"]
           .agg(lambda g: ", ".join(g.head(6))))
    pan_genes = enriched.loc[enriched["set"] == "pan-CAF"].set_index("cluster")["genes"]
    table = pd.DataFrame({"cluster": fibro.index, "authors' label": fibro["label"],
                          "top markers": top.reindex(fibro.index), "pan-CAF": pan_genes.reindex(fibro.index),
                          **{f"call ({name})": calls.reindex(fibro.index) for name, calls in cells.robust.items()}})
    return (table.style.hide(axis="index")
            .set_caption("Fibroblast-like clusters: their six strongest markers, pan-CAF markers, and the subtype "
                         "called with each multi-gene marker source")
            .set_table_styles(TABLE_STYLE))


# ---- TARGET-OS -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetOS:
    """TARGET-OS tumours with fractions and survival, and the fibroblast fraction's models."""

    data: pd.DataFrame  # one row per tumour; `fib_group` is the pre-declared high/low split
    fibroblast: pd.Series  # the univariable Cox row, per SD
    adjusted: pd.DataFrame  # fibroblast fraction and metastasis at diagnosis
    logrank: dict[str, float]
    km: dict  # Kaplan–Meier fits of the high and low groups, in years
    explore: pd.DataFrame  # every common cell type, with BH q-values, by hazard ratio
    glue: dict[str, Any]
    results: dict[str, Any]


def target_os(split_rule: str, alpha: float) -> TargetOS:
    """Cox, log-rank and logistic models of the deconvolved fibroblast fraction in TARGET-OS."""
    validate("caf", locals())
    target, matching = cohorts.join_target()
    fractions = cohorts.read_target_fractions()
    target["metastasis"] = target["metastasis_at_diagnosis"].astype(float)
    fib = survival.cox(target, "os_days", "os_event", ["Fibroblast"], per_sd=["Fibroblast"]).iloc[0]
    adjusted = survival.cox(target, "os_days", "os_event", ["Fibroblast", "metastasis"], per_sd=["Fibroblast"])
    fib_adj, met_adj = adjusted.iloc[0], adjusted.iloc[1]
    target["fib_group"] = survival.split_high_low(target["Fibroblast"], split_rule)
    logrank = survival.logrank(target, "os_days", "os_event", "fib_group")
    common = [c for c in fractions.columns if (target[c] > 0).mean() >= 0.5]
    explore = survival.univariable_cox(target, "os_days", "os_event", common)
    explore["q"] = adjust(explore["p"])
    explore = explore.sort_values("hr").reset_index(drop=True)
    met = logistic_per_sd(target["Fibroblast"], target["metastasis"])
    met_groups = compare_groups(target["Fibroblast"], target["metastasis"], high=1.0, low=0.0)
    msc = explore.set_index("term").loc["MSC"]
    status = target.dropna(subset=["vital_status"])

    glue = {
        "frac_n": len(fractions), "frac_types": listing(fractions.columns),
        "target_n": matching["survival"].n_matched, "target_unmatched": listing(matching["survival"].unmatched),
        "target_clinical_n": matching["clinical"].n_matched, "target_events": int(target["os_event"].sum()),
        "target_met_known": int(target["metastasis_at_diagnosis"].notna().sum()),
        "target_met_yes": int(target["metastasis_at_diagnosis"].sum()),
        "fib_zero": int((target["Fibroblast"] == 0).sum()), "fib_median": float(target["Fibroblast"].median()),
        "fib_max": float(target["Fibroblast"].max()), "fib_sd": float(target["Fibroblast"].std()),
        "status_both": len(status),
        "status_agree": int((status["os_event"] == (status["vital_status"] == "Dead")).sum()),
        **{name: _plain(value) for name, value in {
            "fib_hr": fib["hr"], "fib_ci_low": fib["ci_low"], "fib_ci_high": fib["ci_high"], "fib_p": fib["p"],
            "fib_ph_p": fib["ph_p"], "fib_events": fib["events"], "fib_adj_hr": fib_adj["hr"],
            "fib_adj_low": fib_adj["ci_low"], "fib_adj_high": fib_adj["ci_high"], "met_hr": met_adj["hr"],
            "met_hr_low": met_adj["ci_low"], "met_hr_high": met_adj["ci_high"], "met_ph_p": met_adj["ph_p"],
            "adj_n": fib_adj["n"], "km_p": logrank["p"], "km_high_n": logrank["n_high"], "km_low_n": logrank["n_low"],
            "met_or": met["odds_ratio"], "met_or_low": met["ci_low"], "met_or_high": met["ci_high"],
            "met_or_p": met["p"], "met_auc": met_groups["auc"], "met_mw_p": met_groups["p_mannwhitney"],
            "explore_min_q": explore["q"].min()}.items()},
        "split_label": SPLIT_LABELS[split_rule], "explore_types": listing(common),
        "n_explore_sig": int((explore["q"] < alpha).sum()),
        "msc_hr": float(msc["hr"]), "msc_low": float(msc["ci_low"]), "msc_high": float(msc["ci_high"]),
    }
    results = {"n_fractions": len(fractions), "n_matched_survival": matching["survival"].n_matched,
               "unmatched_survival": matching["survival"].unmatched,
               "n_matched_clinical": matching["clinical"].n_matched, "events": int(target["os_event"].sum()),
               "fibroblast": fib.to_dict(), "adjusted": adjusted.to_dict(orient="records"), "logrank": logrank,
               "split_rule": split_rule, "exploratory": explore.to_dict(orient="records"),
               "metastasis_logistic": met, "metastasis_groups": met_groups}
    fits = survival.kaplan_meier(target, "os_days", "os_event", "fib_group", scale=365.25)
    return TargetOS(target, fib, adjusted, logrank, fits, explore, glue, results)


# ---- ISG/OS2 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IsgOS2:
    """ISG/OS2 patients with CAF, immune and ABCB1 scores, and the survival and association tests."""

    data: pd.DataFrame  # clinical annotations joined to the scores, one row per patient
    cox: pd.DataFrame  # univariable Cox per CAF feature, with BH q-values
    correlations: pd.DataFrame  # each CAF feature against each immune score, with bootstrap CIs and q-values
    glue: dict[str, Any]
    results: dict[str, Any]


def isg_os2(marker_source: str, include_unverified: bool, bulk_score: str, endpoint: str, alpha: float,
            n_boot: int, seed: int) -> IsgOS2:
    """Survival, immune exclusion and drug efflux: CAF-related scores against outcome, T cells and ABCB1."""
    validate("caf", locals())
    rng = np.random.default_rng(seed)
    table = markers.load_markers(include_unverified=include_unverified)
    expression, clinical = cohorts.read_isg_os2()
    panel = set(expression.index)
    review_icaf = markers.marker_sets(table, "cafreview2025", ["iCAF"])["iCAF"]
    icaf_genes = list(dict.fromkeys(markers.marker_sets(table, marker_source, ["iCAF"]).get("iCAF", []) + review_icaf))
    immune_sets = markers.marker_sets(table, "danaher2017")
    isg = clinical.join(pd.DataFrame({
        "iCAF score": gene_set_score(expression, icaf_genes, bulk_score),
        "TGFB1": expression.loc["TGFB1"], "PDGFRB": expression.loc["PDGFRB"], "ABCB1": expression.loc["ABCB1"],
        "T cells": gene_set_score(expression, immune_sets["T cells"], bulk_score),
        "CD8 T cells": gene_set_score(expression, immune_sets["CD8 T cells"], bulk_score)}))

    cox = survival.univariable_cox(isg, f"{endpoint}_months", f"STATUS_{endpoint}", ISG_FEATURES)
    cox["q"] = adjust(cox["p"])
    correlations = pd.DataFrame([{"feature": f, "immune score": t, **spearman_ci(isg[f], isg[t], rng, n_boot=n_boot)}
                                 for f in ISG_FEATURES for t in IMMUNE_SCORES])
    correlations["q"] = adjust(correlations["p"])
    pdgfrb_t = correlations.set_index(["feature", "immune score"]).loc[("PDGFRB", "T cells")]
    icaf_row = cox.set_index("term").loc["iCAF score"]
    pgp = compare_groups(isg["ABCB1"], isg["PgP_Status"], high="Positive", low="Negative")
    icaf_abcb1 = spearman_ci(isg["iCAF score"], isg["ABCB1"], rng, n_boot=n_boot)
    response = compare_groups(isg["iCAF score"], isg["HistologicResponse"], high="PR", low="GR")
    efflux_q = adjust([pgp["p_mannwhitney"], icaf_abcb1["p"], response["p_mannwhitney"]])

    values, medians = expression.to_numpy(), np.median(expression.to_numpy(), axis=0)
    on_panel = {name: [g for g in genes if g in panel] for name, genes in
                {"icaf": icaf_genes, "t": immune_sets["T cells"], "cd8": immune_sets["CD8 T cells"]}.items()}
    glue = {
        "isg_n": len(isg), "isg_genes": expression.shape[0],
        "isg_min": float(values.min()), "isg_max": float(values.max()),
        "isg_med_low": float(medians.min()), "isg_med_high": float(medians.max()),
        "icaf_on_panel": listing(on_panel["icaf"]),
        "icaf_off_panel": listing([g for g in icaf_genes if g not in panel]),
        "t_on_panel": listing(on_panel["t"]),
        "t_off_panel": listing([g for g in immune_sets["T cells"] if g not in panel]),
        "pgp_pos": int((isg["PgP_Status"] == "Positive").sum()),
        "pgp_neg": int((isg["PgP_Status"] == "Negative").sum()),
        "endpoint_label": ENDPOINT_LABELS[endpoint], "isg_events": int(isg[f"STATUS_{endpoint}"].sum()),
        "isg_cox_min_q": float(cox["q"].min()), "n_cox_sig": int((cox["q"] < alpha).sum()),
        "isg_cox_table_events": int(cox["events"].iloc[0]),
        "n_corr_sig": int((correlations["q"] < alpha).sum()), "n_corr": len(correlations),
        **{name: float(value) for name, value in {
            "pdgfrb_t_rho": pdgfrb_t["rho"], "pdgfrb_t_low": pdgfrb_t["ci_low"], "pdgfrb_t_high": pdgfrb_t["ci_high"],
            "pdgfrb_t_q": pdgfrb_t["q"], "icaf_hr": icaf_row["hr"], "icaf_low": icaf_row["ci_low"],
            "icaf_high": icaf_row["ci_high"], "abcb1_auc": pgp["auc"], "abcb1_diff": pgp["difference"],
            "abcb1_low": pgp["ci_low"], "abcb1_high": pgp["ci_high"], "abcb1_q": efflux_q[0],
            "icaf_abcb1_rho": icaf_abcb1["rho"], "icaf_abcb1_low": icaf_abcb1["ci_low"],
            "icaf_abcb1_high": icaf_abcb1["ci_high"], "icaf_abcb1_q": efflux_q[1],
            "resp_diff": response["difference"], "resp_low": response["ci_low"], "resp_high": response["ci_high"],
            "resp_q": efflux_q[2], "resp_auc": response["auc"]}.items()},
        "n_pr": response["n_high"], "n_gr": response["n_low"],
    }
    results = {"n": len(isg), "endpoint": endpoint, "icaf_genes": on_panel["icaf"], "t_genes": on_panel["t"],
               "cd8_genes": on_panel["cd8"], "cox": cox.to_dict(orient="records"),
               "correlations": correlations.to_dict(orient="records"), "abcb1_pgp": pgp, "icaf_abcb1": icaf_abcb1,
               "icaf_response": response, "efflux_q": list(efflux_q)}
    return IsgOS2(isg, cox, correlations, glue, results)


# ---- the whole chapter ---------------------------------------------------------------------------

def key_numbers(target: TargetOS, isg: IsgOS2) -> pd.Series:
    """The four numbers the page checks on every run (nbval compares them with the stored output)."""
    icaf = isg.cox.set_index("term").loc["iCAF score"]
    return pd.Series({"TARGET tumours matched": target.results["n_matched_survival"],
                      "TARGET fibroblast HR per SD": round(target.fibroblast["hr"], 4),
                      f"ISG iCAF score HR per SD ({isg.results['endpoint']})": round(icaf["hr"], 4),
                      "ISG ABCB1 AUC by P-gp": round(isg.results["abcb1_pgp"]["auc"], 4)}, name="key result")


def key_results(cells: SingleCell, target: TargetOS, isg: IsgOS2) -> dict[str, Any]:
    """The key results file's content (the runner adds the parameters)."""
    return {"single_cell": cells.results, "target": target.results, "isg": isg.results}


@dataclass(frozen=True)
class Caf:
    """The three sections' numbers, every glued value and the key results."""

    single_cell: SingleCell
    target: TargetOS
    isg: IsgOS2
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse(seed: int, marker_source: str, include_unverified: bool, cluster_score: str, alpha: float,
            min_mean_log2fc: float, min_pan_caf: int, bulk_score: str, endpoint: str, split_rule: str,
            n_boot: int) -> Caf:
    """The whole chapter: `single_cell`, `target_os` and `isg_os2` with the chapter's parameters."""
    validate("caf", locals())
    cells = single_cell(marker_source, include_unverified, cluster_score, alpha, min_mean_log2fc, min_pan_caf)
    target = target_os(split_rule, alpha)
    isg = isg_os2(marker_source, include_unverified, bulk_score, endpoint, alpha, n_boot, seed)
    return Caf(cells, target, isg, {**cells.glue, **target.glue, **isg.glue}, key_results(cells, target, isg))
