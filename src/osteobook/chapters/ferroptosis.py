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
from ..prose import Markdown, intervals
from ..sources import linked_table, source_cell
from ..stats import decision, groups, scores
from ..stats import survival as sv
from ..stats.multiple_testing import adjust

PAPER_DOSE = 2.5  # uM erastin: the dose at which Co et al.'s Fig. 4a panel shows three steady states
GSE87437 = "osteosarc_prdx2/GSE87437_series_matrix.txt.gz"
FOLD_RTOL = 1e-4  # relative tolerance for our fold points against the authors' (their values come from a grid search)

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

    authors = model_parameters.load_fold_points()
    ours = {"onset": base["stress_onset"], "collapse": base["stress_collapse"]}
    fold_match = {name: {"ours": ours[name], "authors": authors[name],
                         "relative_difference": abs(ours[name] - authors[name]) / authors[name]} for name in ours}
    worst = max(v["relative_difference"] for v in fold_match.values())
    glue = {
        "s_onset": ours["onset"], "s_collapse": ours["collapse"],
        "s_onset_authors": authors["onset"], "s_collapse_authors": authors["collapse"],
        "fold_match_worst": worst, "fold_rtol": FOLD_RTOL,
        "fold_match_text": Markdown(
            f"Our fold points, S = {ours['onset']:.4f} and {ours['collapse']:.4f}, "
            + (f"match the authors' own values ({authors['onset']:.4f} and {authors['collapse']:.4f}, stored as "
               f"`bp_left` and `bp_right` in their Fig. 4a data file) to a relative difference of at most "
               f"{worst:.1e}, within the stated tolerance of {FOLD_RTOL:.0e}."
               if worst <= FOLD_RTOL else
               f"differ from the authors' own values ({authors['onset']:.4f} and {authors['collapse']:.4f}) by up "
               f"to {worst:.1e} (relative), more than the stated tolerance of {FOLD_RTOL:.0e}.")),
        "m_collapse": collapse.m, "m_floor": 1 / (1 + p.s_max),
        "e_onset": base["erastin_onset"], "e_collapse": base["erastin_collapse"],
        "x_onset": onset.x, "x_collapse": collapse.x,
        "theta_onset": base["inhibition_onset"], "theta_collapse": base["inhibition_collapse"],
        "ic50_collapse": base["ic50_multiple_collapse"], "n_states_paper": len(paper_states),
        "jump_up": jump_up, "jump_down": jump_down, "n_doses": erastin_points,
    }
    results = {
        "model_parameters": vars(p),
        "fold_collapse": folds.loc["collapse"].to_dict(), "fold_onset": folds.loc["onset"].to_dict(),
        "fold_match": {**fold_match, "rtol": FOLD_RTOL},
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


CLAIM_CEILING = "Any xCT inhibitor, sulfasalazine included, hits the same ceiling"
CEILING_VERDICTS = {
    "not_decidable": "Not decidable by this model",
    "questioned": "Questioned by the model",
}


@dataclass(frozen=True)
class Sensitivity:
    """The critical bypass under parameter uncertainty: one-at-a-time sweeps and a Latin hypercube."""

    ranges: pd.DataFrame       # the curated ranges (parameter, low, high, basis, sources)
    oat: pd.DataFrame          # `ros.one_at_a_time`: parameter, value, crit_collapse, crit_onset, ...
    oat_summary: pd.DataFrame  # per parameter: the range and the critical bypass at its ends (min, max)
    draws: pd.DataFrame        # `ros.latin_hypercube`: one row per draw
    band: dict[str, dict[str, float]]  # collapse / onset: p5, median, p95 over the bistable draws
    verdict: str               # a key of CEILING_VERDICTS
    glue: dict[str, Any]
    results: dict[str, Any]


def _share(value: float) -> str:
    """A bypass share for the page: 0 exactly as "0" (an unreachable collapse), otherwise a percentage."""
    return "0" if value == 0 else f"{value:.1%}"


def _band(values: pd.Series) -> dict[str, float]:
    return {"p5": float(values.quantile(0.05)), "median": float(values.median()), "p95": float(values.quantile(0.95))}


def ceiling_verdict(collapse: dict[str, float], onset: dict[str, float], span_limit: float) -> tuple[str, list[str]]:
    """The rule for the claim that any xCT inhibitor hits the same ceiling, and the reasons that decided it.

    Not decidable by this model when the 5-95% band of the critical bypass for collapse spans more than
    `span_limit`-fold (p95/p5; infinite when p5 is 0), or when priming stays reachable beyond the whole collapse
    band (onset p5 > collapse p95): then whether primed cells die rests on trigger waves through primed tissue,
    an assumption of Co et al.'s tissue model that a single-cell model cannot decide. Otherwise: questioned.
    """
    span = collapse["p95"] / collapse["p5"] if collapse["p5"] > 0 else np.inf
    reasons = []
    if span > span_limit:
        reasons.append("span")
    if onset["p5"] > collapse["p95"]:
        reasons.append("priming")
    return ("not_decidable" if reasons else "questioned"), reasons


def analyse_sensitivity(p: ros.RosParameters, seed: int, sensitivity_draws: int, decidable_span: float) -> Sensitivity:
    """One-at-a-time sweeps over the curated ranges and a Latin hypercube of `sensitivity_draws` sets (`seed`)."""
    validate("ferroptosis", locals())
    ranges = model_parameters.load_ranges()
    oat = ros.one_at_a_time(p, ranges)
    ends = oat.groupby("parameter", sort=False)
    oat_summary = pd.DataFrame({
        "low": ranges.set_index("parameter")["low"], "high": ranges.set_index("parameter")["high"],
        "collapse_min": ends["crit_collapse"].min(), "collapse_max": ends["crit_collapse"].max(),
        "onset_min": ends["crit_onset"].min(), "onset_max": ends["crit_onset"].max(),
        "bistable_share": ends["bistable"].mean()}).loc[ranges["parameter"]]
    draws = ros.latin_hypercube(p, ranges, sensitivity_draws, seed)
    bistable = draws[draws["bistable"]]
    band = {"collapse": _band(bistable["crit_collapse"]), "onset": _band(bistable["crit_onset"])}
    verdict, reasons = ceiling_verdict(band["collapse"], band["onset"], decidable_span)
    span = band["collapse"]["p95"] / band["collapse"]["p5"] if band["collapse"]["p5"] > 0 else np.inf
    unreachable = float((bistable["crit_collapse"] == 0).mean())
    base = ros.batch_critical_bypass({}, p).iloc[0]
    why = []
    if "span" in reasons:
        why.append(f"the 5–95% band of the critical bypass ({_share(band['collapse']['p5'])} to "
                   f"{_share(band['collapse']['p95'])}) spans more than {decidable_span:g}-fold"
                   + (f" (in {unreachable:.0%} of the draws erastin cannot remove the low-ROS state even without "
                      "CAF support)" if unreachable > 0 else ""))
    if "priming" in reasons:
        why.append(f"priming stays reachable up to a bypass of {band['onset']['p5']:.0%} even at the band's 5th "
                   f"percentile, beyond every collapse threshold in the band, so whether xCT inhibition kills "
                   "rests on trigger waves through primed tissue, an assumption of Co et al.'s tissue model")
    verdict_text = (f"**{CEILING_VERDICTS[verdict]}**: " + "; and ".join(why) + "."
                    if why else f"**{CEILING_VERDICTS[verdict]}**: the critical bypass stays within a "
                    f"{decidable_span:g}-fold band ({_share(band['collapse']['p5'])} to {_share(band['collapse']['p95'])}).")
    glue = {
        "lhs_draws": sensitivity_draws, "lhs_bistable": len(bistable), "lhs_seed": seed,
        "band_collapse_p5": band["collapse"]["p5"], "band_collapse_median": band["collapse"]["median"],
        "band_collapse_p95": band["collapse"]["p95"], "band_onset_p5": band["onset"]["p5"],
        "band_onset_median": band["onset"]["median"], "band_onset_p95": band["onset"]["p95"],
        "band_unreachable": unreachable, "decidable_span": decidable_span,
        "oat_smax_low": float(oat_summary.at["s_max", "collapse_min"]),
        "oat_smax_high": float(oat_summary.at["s_max", "collapse_max"]),
        "oat_kg_low": float(oat_summary.at["kg", "collapse_min"]),
        "oat_kg_high": float(oat_summary.at["kg", "collapse_max"]),
        "crit_bypass_batch": float(base["crit_collapse"]),
        "ceiling_verdict": Markdown(verdict_text),
        "ceiling_verdict_short": Markdown(f"**{CEILING_VERDICTS[verdict]}**"),
        "ceiling_verdict_inline": Markdown(f"**{CEILING_VERDICTS[verdict].lower()}**"),
        "band_collapse_range": Markdown(f"{_share(band['collapse']['p5'])} to {_share(band['collapse']['p95'])}"),
    }
    results = {"sensitivity": {
        "seed": seed, "draws": sensitivity_draws, "bistable_draws": len(bistable), "band": band,
        "collapse_unreachable_share": unreachable, "span": None if not np.isfinite(span) else float(span),
        "span_limit": decidable_span, "verdict": verdict, "reasons": reasons, "claim": CLAIM_CEILING,
        "one_at_a_time": oat_summary.reset_index(names="parameter").to_dict("records"),
        "ranges": ranges[["parameter", "low", "high", "basis"]].to_dict("records"),
    }}
    return Sensitivity(ranges, oat, oat_summary, draws, band, verdict, glue, results)


def sensitivity_table(sensitivity: Sensitivity) -> pd.io.formats.style.Styler:
    """Each uncertain parameter: its range, the basis of the range and the critical bypass at the sweep's ends."""
    summary, ranges = sensitivity.oat_summary, sensitivity.ranges.set_index("parameter")
    shown = pd.DataFrame({
        "parameter": summary.index,
        "range": [f"{lo:g}–{hi:g}" for lo, hi in zip(summary["low"], summary["high"], strict=True)],
        "basis of the range": ranges.loc[summary.index, "notes"].to_numpy(),
        "critical bypass, collapse": [f"{lo:.1%}–{hi:.1%}" for lo, hi in
                                      zip(summary["collapse_min"], summary["collapse_max"], strict=True)],
        "critical bypass, priming": [f"{lo:.0%}–{hi:.0%}" for lo, hi in
                                     zip(summary["onset_min"], summary["onset_max"], strict=True)],
        "sweep bistable": summary["bistable_share"].map("{:.0%}".format).to_numpy(),
    })
    return shown.style.hide(axis="index").set_caption(
        "One-at-a-time sweeps: each parameter over its range, the others at the authors' values")


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


# The direction each score predicts if ferroptosis resistance supported therapy resistance (the review's claim):
# more driver activity -> lower hazard (-1), more suppressor activity -> higher hazard (+1).
CLAIMED_DIRECTION = {"signed": -1, "drivers": -1, "suppressors": 1, "NFE2L2": 1}


def _hr_text(row: pd.Series) -> str:
    return f"HR {row['hr']:.2f} per SD (95% CI {row['ci_low']:.2f}–{row['ci_high']:.2f}), p = {row['p']:.3f}"


def survival_alt(cox: pd.DataFrame) -> str:
    """The survival figure's alt text, generated from the same rows the figure draws (label, ci_low, ci_high)."""
    return (f"Forest plot of {len(cox)} hazard ratios per standard deviation with 95% confidence intervals on a log "
            f"axis and a dashed line at 1: {intervals(cox['label'], cox['ci_low'], cox['ci_high'])}.")


def analyse_survival(scoring_method: str, ambiguous_genes: str, important_hr: float) -> Survival:
    """Hazard ratios per SD of the FerrDb driver, suppressor and signed scores (z-scored within cohort), each read
    with the inconclusive-vs-against rule (`decision.association`, clinically important HR `important_hr` per SD)
    in the direction the review's claim predicts."""
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
    cox["p_holm"] = adjust(cox["p"], "Holm")
    cox["direction"] = cox["term"].map(CLAIMED_DIRECTION)
    cox["verdict"] = [decision.association(lo, hi, important_hr, d) for lo, hi, d in
                      zip(cox["ci_low"], cox["ci_high"], cox["direction"], strict=True)]
    cox["verdict_text"] = cox["verdict"].map(decision.ASSOCIATION_VERDICTS)
    signed = cox.set_index("term").loc["signed"]
    driver = cox.set_index("term").loc["drivers"]
    detectable = decision.detectable_hr(int(signed["events"]))
    autophagy_genes = set(merged.index)  # the 193 autophagy-related genes the Lqz-DC authors selected
    ferrdb_drivers = set(ferrdb.loc[ferrdb["class"] == "driver", "gene"])
    in_autophagy = sorted(set(drivers) & autophagy_genes)
    holm_note = ("and it stays below 0.05 after Holm adjustment over the four scores"
                 if driver["p_holm"] < 0.05 else
                 f"but not after Holm adjustment over the four scores (p = {driver['p_holm']:.2f})")
    driver_text = (
        f"The FerrDb driver score ({len(drivers)} genes) has {_hr_text(driver)}: "
        f"{decision.ASSOCIATION_VERDICTS[driver['verdict']]} (a clinically important effect is taken as HR "
        f"{important_hr:g} per SD, or 1/{important_hr:g} in the direction the claim predicts). Its p-value is below 0.05, "
        f"{holm_note}. All {len(in_autophagy)} of these drivers are among the {len(autophagy_genes)} autophagy-related "
        f"genes of the matrix, by construction: the matrix's authors kept only autophagy-related genes, so these are "
        f"the {len(in_autophagy)} of FerrDb's {len(ferrdb_drivers)} drivers that are also autophagy genes, and the "
        f"score is an autophagy-gene score as much as a ferroptosis one: "
        f"{', '.join(in_autophagy)}.")
    glue = {
        "driver_text": Markdown(driver_text),
        "driver_summary": Markdown(
            f"The driver score (HR {driver['hr']:.2f}, p = {driver['p']:.3f}) rests on autophagy genes. "
            f"After Holm adjustment over the four scores tested its p-value is {driver['p_holm']:.2f}, "
            f"{'still below' if driver['p_holm'] < 0.05 else 'above'} 0.05."), "survival_alt": survival_alt(cox.assign(label=cox["term"].map(labels))),
        "hr_drivers": float(driver["hr"]), "hr_drivers_low": float(driver["ci_low"]),
        "hr_drivers_high": float(driver["ci_high"]), "p_drivers": float(driver["p"]),
        "n_drivers_autophagy": len(in_autophagy), "n_drivers": len(drivers), "n_ferrdb_drivers": len(ferrdb_drivers),
        "detectable_hr": detectable, "important_hr": important_hr,
        "signed_verdict": Markdown(decision.ASSOCIATION_VERDICTS[signed["verdict"]]),
        "n_surv": int(signed["n"]), "n_events": int(signed["events"]),
        "n_ferrdb_surv": len(set(ferrdb["gene"]) & set(merged.index)), "n_both_surv": len(both_here),
        "cohort_offset": offset, "hr_signed": float(signed["hr"]), "hr_signed_low": float(signed["ci_low"]),
        "hr_signed_high": float(signed["ci_high"]), "p_signed": float(signed["p"]),
    }
    results = {"survival": {"n": int(signed["n"]), "events": int(signed["events"]), "cohort_offset_log2": offset,
                            "drivers": drivers, "suppressors": suppressors, "both": both_here,
                            "important_hr": important_hr, "detectable_hr": detectable,
                            "drivers_in_autophagy_list": in_autophagy, "alt_text": glue["survival_alt"],
                            "cox": cox.to_dict("records")}}
    return Survival(cox.assign(label=cox["term"].map(labels)), glue, results)


def cox_table(cox: pd.DataFrame) -> pd.DataFrame:
    """Every Cox model of the survival section for readers: HR with CI, p, Holm p, claimed direction, verdict."""
    return pd.DataFrame({
        "score": cox["label"],
        "HR per SD (95% CI)": [f"{r.hr:.2f} ({r.ci_low:.2f}–{r.ci_high:.2f})" for r in cox.itertuples()],
        "p": cox["p"].map("{:.3f}".format), "Holm p (4 scores)": cox["p_holm"].map("{:.2f}".format),
        "claim predicts": cox["direction"].map({-1: "HR < 1", 1: "HR > 1"}),
        "verdict (rule)": cox["verdict_text"],
    })


def probe_table(probes: pd.DataFrame) -> pd.io.formats.style.Styler:
    """The scored probes for readers: gene, probe, FerrDb class, curation status, and the source and quote."""
    shown = (probes.assign(**{"source and quote": probes.apply(source_cell, axis=1)})
             [["gene", "probe_id", "ferrdb_class", "status", "source and quote"]]
             .rename(columns={"ferrdb_class": "FerrDb class"}))
    return linked_table(shown, ["source and quote"])


def key_results(*parts: Model | CafScenarios | Sensitivity | Response | Survival) -> dict[str, Any]:
    """The chapter's key results file (the runner adds the resolved parameters)."""
    return {key: value for part in parts for key, value in part.results.items()}
