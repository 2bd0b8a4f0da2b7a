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
from ..datasets import purity as purity_data
from ..datasets.registry import fetch
from ..engine.params import validate
from ..prose import intervals
from ..sources import linked_table, source_cell
from ..stats import decision, enrichment, survival
from ..stats.groups import compare_groups, logistic_per_sd, spearman_ci
from ..stats.multiple_testing import adjust
from ..stats.purity import partial_spearman
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
IDENTITY_SOURCES = ["osteoblast2013", "omatsu2021"]  # the book's identity sets; the authors' own are `wuchengscos`
TUMOUR_LABELS = ["Osteoblasts", "Chondroblastic"]  # the data authors' labels for malignant-lineage cells
SHOWN_LABELS = ["Fibroblast", "MSC", "Pericyte"]  # stromal labels shown in the identity table besides CAF-like clusters
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


# ---- what the clusters are ----------------------------------------------------------------------

def identity_sets(table: pd.DataFrame) -> dict[str, list[str]]:
    """The data authors' marker genes for their labels and the book's sourced identity sets."""
    sets = markers.marker_sets(table, "wuchengscos")
    for source in IDENTITY_SOURCES:
        sets.update(markers.marker_sets(table, source))
    return sets


def read_cluster(passing: set[str], label: str, fibroblast_like: bool) -> str:
    """The book's reading of a cluster from the identity sets enriched among its markers (first rule that applies)."""
    if "osteoblast" in passing:
        return ("osteoblastic bone-matrix programme and pan-CAF genes: tumour cell or CAF cannot be told apart"
                if fibroblast_like else "osteoblastic bone-matrix programme (tumour or osteoblast lineage)")
    if "CAR stroma" in passing:
        return "CXCL12-abundant reticular-like stroma"
    if label in passing:
        return f"{label}, as the authors' own markers show"
    return "not established by the curated marker sets"


@dataclass(frozen=True)
class Identities:
    """Each cluster's enrichment for identity sets, the book's reading and the clusters read as tumour lineage."""

    enriched: pd.DataFrame
    reading: pd.Series
    tumour_clusters: list[str]
    table: pd.DataFrame  # the clusters the chapter discusses, with their evidence
    glue: dict[str, Any]
    results: dict[str, Any]


def _top_markers(sc: pd.DataFrame, n: int = 6) -> pd.Series:
    return (sc.loc[sc["p_val_adj"] < 0.05].sort_values("avg_log2FC", ascending=False).groupby("cluster")["gene"]
            .agg(lambda g: ", ".join(g.head(n))))


def cluster_identities(cells: SingleCell, alpha: float) -> Identities:
    """Score every cluster for the authors' label markers and the book's identity sets, and read it by rule."""
    validate("caf", locals())
    sets = identity_sets(markers.load_markers())
    enriched = enrichment.enrichment(cells.seurat, sets)
    enriched["passes"] = enriched["q_value"] < alpha
    passing = enriched.loc[enriched["passes"]].groupby("cluster")["set"].agg(set)
    labels, fibro, calls = cells.labels, cells.calls["fibroblast_like"], cells.calls["call"]
    reading = pd.Series({c: read_cluster(passing.get(c, set()), labels[c], bool(fibro[c])) for c in calls.index})
    tumour = [c for c in calls.index if labels[c] in TUMOUR_LABELS or "osteoblast" in passing.get(c, set())]
    shown = [c for c in calls.index if fibro[c] or labels[c] in SHOWN_LABELS]
    cell = enriched.set_index(["cluster", "set"])

    def overlap(cluster: str, name: str) -> str:
        if name not in sets:
            return "no marker line in the authors' script"
        row = cell.loc[(cluster, name)]
        return f"{row['k']}/{row['K']}" + (f": {row['genes']}" if row["k"] else "") + (" (q < α)" if row["passes"] else "")

    top = _top_markers(cells.seurat, 4)
    table = pd.DataFrame({
        "cluster": shown, "authors' label": [labels[c] for c in shown],
        "CAF call (this chapter)": [calls[c] for c in shown], "reading (rule)": [reading[c] for c in shown],
        "osteoblast set": [overlap(c, "osteoblast") for c in shown],
        "authors' markers for their label": [overlap(c, labels[c]) for c in shown],
        "CAR stroma set": [overlap(c, "CAR stroma") for c in shown], "top markers": [top.get(c, "") for c in shown]})

    def named(clusters) -> str:
        return listing([f"{c} ({labels[c]})" for c in clusters])

    osteo_fibro = [c for c in shown if fibro[c] and "osteoblast" in passing.get(c, set())]
    icaf = [c for c in calls.index if "iCAF" in str(calls[c])]
    unresolved = [c for c in shown if reading[c].startswith("not established")]
    called = [c for c in calls.index if "myCAF" in str(calls[c]) or "iCAF" in str(calls[c])]
    osteo_called = [c for c in called if "osteoblast" in passing.get(c, set())]
    subtype_verdict = (f"Not established: the called cluster(s) {named(osteo_called)} carry the osteoblast "
                       "bone-matrix set, so osteoblastic tumour cells are not excluded" if osteo_called else
                       "Not shown: no fibroblast-like cluster is called" if not called else
                       f"Partly supported at cluster level: {named(called)} are called, none carries the osteoblast "
                       "set")
    glue = {
        "id_osteo_caf": named(osteo_fibro), "id_tumour_clusters": named(tumour),
        "id_unresolved": named(unresolved),
        "id_unresolved_markers": "; ".join(f"{c}: {top.get(c, '')}" for c in unresolved),
        "id_icaf_car": "; ".join(f"cluster {c}, {overlap(c, 'CAR stroma')}" for c in icaf) or "none",
        "id_icaf_msc": "; ".join(f"cluster {c}, {overlap(c, 'MSC')}" for c in icaf) or "none",
        "id_subtype_verdict": subtype_verdict,
        "id_car_like": named([c for c in calls.index if "CAR stroma" in passing.get(c, set())]),
        "id_fibroblast_col": named(labels.index[labels == "Fibroblast"]),
        "id_fibroblast_osteo": named([c for c in labels.index[labels == "Fibroblast"]
                                      if "osteoblast" in passing.get(c, set())]),
    }
    results = {"reading": reading.to_dict(), "tumour_clusters": tumour,
               "enrichment": enriched.to_dict(orient="records"), "shown": shown}
    return Identities(enriched, reading, tumour, table, glue, results)


def identity_table(ids: Identities) -> pd.io.formats.style.Styler:
    """The discussed clusters: authors' label beside the book's call and reading, with the marker evidence."""
    return (ids.table.style.hide(axis="index").set_table_styles(TABLE_STYLE)
            .set_caption("What the stromal clusters are: the data authors' label, this chapter's CAF call, the top "
                         "markers, and k/K genes of each identity set among the cluster's markers (q < α: enriched)"))


def tumour_marker_clusters(cells: SingleCell, ids: Identities, genes: list[str]) -> list[str]:
    """Tumour-lineage clusters (by `cluster_identities`) that list any of `genes` as a marker."""
    sc = cells.seurat.loc[(cells.seurat["p_val_adj"] < 0.05) & cells.seurat["gene"].isin(genes)]
    return [c for c in ids.tumour_clusters if c in set(sc["cluster"])]


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
        "explore_intervals": intervals(explore["term"], explore["ci_low"], explore["ci_high"]),
        "msc_hr": float(msc["hr"]), "msc_low": float(msc["ci_low"]), "msc_high": float(msc["ci_high"]),
        "explore_nominal": listing(f"{r.term} (HR {r.hr:.2f}, {r.ci_low:.2f}–{r.ci_high:.2f}, q = {r.q:.2f})"
                                   for r in explore.itertuples() if r.ci_low > 1 or r.ci_high < 1),
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
        "isg_intervals": intervals(cox["term"], cox["ci_low"], cox["ci_high"]),
        "isg_rho_intervals": intervals(correlations["feature"] + " vs " + correlations["immune score"],
                                       correlations["ci_low"], correlations["ci_high"], null=0),
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


# ---- purity, and what the nulls can exclude ------------------------------------------------------

def exclusion_verdict(q: float, rho_ci: tuple[float, float], adjusted_ci: tuple[float, float], in_tumour: bool,
                      alpha: float, important_rho: float) -> str:
    """Immune exclusion predicts rho < 0. Not detected: read the unadjusted CI with `decision.association`.
    Detected: 'not interpretable without purity adjustment' if adjusting for the ESTIMATE score brings the CI
    to 0, if the gene is a marker of tumour-lineage clusters (the panel cannot measure purity), or if the adjusted
    CI is negative (conditioning on non-tumour content alone makes stroma and T cells anticorrelate); only an
    adjusted CI that excludes 0 on the positive side is read, with `decision.association`."""
    if q >= alpha:
        return decision.ASSOCIATION_VERDICTS[decision.association(*rho_ci, important_rho, -1, "difference")]
    if adjusted_ci[0] <= 0 <= adjusted_ci[1]:
        return "not interpretable without purity adjustment: adjusting for the ESTIMATE score removes it"
    if in_tumour:
        return ("not interpretable without purity adjustment: the gene marks osteoblastic (tumour-lineage) clusters, "
                "and an immune panel cannot measure tumour purity")
    if adjusted_ci[1] < 0:
        return ("not interpretable without purity adjustment: given the non-tumour content, stromal and T-cell "
                "transcripts compete for the rest, so a negative partial correlation arises without exclusion")
    return decision.ASSOCIATION_VERDICTS[decision.association(*adjusted_ci, important_rho, -1, "difference")]


@dataclass(frozen=True)
class Purity:
    """ESTIMATE-adjusted immune-exclusion correlations (ISG/OS2), tumour-fraction-adjusted Cox (TARGET-OS),
    the iCAF score's make-up, and every CAF verdict by the inconclusive-vs-against rule."""

    exclusion: pd.DataFrame
    target_adjusted: pd.DataFrame
    icaf_genes: pd.DataFrame
    verdicts: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def _estimate_scores(expression: pd.DataFrame, sets: dict[str, list[str]], exclude: set[str],
                     bulk_score: str) -> tuple[pd.Series, dict[str, list[str]]]:
    """The ESTIMATE score (stromal + immune, each the mean of on-panel z-scores) without the genes in `exclude`."""
    used = {name: [g for g in genes if g in expression.index and g not in exclude] for name, genes in sets.items()}
    return sum(gene_set_score(expression, genes, bulk_score) for genes in used.values()), used


def _icaf_make_up(cells: SingleCell, genes: list[str]) -> pd.DataFrame:
    """Which single-cell clusters list each iCAF-score gene as a marker: myeloid, fibroblast-like, both, neither."""
    sc = cells.seurat.loc[cells.seurat["p_val_adj"] < 0.05]
    myeloid = set(cells.labels.index[cells.labels == "Myeloid"])
    fibro = set(cells.calls.index[cells.calls["fibroblast_like"]])
    rows = []
    for gene in genes:
        clusters = sorted(set(sc.loc[sc["gene"] == gene, "cluster"]), key=int)
        kind = {(True, True): "both", (True, False): "myeloid only", (False, True): "fibroblast-like only",
                (False, False): "neither"}[(bool(myeloid & set(clusters)), bool(fibro & set(clusters)))]
        rows.append({"gene": gene, "marker of clusters": ", ".join(clusters) or "none", "expressed by": kind})
    return pd.DataFrame(rows)


def purity_and_verdicts(cells: SingleCell, ids: Identities, target: TargetOS, isg: IsgOS2, bulk_score: str,
                        alpha: float, important_hr: float, important_rho: float,
                        important_difference: float) -> Purity:
    """Adjust the bulk associations for purity and give every CAF verdict by `decision.association`."""
    validate("caf", locals())
    expression, _ = cohorts.read_isg_os2()
    estimate = purity_data.read_estimate_sets()
    table = markers.load_markers()
    immune_genes = set().union(*markers.marker_sets(table, "danaher2017").values())
    feature_genes = {"iCAF score": isg.results["icaf_genes"], "TGFB1": ["TGFB1"], "PDGFRB": ["PDGFRB"]}
    rows = []
    for _, row in isg.correlations.iterrows():
        exclude = immune_genes | set(feature_genes[row["feature"]])
        score, used = _estimate_scores(expression, estimate, exclude, bulk_score)
        x, y = isg.data[row["feature"]], isg.data[row["immune score"]]
        adj = partial_spearman(x, y, score.reindex(x.index).rename("ESTIMATE"))
        stromal = partial_spearman(x, y, gene_set_score(expression, used["stromal"], bulk_score)
                                   .reindex(x.index).rename("stromal"))
        in_tumour = bool(tumour_marker_clusters(cells, ids, feature_genes[row["feature"]]))
        rows.append({**row[["feature", "immune score", "rho", "ci_low", "ci_high", "q"]].to_dict(), "rho_estimate": adj["rho"], "estimate_low": adj["ci_low"],
                     "estimate_high": adj["ci_high"], "rho_stromal": stromal["rho"], "stromal_low": stromal["ci_low"],
                     "stromal_high": stromal["ci_high"], "in_tumour_clusters": in_tumour,
                     "n_stromal_genes": len(used["stromal"]), "n_immune_genes": len(used["immune"]),
                     "verdict": exclusion_verdict(row["q"], (row["ci_low"], row["ci_high"]), (adj["ci_low"], adj["ci_high"]),
                                                  in_tumour, alpha, important_rho)})
    exclusion = pd.DataFrame(rows)

    data = target.data.assign(tumour_fraction=target.data[TUMOUR_LABELS].sum(axis=1))
    target_adjusted = survival.cox(data, "os_days", "os_event", ["Fibroblast", "tumour_fraction"],
                                   per_sd=["Fibroblast", "tumour_fraction"])
    fib_adj = target_adjusted.iloc[0]
    make_up = _icaf_make_up(cells, isg.results["icaf_genes"])
    endpoint = isg.results["endpoint"]
    icaf_purity, _ = _estimate_scores(expression, estimate, immune_genes | set(feature_genes["iCAF score"]), bulk_score)
    isg_adjusted = survival.cox(isg.data.assign(ESTIMATE=icaf_purity.reindex(isg.data.index)), f"{endpoint}_months",
                                f"STATUS_{endpoint}", ["iCAF score", "ESTIMATE"], per_sd=["iCAF score", "ESTIMATE"])
    icaf_adj = isg_adjusted.iloc[0]

    fib, icaf = target.fibroblast, isg.cox.set_index("term").loc["iCAF score"]
    r = isg.results
    n_isg = int(isg.data[["iCAF score", "ABCB1"]].dropna().shape[0])
    claims = [
        ("TARGET-OS fibroblast fraction, overall survival (HR per SD)", fib["hr"], fib["ci_low"], fib["ci_high"],
         decision.association(fib["ci_low"], fib["ci_high"], important_hr, 1, "ratio"),
         f"HR ≥ {decision.detectable_hr(int(fib['events'])):.2f} per SD ({int(fib['events'])} deaths)"),
        ("TARGET-OS fibroblast fraction adjusted for the tumour-cell fraction", fib_adj["hr"], fib_adj["ci_low"],
         fib_adj["ci_high"], decision.association(fib_adj["ci_low"], fib_adj["ci_high"], important_hr, 1, "ratio"),
         f"HR ≥ {decision.detectable_hr(int(fib_adj['events'])):.2f} per SD"),
        (f"ISG/OS2 iCAF score, {ENDPOINT_LABELS[r['endpoint']]} (HR per SD)", icaf["hr"], icaf["ci_low"],
         icaf["ci_high"], decision.association(icaf["ci_low"], icaf["ci_high"], important_hr, 1, "ratio"),
         f"HR ≥ {decision.detectable_hr(int(icaf['events'])):.2f} per SD ({int(icaf['events'])} events)"),
        ("ISG/OS2 iCAF score adjusted for the ESTIMATE score", icaf_adj["hr"], icaf_adj["ci_low"],
         icaf_adj["ci_high"], decision.association(icaf_adj["ci_low"], icaf_adj["ci_high"], important_hr, 1, "ratio"),
         f"HR ≥ {decision.detectable_hr(int(icaf_adj['events'])):.2f} per SD"),
        ("ISG/OS2 iCAF score, poor minus good responders (score units ≈ SD)", r["icaf_response"]["difference"],
         r["icaf_response"]["ci_low"], r["icaf_response"]["ci_high"],
         decision.association(r["icaf_response"]["ci_low"], r["icaf_response"]["ci_high"], important_difference, 1,
                              "difference"), "not computed (difference in score units)"),
        ("ISG/OS2 iCAF score vs ABCB1 (Spearman ρ)", r["icaf_abcb1"]["rho"], r["icaf_abcb1"]["ci_low"],
         r["icaf_abcb1"]["ci_high"], decision.association(r["icaf_abcb1"]["ci_low"], r["icaf_abcb1"]["ci_high"],
                                                           important_rho, 1, "difference"),
         f"|ρ| ≥ {decision.detectable_rho(n_isg):.2f} (n = {n_isg})"),
    ]
    verdicts = pd.DataFrame(claims, columns=["association", "estimate", "ci_low", "ci_high", "key", "detectable"])
    verdicts["verdict"] = verdicts["key"].map(decision.ASSOCIATION_VERDICTS)
    pdgfrb = exclusion.set_index(["feature", "immune score"]).loc[("PDGFRB", "T cells")]
    n_myeloid = int(make_up["expressed by"].isin(["myeloid only", "both"]).sum())
    v = verdicts.set_index("key", drop=False)
    glue = {
        "important_hr": important_hr, "important_rho": important_rho, "important_difference": important_difference,
        "fib_verdict": verdicts.at[0, "verdict"], "fib_detectable": verdicts.at[0, "detectable"],
        "fib_tumour_adj_hr": float(fib_adj["hr"]), "fib_tumour_adj_low": float(fib_adj["ci_low"]),
        "fib_tumour_adj_high": float(fib_adj["ci_high"]), "fib_tumour_adj_verdict": verdicts.at[1, "verdict"],
        "tumour_fraction_hr": float(target_adjusted.iloc[1]["hr"]),
        "tumour_fraction_low": float(target_adjusted.iloc[1]["ci_low"]),
        "tumour_fraction_high": float(target_adjusted.iloc[1]["ci_high"]),
        "tumour_fraction_labels": listing(TUMOUR_LABELS),
        "icaf_verdict": verdicts.at[2, "verdict"], "icaf_detectable": verdicts.at[2, "detectable"],
        "icaf_est_hr": float(icaf_adj["hr"]), "icaf_est_low": float(icaf_adj["ci_low"]),
        "icaf_est_high": float(icaf_adj["ci_high"]), "icaf_est_verdict": verdicts.at[3, "verdict"],
        "resp_verdict": verdicts.at[4, "verdict"], "abcb1_verdict": verdicts.at[5, "verdict"],
        "abcb1_detectable": verdicts.at[5, "detectable"],
        "pdgfrb_adj_rho": float(pdgfrb["rho_estimate"]), "pdgfrb_adj_low": float(pdgfrb["estimate_low"]),
        "pdgfrb_adj_high": float(pdgfrb["estimate_high"]), "pdgfrb_str_rho": float(pdgfrb["rho_stromal"]),
        "pdgfrb_str_low": float(pdgfrb["stromal_low"]), "pdgfrb_str_high": float(pdgfrb["stromal_high"]),
        "pdgfrb_verdict": pdgfrb["verdict"],
        "pdgfrb_tumour_clusters": listing(tumour_marker_clusters(cells, ids, ["PDGFRB"])),
        "est_stromal_n": int(pdgfrb["n_stromal_genes"]), "est_immune_n": int(pdgfrb["n_immune_genes"]),
        "est_stromal_panel": sum(g in expression.index for g in estimate["stromal"]),
        "est_immune_panel": sum(g in expression.index for g in estimate["immune"]),
        "icaf_n_genes": len(make_up), "icaf_n_myeloid": n_myeloid,
        "icaf_myeloid_genes": listing(make_up.loc[make_up["expressed by"].isin(["myeloid only", "both"]), "gene"]),
        "icaf_fibro_genes": listing(make_up.loc[make_up["expressed by"] == "fibroblast-like only", "gene"]),
        "n_verdicts": len(verdicts), "n_inconclusive": int((v["key"] == "inconclusive").sum()), "n_against": int((v["key"] == "against").sum()),
    }
    results = {"exclusion": exclusion.to_dict(orient="records"),
               "target_adjusted": target_adjusted.to_dict(orient="records"),
               "isg_adjusted": isg_adjusted.to_dict(orient="records"),
               "icaf_make_up": make_up.to_dict(orient="records"), "verdicts": verdicts.to_dict(orient="records"),
               "important": {"hr": important_hr, "rho": important_rho, "difference": important_difference}}
    return Purity(exclusion, target_adjusted, make_up, verdicts, glue, results)


def verdict_table(purity: Purity) -> pd.io.formats.style.Styler:
    """Every CAF association with its CI, the rule's verdict and the smallest effect the cohort detects."""
    frame = purity.verdicts.drop(columns="key").rename(columns={
        "detectable": "detectable with 80% power", "ci_low": "95% CI from", "ci_high": "to"})
    return (frame.style.hide(axis="index").format({"estimate": "{:.2f}", "95% CI from": "{:.2f}", "to": "{:.2f}"})
            .set_table_styles(TABLE_STYLE)
            .set_caption("CAF associations read against the clinically important effect (chapter parameters): "
                         "'inconclusive' when the CI includes both no effect and an important one"))


def exclusion_table(purity: Purity) -> pd.io.formats.style.Styler:
    """Immune-exclusion correlations before and after adjustment for the ESTIMATE score, with the verdict."""
    x = purity.exclusion

    def rho(value: str, low: str, high: str) -> pd.Series:
        return x.apply(lambda r: f"{r[value]:.2f} ({r[low]:.2f} to {r[high]:.2f})", axis=1)
    frame = pd.DataFrame({
        "feature": x["feature"], "immune score": x["immune score"],
        "ρ (95% CI)": rho("rho", "ci_low", "ci_high"), "BH q": x["q"].map(lambda q: f"{q:.2g}"),
        "ρ given ESTIMATE": rho("rho_estimate", "estimate_low", "estimate_high"),
        "ρ given stromal part": x["rho_stromal"].map(lambda r: f"{r:.2f}"),
        "marks tumour clusters": x["in_tumour_clusters"].map({True: "yes", False: "no"}),
        "verdict": x["verdict"]})
    return (frame.style.hide(axis="index").set_table_styles(TABLE_STYLE)
            .set_caption("ISG/OS2: Spearman ρ unadjusted (bootstrap CI, BH q) and partial ρ given the ESTIMATE score "
                         "(stromal + immune genes on the panel, tested genes left out) or its stromal part"))


# ---- the whole chapter ---------------------------------------------------------------------------

def key_numbers(target: TargetOS, isg: IsgOS2) -> pd.Series:
    """The four numbers the page checks on every run (nbval compares them with the stored output)."""
    icaf = isg.cox.set_index("term").loc["iCAF score"]
    return pd.Series({"TARGET tumours matched": target.results["n_matched_survival"],
                      "TARGET fibroblast HR per SD": round(target.fibroblast["hr"], 4),
                      f"ISG iCAF score HR per SD ({isg.results['endpoint']})": round(icaf["hr"], 4),
                      "ISG ABCB1 AUC by P-gp": round(isg.results["abcb1_pgp"]["auc"], 4)}, name="key result")


def key_results(cells: SingleCell, target: TargetOS, isg: IsgOS2, ids: Identities | None = None,
                purity: Purity | None = None) -> dict[str, Any]:
    """The key results file's content (the runner adds the parameters)."""
    extra = {"identities": ids.results} if ids else {}
    extra |= {"purity": purity.results} if purity else {}
    return {"single_cell": cells.results, "target": target.results, "isg": isg.results, **extra}


@dataclass(frozen=True)
class Caf:
    """The three sections' numbers, every glued value and the key results."""

    single_cell: SingleCell
    target: TargetOS
    isg: IsgOS2
    identities: Identities
    purity: Purity
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse(seed: int, marker_source: str, include_unverified: bool, cluster_score: str, alpha: float,
            min_mean_log2fc: float, min_pan_caf: int, bulk_score: str, endpoint: str, split_rule: str,
            n_boot: int, important_hr: float, important_rho: float, important_difference: float) -> Caf:
    """The whole chapter: clusters, their identities, TARGET-OS, ISG/OS2, purity and verdicts."""
    validate("caf", locals())
    cells = single_cell(marker_source, include_unverified, cluster_score, alpha, min_mean_log2fc, min_pan_caf)
    ids = cluster_identities(cells, alpha)
    target = target_os(split_rule, alpha)
    isg = isg_os2(marker_source, include_unverified, bulk_score, endpoint, alpha, n_boot, seed)
    purity = purity_and_verdicts(cells, ids, target, isg, bulk_score, alpha, important_hr, important_rho,
                                 important_difference)
    glue = {**cells.glue, **ids.glue, **target.glue, **isg.glue, **purity.glue}
    return Caf(cells, target, isg, ids, purity, glue, key_results(cells, target, isg, ids, purity))
