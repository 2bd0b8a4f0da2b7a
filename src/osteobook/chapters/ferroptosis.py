"""Chapter "Ferroptosis: would CAF cysteine supply protect osteosarcoma cells?".

One analysis per section: the Co et al. ROS model (`analyse_model`), the CAF scenarios (`analyse_caf`),
response to chemotherapy in GSE87437 (`analyse_response`) and survival in TARGET + GSE21257
(`analyse_survival`). Each returns the tables the page shows, the values glued into the text (`glue`)
and its part of the key results file (`results`; `key_results` joins them). Figures are drawn by
`osteobook.plots.model` and `osteobook.plots.ferroptosis_figures` from these numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import autophagy, expression, model_parameters
from ..datasets.curated import read_table
from ..datasets.registry import fetch
from ..engine.params import validate
from ..models import ros
from ..sources import linked_table, source_cell
from ..stats import groups, scores
from ..stats import survival as sv
from ..stats.multiple_testing import adjust

PAPER_DOSE = 2.5  # uM erastin: the dose at which Co et al.'s Fig. 4a panel shows three steady states
GSE87437 = "osteosarc_prdx2/GSE87437_series_matrix.txt.gz"
FERRDB = "ferrdb/ferrdbhs.rda"


def load_parameters() -> ros.RosParameters:
    """The model's rate constants from the curated table (verified and secondary values)."""
    return ros.RosParameters.from_values(model_parameters.load())


def parameter_table() -> pd.io.formats.style.Styler:
    """The curated parameter table for readers: name, value, unit, meaning, status, and its source and quote."""
    table = read_table(model_parameters.PARAMETER_TABLE, model_parameters.SCHEMA)
    shown = table[["parameter", "value", "unit", "meaning", "status"]].assign(
        value=table["value"].map("{:g}".format), **{"source and quote": table.apply(source_cell, axis=1)})
    return linked_table(shown, ["source and quote"])


@dataclass(frozen=True)
class Model:
    """Steady states, folds and hysteresis of the model without CAFs."""

    folds: pd.DataFrame          # index onset/collapse: x, m, stress, erastin
    curve: pd.DataFrame          # steady states against erastin (`ros.diagram`)
    paper_states: np.ndarray     # steady states at PAPER_DOSE
    sweep: pd.DataFrame          # erastin, up, down: end points of the quasi-static sweeps
    time_courses: pd.DataFrame   # start, t, ros: runs at PAPER_DOSE from either side of the unstable state
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse_model(p: ros.RosParameters, erastin_min: float, erastin_max: float, erastin_points: int) -> Model:
    """Folds, thresholds, the steady-state curve and a hysteresis sweep over `erastin_points` doses."""
    validate("ferroptosis", locals())
    collapse, onset = ros.fold_points(p)
    base = ros.thresholds(p)
    folds = pd.DataFrame({name: {"x": fold.x, "m": fold.m, "stress": base[f"stress_{name}"],
                                 "erastin": base[f"erastin_{name}"]}
                          for name, fold in (("onset", onset), ("collapse", collapse))}).T
    paper_states = ros.steady_states(float(ros.erastin_multiplier(PAPER_DOSE, p)), p)

    doses = np.geomspace(erastin_min, erastin_max, erastin_points)
    up = ros.hysteresis_sweep(doses, p, x_start=0.0)
    down = ros.hysteresis_sweep(doses[::-1], p, x_start=ros.x_ceiling(p))[::-1]
    split = (collapse.x + onset.x) / 2  # any ROS level between the two folds separates the branches
    jump_up = float(doses[np.argmax(up > split)])
    jump_down = float(doses[np.flatnonzero(down > split)[0]])

    starts = [0.0, paper_states[1] - 0.05, paper_states[1] + 0.05, ros.x_ceiling(p)]
    runs = [ros.simulate(x0, PAPER_DOSE, p, t_end=60) for x0 in starts]
    time_courses = pd.concat([pd.DataFrame({"start": x0, "t": run.t, "ros": run.y[0]})
                              for x0, run in zip(starts, runs, strict=True)], ignore_index=True)

    glue = {
        "e_onset": base["erastin_onset"], "e_collapse": base["erastin_collapse"],
        "x_onset": onset.x, "x_collapse": collapse.x,
        "theta_onset": base["inhibition_onset"], "theta_collapse": base["inhibition_collapse"],
        "ic50_collapse": base["ic50_multiple_collapse"], "n_states_paper": len(paper_states),
        "jump_up": jump_up, "jump_down": jump_down, "n_doses": erastin_points,
    }
    results = {
        "model_parameters": vars(p),
        "fold_collapse": folds.loc["collapse"].to_dict(), "fold_onset": folds.loc["onset"].to_dict(),
        "bistable_window_uM": [base["erastin_onset"], base["erastin_collapse"]],
        "steady_states_at_2_5uM": paper_states.tolist(),
        "hysteresis": {"erastin": doses.tolist(), "sweep_up": up.tolist(), "sweep_down": down.tolist(),
                       "jump_up_uM": jump_up, "jump_down_uM": jump_down},
    }
    sweep = pd.DataFrame({"erastin": doses, "up": up, "down": down})
    return Model(folds, ros.diagram(p), paper_states, sweep, time_courses, glue, results)


@dataclass(frozen=True)
class CafScenarios:
    """Erastin thresholds under CAF support, for every scenario."""

    thresholds: pd.DataFrame   # scenario x tabulated CAF level: `ros.thresholds` columns
    curves: pd.DataFrame       # scenario, caf_support, erastin_onset, erastin_collapse, inhibition_collapse
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse_caf(p: ros.RosParameters, caf_scenario: str, caf_levels: list[float], caf_max: float,
                erastin_min: float, erastin_max: float) -> CafScenarios:
    """Thresholds at `caf_levels`, critical CAF support per scenario, and a root-finding check on a grid."""
    validate("ferroptosis", locals())
    thresholds = pd.DataFrame([{"scenario": scenario, "caf_support": a, **ros.thresholds(p, a, scenario)}
                               for scenario in ros.SCENARIOS for a in caf_levels])
    critical = {s: {"collapse": ros.critical_caf(p, s, "collapse"), "onset": ros.critical_caf(p, s, "onset")}
                for s in ros.SCENARIOS}
    support = np.linspace(0, caf_max, 300)
    curves = pd.DataFrame([{"scenario": s, "caf_support": a, **ros.thresholds(p, a, s)}
                           for s in ros.SCENARIOS for a in support])

    # Independent check: count steady states on a grid and compare with the closed-form thresholds.
    grid_e = np.geomspace(max(erastin_min, 0.05), erastin_max, 24)
    grid_a = np.linspace(0, caf_max * 0.98, 12)
    counts = ros.regions(grid_e, grid_a, p, caf_scenario)
    window = [ros.thresholds(p, a, caf_scenario) for a in grid_a]
    closed = np.array([[3 if t["erastin_onset"] < e < t["erastin_collapse"] else 1 for e in grid_e] for t in window])
    agree, total = int((counts == closed).sum()), int(counts.size)

    glue = {**{f"crit_{s}": critical[s]["collapse"] for s in ros.SCENARIOS},
            "crit_bypass_onset": critical["bypass"]["onset"], "scenario": caf_scenario,
            "grid_agree": agree, "grid_total": total}
    results = {"caf_thresholds": thresholds.to_dict("records"), "critical_caf": critical,
               "caf_scenario": caf_scenario, "region_check": {"agree": agree, "total": total}}
    return CafScenarios(thresholds, curves, glue, results)


def threshold_table(thresholds: pd.DataFrame, scenario: str) -> pd.io.formats.style.Styler:
    """The thresholds of one scenario for readers, 'never' / 'none suffices' where no dose reaches them."""
    shown = thresholds[thresholds["scenario"] == scenario]

    def dose(digits: int, unreachable: str):
        return lambda v: f"{v:.{digits}f}" if np.isfinite(v) else unreachable

    return pd.DataFrame({
        "CAF support a": shown["caf_support"].map("{:g}".format),
        "bistability from (µM erastin)": shown["erastin_onset"].map(dose(2, "never")),
        "ferroptosis from (µM erastin)": shown["erastin_collapse"].map(dose(1, "never")),
        "xCT blocked for ferroptosis": shown["inhibition_collapse"].map(lambda v: f"{v:.0%}" if v < 1 else "> 100%"),
        "inhibitor dose (× its IC50)": shown["ic50_multiple_collapse"].map(dose(1, "none suffices")),
    }).style.hide(axis="index").set_caption(f"Erastin thresholds under the '{scenario}' scenario")


@dataclass(frozen=True)
class Response:
    """GSE87437: the defence-gene score and each gene by response to preoperative chemotherapy."""

    crosstab: pd.DataFrame     # Huvos grade x GEO response label, as given in the series header
    probes: pd.DataFrame       # the sourced probe map with each gene's FerrDb class
    score: pd.Series           # defence-gene score per tumour
    response: pd.Series        # GOOD / POOR per tumour
    per_gene: pd.DataFrame     # permutation test per gene (poor minus good), with Holm-adjusted p
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse_response(seed: int, response_definition: str, probe_collapse: str, scoring_method: str,
                     gene_set: str, n_permutations: int, include_unverified: bool) -> Response:
    """Permutation tests (poor minus good; `seed` drives the shuffles) of the score and of each gene."""
    validate("ferroptosis", locals())
    series = expression.read_series_matrix(fetch(GSE87437))
    samples = series.samples
    response = expression.response_labels(samples, response_definition)
    crosstab = pd.crosstab(samples[expression.HUVOS_COLUMN].str.replace(r"\s+", " ", regex=True),
                           samples[expression.RESPONSE_COLUMN])
    geo_good = samples[expression.RESPONSE_COLUMN] == "GOOD"
    huvos_good = expression.response_labels(samples, "huvos") == "GOOD"
    probe_map = expression.load_probe_map(include_unverified=include_unverified, gene_set=gene_set)
    genes = scores.collapse_probes(np.log2(series.expression + 1), probe_map, probe_collapse)
    score = scores.gene_set_score(genes, list(genes.index), scoring_method)
    score_test = groups.permutation_test(score, response, "POOR", "GOOD", n_permutations, seed)
    per_gene = pd.DataFrame({g: groups.permutation_test(genes.loc[g], response, "POOR", "GOOD", n_permutations, seed)
                             for g in genes.index}).T
    per_gene["p_holm"] = adjust(per_gene["p"], "Holm")
    gpx4 = per_gene.reindex(["GPX4"]).iloc[0]  # all NaN when the gene set leaves GPX4 out
    ferrdb = expression.read_ferrdb(fetch(FERRDB))
    ferrdb_class = ferrdb.groupby("gene")["class"].agg(lambda c: " and ".join(sorted(c)))
    n_good, n_poor = int((response == "GOOD").sum()), int((response == "POOR").sum())
    disagree = int((geo_good != huvos_good).sum())
    glue = {
        "n_good": n_good, "n_poor": n_poor, "n_label_huvos_disagree": disagree, "n_genes_scored": len(genes),
        "g_score": score_test["hedges_g"], "p_score": score_test["p"], "g_score_low": score_test["g_ci_low"],
        "g_score_high": score_test["g_ci_high"], "diff_score": score_test["difference"],
        "g_gpx4": float(gpx4["hedges_g"]), "p_gpx4": float(gpx4["p"]), "p_gpx4_holm": float(gpx4["p_holm"]),
    }
    results = {"gse87437": {
        "n_good": n_good, "n_poor": n_poor, "label_huvos_disagree": disagree,
        "genes": list(genes.index), "probes": probe_map["probe_id"].tolist(),
        "score_test": score_test, "per_gene": per_gene.to_dict("index"),
        "scores": score.to_dict(), "response": response.to_dict(),
    }}
    return Response(
        crosstab.rename_axis(index="Huvos grade (header)", columns="response label (header)"),
        probe_map.assign(ferrdb_class=probe_map["gene"].map(ferrdb_class).fillna("not listed")),
        score, response, per_gene, glue, results)


@dataclass(frozen=True)
class Survival:
    """TARGET + GSE21257: FerrDb scores and overall survival, one Cox model per score."""

    cox: pd.DataFrame          # a row per score (adjusted for cohort), with a readers' `label`
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse_survival(scoring_method: str, ambiguous_genes: str) -> Survival:
    """Hazard ratios per SD of the FerrDb driver, suppressor and signed scores (z-scored within cohort)."""
    validate("ferroptosis", locals())
    merged = autophagy.read_matrix()
    clinical = autophagy.read_clinical(merged.columns)
    ferrdb = expression.read_ferrdb(fetch(FERRDB))
    cohort = autophagy.cohort_of(merged.columns)
    offset = float(merged.T.groupby(cohort).mean().T.diff(axis=1).iloc[:, 1].abs().median())
    within = pd.concat([scores.zscore_rows(merged.loc[:, cohort == c]) for c in ["GSE21257", "TARGET"]], axis=1)
    classes = expression.ferrdb_classes(ferrdb, ambiguous_genes)
    drivers, suppressors, both_here = ([g for g in classes[name] if g in within.index]
                                       for name in ("driver", "suppressor", "both"))
    driver_score = scores.gene_set_score(within, drivers, scoring_method)
    suppressor_score = scores.gene_set_score(within, suppressors, scoring_method)
    frame = clinical.assign(signed=driver_score - suppressor_score, drivers=driver_score,
                            suppressors=suppressor_score, NFE2L2=within.loc["NFE2L2"],
                            target=(cohort == "TARGET").astype(float))
    frame = frame[frame["futime"] > 0]  # one tumour has zero follow-up
    labels = {"signed": "driver minus suppressor score", "drivers": f"driver score ({len(drivers)} genes)",
              "suppressors": f"suppressor score ({len(suppressors)} genes)", "NFE2L2": "NFE2L2 (core axis)"}
    cox = pd.concat([sv.cox(frame, "futime", "fustate", [c, "target"], per_sd=[c]).iloc[[0]] for c in labels],
                    ignore_index=True)
    signed = cox.set_index("term").loc["signed"]
    glue = {
        "n_surv": int(signed["n"]), "n_events": int(signed["events"]),
        "n_ferrdb_surv": len(set(ferrdb["gene"]) & set(merged.index)), "n_both_surv": len(both_here),
        "cohort_offset": offset, "hr_signed": float(signed["hr"]), "hr_signed_low": float(signed["ci_low"]),
        "hr_signed_high": float(signed["ci_high"]), "p_signed": float(signed["p"]),
    }
    results = {"survival": {"n": int(signed["n"]), "events": int(signed["events"]), "cohort_offset_log2": offset,
                            "drivers": drivers, "suppressors": suppressors, "both": both_here,
                            "cox": cox.to_dict("records")}}
    return Survival(cox.assign(label=cox["term"].map(labels)), glue, results)


def probe_table(probes: pd.DataFrame) -> pd.io.formats.style.Styler:
    """The scored probes for readers: gene, probe, FerrDb class, curation status, and the source and quote."""
    shown = (probes.assign(**{"source and quote": probes.apply(source_cell, axis=1)})
             [["gene", "probe_id", "ferrdb_class", "status", "source and quote"]]
             .rename(columns={"ferrdb_class": "FerrDb class"}))
    return linked_table(shown, ["source and quote"])


def key_results(*parts: Model | CafScenarios | Response | Survival) -> dict[str, Any]:
    """The chapter's key results file (the runner adds the resolved parameters)."""
    return {key: value for part in parts for key, value in part.results.items()}
