"""Chapter "The PI3K/AKT/mTOR pathway in osteosarcoma": trials, pathway scores in tumours, cell lines.

Three analyses, one entry point each, and `analyse` that runs them and checks the reviews' claims:

- `analyse_trials`: the mTOR-pathway arms of the curated trial tables as a structured evidence table;
  each arm's landmark progression-free rate against a historical benchmark (pooled only when at least
  three comparable arms exist); retrospective series, maintenance trials and mixed-sarcoma groups apart.
- `analyse_tumours`: hallmark mTORC1 and PI3K/AKT/mTOR scores and a signed curated core set in three
  cohorts (GSE21257 survival and metastasis, GSE87437 chemotherapy response, the TARGET + GSE21257
  autophagy matrix), with a proliferation score beside them, a second scoring method and BH control.
- `analyse_cell_lines`: GDSC2 osteosarcoma lines against all lines for mTOR, PI3K and AKT inhibitors and
  the trials' partner drugs (rank test, effect sizes, Holm).

Each returns its tables, the values glued into the text (`glue`) and its part of the results file
(`results`). Figures are drawn by `osteobook.plots.mtor_figures` from these numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import autophagy, genesets, gpl570, gse21257, mirna, mtor_tables, trials
from ..datasets import expression as expression_data
from ..datasets import gdsc as gdsc_data
from ..datasets.registry import fetch
from ..engine.params import validate
from ..prose import Markdown, intervals, trial_name
from ..sources import linked_table, source_cell
from ..stats import decision, drug_response, landmarks, pathway, scores
from ..stats import survival as sv
from ..stats.benchmark import pooled_versus
from ..stats.groups import logistic_per_sd, permutation_test, spearman_ci
from ..stats.meta_analysis import pool_proportions
from ..stats.multiple_testing import adjust
from ..stats.proportions import proportion_ci

GSE87437 = "osteosarc_prdx2/GSE87437_series_matrix.txt.gz"
GDSC2 = "lqz_autophagy/GDSC2_Res.rds"
PATHWAY_SETS = {"MTORC1_SIGNALING": "Hallmark mTORC1 signalling",
                "PI3K_AKT_MTOR_SIGNALING": "Hallmark PI3K/AKT/mTOR signalling",
                "core": "curated core set (activators minus inhibitors)"}
PROLIFERATION_LABELS = {"E2F_TARGETS": "Hallmark E2F targets", "G2M_CHECKPOINT": "Hallmark G2/M checkpoint"}
METHOD_LABELS = {"mean_z": "mean z-score", "rank": "within-sample rank score"}
OTHER_METHOD = {"mean_z": "rank", "rank": "mean_z"}
COHORT_SHORT = {"GSE21257": "GSE21257", "GSE87437": "GSE87437", "autophagy": "TARGET + GSE21257"}
COHORT_LABELS = {"GSE21257": "GSE21257 (53 biopsies)", "GSE87437": "GSE87437 (21 tumours)",
                 "autophagy": "TARGET + GSE21257 autophagy matrix"}
MAINTENANCE_BENCHMARK = "LAGMAY2016_AOST0221_EFS12"  # resected disease: the fitting control for maintenance trials
MIN_POOL = 3  # fewer comparable arms cannot estimate between-arm variance: no pooled number
MIN_PROLIFERATION_GENES = 20  # a proliferation score needs many cell-cycle genes to track proliferation
MIN_OSTEOSARCOMA_LINES = 3
FOUR_MONTHS_WEEKS = landmarks.FOUR_MONTHS
FERROPTOSIS_GENES = ["SLC7A11", "GPX4", "NFE2L2"]  # the review's "downstream regulators" of ferroptosis
MIR21 = "hsa-miR-21-5p"
CORRELATION_VERDICTS = {"important": "important positive", "gain_uncertain_size": "positive, size unsettled",
                        "gain_small": "positive but below the important ρ", "inconclusive": "inconclusive",
                        "against": "no important positive correlation", "worse": "negative"}
MEASURE_SHORT = {"hazard ratio per SD": "HR", "odds ratio per SD": "OR", "Hedges' g (poor − good)": "g"}


def listing(items) -> str:
    """'a, b and c' for prose ('none' when empty)."""
    items = [str(i) for i in items]
    return "none" if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _p(p: float) -> str:
    """p-values for prose: 0.012, or 3.1e-05 when small."""
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"


def plain(values: dict[str, Any]) -> dict[str, Any]:
    """Glue values with NumPy scalars turned into the Python numbers they hold (so they format in the text)."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in values.items()}


# ---- trials --------------------------------------------------------------------------------------

def mtor_evidence(include_unverified: bool) -> pd.DataFrame:
    """Every outcome row of an arm whose regimen contains an mTOR inhibitor, prospective or not."""
    table = trials.evidence(include_unverified=include_unverified, osteosarcoma_only=False, prospective_only=False)
    return table.loc[table["drug_class"].str.contains("mTOR")].reset_index(drop=True)


def arm_role(arm: pd.Series) -> str:
    """How the chapter uses an arm: the benchmark comparison, or context only (and why)."""
    if arm["design"] != "prospective trial":
        return "context only: retrospective series, never pooled"
    if not arm["osteosarcoma_specific"]:
        return "context only: not osteosarcoma-specific"
    return "osteosarcoma trial arm"


def _orr_text(rows: pd.DataFrame) -> str:
    """'2/38 (5.3%); the source prints 10%' or '0 responders (stratum size not reported)'."""
    orr = rows.loc[rows["endpoint"] == "orr"]
    if orr.empty:
        return "not reported"
    row = orr.iloc[0]
    if pd.isna(row["n"]) or pd.isna(row["events"]):
        count = row["events"] if pd.notna(row["events"]) else row["estimate"] * (row["n"] if pd.notna(row["n"]) else 1)
        return ("no objective responses" if count == 0 else f"{row['estimate']:.0%}") + " (denominator not reported)"
    rate = row["events"] / row["n"]
    text = f"{int(row['events'])}/{int(row['n'])} ({rate:.1%})"
    if pd.notna(row["estimate"]) and abs(row["estimate"] - rate) > 0.005:
        text += f"; the source prints {row['estimate']:.0%}"
    return text


def _landmark_text(rows: pd.DataFrame) -> str:
    """'6 months: 17/38; 2 months: 63% of 38' for every landmark row of an arm."""
    parts = []
    for row in rows.loc[rows["endpoint"] == "pfs_landmark"].sort_values("landmark_weeks").itertuples():
        label = row.landmark_label if isinstance(row.landmark_label, str) else f"{row.landmark_weeks:g} weeks"
        value = (f"{int(row.events)}/{int(row.n)}" if pd.notna(row.events) and pd.notna(row.n)
                 else f"{row.estimate:.0%} of {int(row.n)}" if pd.notna(row.n) else f"{row.estimate:.0%}")
        parts.append(f"{label}: {value}")
    return "; ".join(parts) or "not reported"


def _median_text(rows: pd.DataFrame, endpoint: str) -> str:
    """'5 (2–7)' months, or '–'."""
    found = rows.loc[rows["endpoint"] == endpoint]
    if found.empty:
        return "–"
    row = found.iloc[0]
    ci = f" ({row['ci_low']:g}–{row['ci_high']:g})" if pd.notna(row["ci_low"]) else ""
    return f"{row['estimate']:g}{ci}"


def evidence_table(evidence: pd.DataFrame) -> pd.DataFrame:
    """The structured evidence table: one row per arm, every reported endpoint, the arm's role here."""
    rows = []
    for arm_id, part in evidence.groupby("arm_id", sort=False):
        arm = part.iloc[0]
        rows.append({"arm_id": arm_id, "trial_id": arm["trial_id"], "trial": trial_name(arm["trial_label"]),
                     "regimen": arm["arm_label"], "drug_class": arm["drug_class"], "design": arm["design"],
                     "phase": arm["phase"], "n_enrolled": arm["n_enrolled"], "bibkey": arm["bibkey"],
                     "objective_response": _orr_text(part), "landmark_pfs": _landmark_text(part),
                     "median_pfs": _median_text(part, "median_pfs"), "median_os": _median_text(part, "median_os"),
                     "statuses": ", ".join(sorted(set(part["status"]))), "role": arm_role(arm),
                     "sources": "".join(source_cell(value) for _, value in part.iterrows())})
    table = pd.DataFrame(rows)
    order = table["role"].ne("osteosarcoma trial arm")
    return table.assign(_order=order).sort_values(["_order", "trial"]).drop(columns="_order").reset_index(drop=True)


def landmark_direction(weeks: float) -> str:
    """Whether an arm's landmark makes the comparison with a 4-month benchmark conservative or favourable."""
    if abs(weeks - FOUR_MONTHS_WEEKS) < 0.5:
        return "same landmark as the benchmark"
    if weeks > FOUR_MONTHS_WEEKS:
        return "later landmark: the comparison is conservative"
    return "earlier landmark: the comparison favours the arm"


def compare_with_benchmark(rows: pd.DataFrame, benchmark: pd.Series, important_gain: float) -> pd.DataFrame:
    """Per arm: exact CI of its rate, the difference from the benchmark (Newcombe CI) and the verdict key."""
    if rows.empty:
        return rows.assign(difference=[], diff_low=[], diff_high=[], verdict=[], verdict_text=[])
    low, high = proportion_ci(rows["events"].astype(int), rows["n"].astype(int), "exact")
    out = []
    for row, lo, hi in zip(rows.itertuples(), low, high, strict=True):
        diff = decision.rate_difference(int(row.events), int(row.n), int(benchmark["events"]), int(benchmark["n"]))
        out.append({"arm_id": row.arm_id, "trial": trial_name(row.trial_label), "regimen": row.arm_label,
                    "landmark_weeks": row.landmark_weeks, "landmark": landmark_direction(row.landmark_weeks),
                    "events": int(row.events), "n": int(row.n), "count_source": row.count_source,
                    "reported": float(row.estimate), "estimator": row.estimator, "status": row.status,
                    "proportion": int(row.events) / int(row.n), "ci_low": float(lo), "ci_high": float(hi),
                    "benchmark_proportion": diff["p2"], "difference": diff["difference"],
                    "diff_low": diff["ci_low"], "diff_high": diff["ci_high"],
                    "verdict": decision.classify(diff["ci_low"], diff["ci_high"], 0.0, important_gain)})
    table = pd.DataFrame(out)
    return table.assign(verdict_text=table["verdict"].map(decision.VERDICTS))


@dataclass(frozen=True)
class Trials:
    """The mTOR-pathway arms, their comparison with the benchmark and the context results."""

    evidence: pd.DataFrame  # every outcome row read (prospective and retrospective)
    arms: pd.DataFrame  # the structured evidence table, one row per arm
    landmarks: pd.DataFrame  # arms with a landmark under the rule, against the benchmark
    pooled: dict[str, Any] | None  # only with at least MIN_POOL comparable arms
    benchmark: pd.Series
    context: pd.DataFrame  # maintenance and mixed-sarcoma results, design targets
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse_trials(landmark_rule: str, benchmark: str, important_gain: float, include_unverified: bool) -> Trials:
    """Structured evidence table of the mTOR-pathway arms and each arm's landmark PFS against `benchmark`."""
    validate("mtor", locals())
    bench = trials.load_benchmarks().set_index("benchmark_id").loc[benchmark]
    evidence = mtor_evidence(include_unverified)
    arms = evidence_table(evidence)
    prospective = evidence.loc[(evidence["design"] == "prospective trial") & evidence["osteosarcoma_specific"]]
    harmonised = landmarks.harmonise(prospective, landmark_rule, "kaplan-meier")
    compared = compare_with_benchmark(harmonised, bench, important_gain)
    pooled = None
    if len(compared) >= MIN_POOL:
        fit = pool_proportions(compared["events"], compared["n"])
        pooled = {**fit, **pooled_versus(fit, bench, "logit")}
    context = mtor_tables.load_context(include_unverified)
    glue = _trial_glue(evidence, arms, compared, pooled, bench, context, landmark_rule, important_gain)
    results = {
        "benchmark": {"id": benchmark, "events": int(bench["events"]), "n": int(bench["n"]),
                      "estimate": float(bench["estimate"])},
        "arms": arms[["arm_id", "trial", "design", "role", "objective_response"]].to_dict(orient="records"),
        "landmark_rule": landmark_rule, "important_gain": important_gain,
        "compared": compared.to_dict(orient="records"), "n_comparable": len(compared),
        "pooled": None if pooled is None else {k: v for k, v in pooled.items() if not isinstance(v, str)},
    }
    return Trials(evidence, arms, compared, pooled, bench, context, plain(glue), results)


def _landmark_alt(compared: pd.DataFrame, bench: pd.Series, important_gain: float) -> str:
    """What the landmark figure shows, from its rows: arms wholly above the benchmark band, and how many intervals
    contain the clinically important line."""
    line = float(bench["estimate"]) + important_gain
    above = int((compared["ci_low"] > float(bench["ci_high"])).sum())
    inside = int(((compared["ci_low"] <= line) & (compared["ci_high"] >= line)).sum())
    return (f"{above} of the {len(compared)} arms lie wholly to the right of the band, and the dashed line of a "
            f"clinically important gain ({line:.0%}) falls inside {inside} of the {len(compared)} intervals")


def _trial_glue(evidence: pd.DataFrame, arms: pd.DataFrame, compared: pd.DataFrame, pooled: dict | None,
                bench: pd.Series, context: pd.DataFrame, rule: str, important_gain: float) -> dict[str, Any]:
    trial_arms = arms.loc[arms["role"] == "osteosarcoma trial arm"]
    retro = arms.loc[arms["design"] != "prospective trial"]
    ctx = context.set_index("result_id")
    promising, non_promising = (float(ctx.at[key, "estimate"]) for key in
                                ("SCHWARTZ2013_DESIGN_PROMISING", "SCHWARTZ2013_DESIGN_NONPROMISING"))
    maintenance = trials.load_benchmarks().set_index("benchmark_id").loc[MAINTENANCE_BENCHMARK]
    glue = {
        "bench_label": str(bench["label"]).split(":")[0],
        "maintenance_p": float(maintenance["estimate"]), "maintenance_n": int(maintenance["n"]),
        "maintenance_weeks": float(maintenance["landmark_weeks"]),
        "n_trial_arms": len(trial_arms), "trial_arm_names": listing(trial_arms["trial"] + " (" + trial_arms["regimen"]
                                                                    + ")"),
        "n_retro_arms": len(retro), "landmark_rule": rule, "n_comparable": len(compared), "min_pool": MIN_POOL,
        "bench_p": float(bench["estimate"]), "bench_lo": float(bench["ci_low"]), "bench_hi": float(bench["ci_high"]),
        "bench_n": int(bench["n"]), "bench_events": int(bench["events"]),
        "bench_count_p": int(bench["events"]) / int(bench["n"]), "important_gain": important_gain,
        "important_gain_pts": 100 * important_gain,
        "design_promising": promising, "design_non_promising": non_promising,
        "design_gap_pts": 100 * (promising - non_promising),
        "pool_text": Markdown(_pool_text(compared, pooled, rule)),
        "landmark_alt": _landmark_alt(compared, bench, important_gain),
        "arm_verdicts": Markdown(_arm_verdicts(compared)),
        "orr_text": Markdown(_orr_summary(trial_arms)),
        "medians_text": Markdown(_medians_summary(arms)),
        "retro_text": Markdown(_retro_summary(evidence)),
        "context_text": Markdown(_context_summary(context, bench)),
    }
    if len(compared):
        glue.update({"diff_min_pts": 100 * float(compared["difference"].min()),
                     "diff_max_pts": 100 * float(compared["difference"].max()),
                     "diff_lo_min_pts": 100 * float(compared["diff_low"].min()),
                     "diff_hi_max_pts": 100 * float(compared["diff_high"].max())})
    glue["landmark_takeaway"] = Markdown(_landmark_takeaway(compared, bench, important_gain))
    target = ctx.loc[ctx["kind"].eq("design target") & ctx["trial"].str.startswith("Grignani 2015")]
    if len(target):
        glue["grignani_target"] = float(target["estimate"].iloc[0])
    return glue


def _landmark_takeaway(compared: pd.DataFrame, bench: pd.Series, important_gain: float) -> str:
    """One sentence over the compared arms: how far above the benchmark, and what the rule concludes."""
    if compared.empty:
        return ("No arm reports a progression-free rate under this landmark rule, so none is compared with the "
                "benchmark.")
    verdicts = listing(sorted({decision.VERDICTS[v] for v in compared["verdict"]}))
    arms = listing(f"{r.trial} {r.proportion:.0%}" for r in compared.itertuples())
    return (f"Progression-free rates of {arms} against {int(bench['events'])}/{int(bench['n'])} "
            f"({int(bench['events']) / int(bench['n']):.0%}) in the benchmark: differences of "
            f"{100 * compared['difference'].min():+.0f} to {100 * compared['difference'].max():+.0f} points, lower "
            f"95% bounds from {100 * compared['diff_low'].min():+.0f} to {100 * compared['diff_low'].max():+.0f}; "
            f"against a clinically important gain of {100 * important_gain:.0f} points the verdict is: *{verdicts}*.")


def _pool_text(compared: pd.DataFrame, pooled: dict | None, rule: str) -> str:
    if pooled is not None:
        return (f"The {pooled['k']} comparable arms pool to {pooled['proportion']:.1%} (95% CI "
                f"{pooled['proportion_ci_low']:.1%} to {pooled['proportion_ci_high']:.1%}; random effects, logit "
                f"scale, REML), {100 * pooled['difference']:+.1f} points from the benchmark (p = {_p(pooled['p'])}).")
    regimens = listing(compared["regimen"]) if len(compared) else "none"
    return (f"Under the landmark rule *{rule}*, {len(compared)} arm{'s' if len(compared) != 1 else ''} "
            f"report{'s' if len(compared) == 1 else ''} a progression-free rate that can be set against the benchmark "
            f"({regimens}). A random-effects pool needs at least {MIN_POOL} comparable arms: with fewer, the "
            "between-arm variance cannot be estimated, and one number would hide that the arms test different "
            "partner drugs. So there is no pooled estimate here; each arm is compared with the benchmark on its own.")


def _arm_verdicts(compared: pd.DataFrame) -> str:
    if compared.empty:
        return "No arm reports a progression-free rate under this landmark rule."
    lines = []
    for row in compared.itertuples():
        count = f"{row.events}/{row.n}" + (" (reported rate × n)" if row.count_source != "reported count" else "")
        lines.append(f"**{row.trial}** ({row.regimen}): {row.proportion:.0%} progression-free at "
                     f"{row.landmark_weeks:g} weeks ({count}; exact 95% CI {row.ci_low:.0%} to {row.ci_high:.0%}) "
                     f"against {row.benchmark_proportion:.1%}: a difference of {100 * row.difference:+.1f} points "
                     f"(95% CI {100 * row.diff_low:+.1f} to {100 * row.diff_high:+.1f}). {row.landmark.capitalize()}. "
                     f"Verdict: *{decision.VERDICTS[row.verdict]}*.")
    return " ".join(lines)


def _orr_summary(trial_arms: pd.DataFrame) -> str:
    return "; ".join(f"{row.trial} ({row.regimen}) {row.objective_response}" for row in trial_arms.itertuples()) + "."


def _medians_summary(arms: pd.DataFrame) -> str:
    rows = arms.loc[arms["median_pfs"] != "–"]
    return "; ".join(f"{row.trial} {row.median_pfs} months" + (" (retrospective)" if row.design != "prospective trial"
                                                                 else "") for row in rows.itertuples()) + "."


def _retro_summary(evidence: pd.DataFrame) -> str:
    retro = evidence.loc[evidence["design"] != "prospective trial"]
    if retro.empty:
        return "The curated tables hold no retrospective series of an mTOR inhibitor."
    parts = []
    for _, part in retro.groupby("arm_id"):
        arm = part.iloc[0]
        med = part.loc[part["endpoint"] == "median_pfs"]
        value = (f"a median PFS of {med['estimate'].iloc[0]:g} months (95% CI {med['ci_low'].iloc[0]:g} to "
                 f"{med['ci_high'].iloc[0]:g})" if len(med) else "no median PFS")
        parts.append(f"{trial_name(arm['trial_label'])} reports {value} in the {int(arm['n_enrolled'])} patients "
                     f"given {arm['arm_label'].split(',')[0]}")
    return "; ".join(parts) + "."


def _context_summary(context: pd.DataFrame, bench: pd.Series) -> str:
    rows = context.loc[context["kind"] == "result"].set_index("result_id")
    out = []
    if {"SUCCEED_HR_PFS", "SUCCEED_HR_OS"} <= set(rows.index):
        pfs, os_ = rows.loc["SUCCEED_HR_PFS"], rows.loc["SUCCEED_HR_OS"]
        out.append(f"SUCCEED gave ridaforolimus or placebo as maintenance to {int(pfs['n'])} patients with sarcomas of "
                   f"all types whose disease was controlled by chemotherapy: progression-free survival HR "
                   f"{pfs['estimate']:.2f} (95% CI {pfs['ci_low']:.2f} to {pfs['ci_high']:.2f}), overall survival HR "
                   f"{os_['estimate']:.2f} ({os_['ci_low']:.2f} to {os_['ci_high']:.2f}).")
    if "SCHWARTZ2013_GROUPB_PFS12" in rows.index:
        grp = rows.loc["SCHWARTZ2013_GROUPB_PFS12"]
        out.append(f"In the adult cixutumumab + temsirolimus trial, {int(grp['events'])} of {int(grp['n'])} patients "
                   f"with IGF-1R-positive bone sarcomas ({grp['estimate']:.0%}) were progression-free at "
                   f"{grp['landmark_weeks']:g} weeks; osteosarcoma is not reported separately.")
    return " ".join(out)


# ---- pathway scores in tumours -------------------------------------------------------------------

@dataclass(frozen=True)
class Cohort:
    """One cohort's scores (samples x score names) and clinical columns, and the genes each score used."""

    name: str
    data: pd.DataFrame
    genes: dict[str, list[str]]
    set_sizes: dict[str, int]


def gene_sets(proliferation_set: str, include_unverified: bool) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Hallmark pathway sets and the proliferation set (by name), and the core set's activators and inhibitors."""
    hallmark = genesets.hallmark()
    core = mtor_tables.load_core_genes(include_unverified)
    sets = {name: hallmark[name] for name in PATHWAY_SETS if name != "core"}
    sets["proliferation"] = hallmark[proliferation_set]
    up = core.loc[core["role"] == "activator", "gene"].tolist()
    down = core.loc[core["role"] == "inhibitor", "gene"].tolist()
    return sets, up, down


def score_cohort(expression: pd.DataFrame, sets: dict[str, list[str]], up: list[str], down: list[str],
                 method: str) -> tuple[pd.DataFrame, dict[str, list[str]], dict[str, int]]:
    """Every score of one cohort; the proliferation score only when enough of its genes are present."""
    values, used = {}, {}
    for key, genes in sets.items():
        found = pathway.present(expression, genes)
        used[key] = found
        if key != "proliferation" or len(found) >= MIN_PROLIFERATION_GENES:
            values[key] = pathway.score(expression, genes, method)
    values["core"] = pathway.signed_score(expression, up, down, method)
    used["core"] = pathway.present(expression, up + down)
    sizes = {**{key: len(genes) for key, genes in sets.items()}, "core": len(up) + len(down)}
    return pd.DataFrame(values), used, sizes


def gse21257_cohort(sets, up, down, method: str) -> tuple[Cohort, pd.DataFrame]:
    """GSE21257 joined to survival (`datasets.gse21257.join_survival`) and scored; the match table too."""
    expression, table, _ = gse21257.join_survival()
    values, used, sizes = score_cohort(expression, sets, up, down, method)
    data = table[["futime", "fustate"]].assign(metastasis=table["metastasis"].astype(float)).join(values)
    return Cohort("GSE21257", data, used, sizes), table


def gse87437_cohort(sets, up, down, method: str, probe_collapse: str, response_definition: str) -> Cohort:
    """GSE87437 genome-wide via the GPL570 annotation: log2(MAS5 + 1), probes collapsed to genes."""
    series = expression_data.read_series_matrix(fetch(GSE87437))
    symbols = gpl570.probe_symbols()
    probe_map = symbols[symbols.index.isin(series.expression.index)].rename_axis("probe_id").reset_index()
    genes = scores.collapse_probes(np.log2(series.expression + 1), probe_map, probe_collapse)
    values, used, sizes = score_cohort(genes, sets, up, down, method)
    response = expression_data.response_labels(series.samples, response_definition)
    data = values.join(response).join(genes.loc[[g for g in FERROPTOSIS_GENES if g in genes.index]].T)
    return Cohort("GSE87437", data, used, sizes)


def autophagy_cohort(sets, up, down, method: str) -> Cohort:
    """The 139-tumour autophagy matrix. For mean z-scores each gene is first z-scored within its cohort (the
    cohorts' means differ); rank scores compare genes within a sample and need no such step."""
    merged = autophagy.read_matrix()
    cohort = autophagy.cohort_of(merged.columns)
    matrix = merged if method == "rank" else pd.concat(
        [scores.zscore_rows(merged.loc[:, cohort == c]) for c in ["GSE21257", "TARGET"]], axis=1)
    values, used, sizes = score_cohort(matrix, sets, up, down, method)
    clinical = autophagy.read_clinical(values.index)
    data = clinical[["futime", "fustate"]].join(values).assign(target=(cohort.reindex(values.index) == "TARGET")
                                                               .astype(float))
    return Cohort("autophagy", data.loc[data["futime"] > 0], used, sizes)


def cohort_tests(gse: Cohort, response: Cohort, merged: Cohort, method: str, n_permutations: int,
                 seed: int) -> pd.DataFrame:
    """The primary test of every score in every cohort (proliferation scores beside, not in the family)."""
    rows = []
    keys = [*PATHWAY_SETS, "proliferation"]
    for key in keys:
        if key in gse.data:
            cox = sv.cox(gse.data, "futime", "fustate", [key], per_sd=[key]).iloc[0]
            rows.append(_row("GSE21257", "overall survival", "hazard ratio per SD", key, method, cox["hr"],
                             cox["ci_low"], cox["ci_high"], cox["p"], int(cox["n"]), int(cox["events"]), cox["ph_p"]))
            logit = logistic_per_sd(gse.data[key], gse.data["metastasis"])
            rows.append(_row("GSE21257", "metastasis within 5 years", "odds ratio per SD", key, method,
                             logit["odds_ratio"], logit["ci_low"], logit["ci_high"], logit["p"], logit["n"],
                             logit["events"]))
        if key in response.data:
            perm = permutation_test(response.data[key], response.data["response"], "POOR", "GOOD", n_permutations,
                                    seed)
            rows.append(_row("GSE87437", "poor vs good response", "Hedges' g (poor − good)", key, method,
                             perm["hedges_g"], perm["g_ci_low"], perm["g_ci_high"], perm["p"],
                             perm["n_first"] + perm["n_second"], perm["n_first"]))
        if key in merged.data:
            cox = sv.cox(merged.data, "futime", "fustate", [key, "target"], per_sd=[key]).iloc[0]
            rows.append(_row("autophagy", "overall survival (cohort-adjusted)", "hazard ratio per SD", key, method,
                             cox["hr"], cox["ci_low"], cox["ci_high"], cox["p"], int(cox["n"]), int(cox["events"]),
                             cox["ph_p"]))
    table = pd.DataFrame(rows)
    family = table["score"].isin(list(PATHWAY_SETS))
    table["in_family"] = family
    table["q"] = np.nan
    table.loc[family, "q"] = adjust(table.loc[family, "p"], "BH")
    return table


def _row(cohort, outcome, measure, score, method, effect, low, high, p, n, events, ph_p=np.nan) -> dict[str, Any]:
    return {"cohort": cohort, "outcome": outcome, "measure": measure, "score": score, "method": method,
            "effect": float(effect), "ci_low": float(low), "ci_high": float(high), "p": float(p), "n": int(n),
            "events": int(events), "ph_p": float(ph_p)}


def proliferation_adjusted(gse: Cohort, response: Cohort, n_permutations: int, seed: int) -> pd.DataFrame:
    """Each pathway score adjusted for the proliferation score: Cox and logistic with both, and the
    permutation test of the score's residual after a linear fit on proliferation (GSE87437)."""
    rows = []
    for key in PATHWAY_SETS:
        cox = sv.cox(gse.data, "futime", "fustate", [key, "proliferation"], per_sd=[key, "proliferation"])
        main, prolif = cox.iloc[0], cox.iloc[1]
        rows.append({**_row("GSE21257", "overall survival", "hazard ratio per SD", key, "adjusted", main["hr"],
                            main["ci_low"], main["ci_high"], main["p"], int(main["n"]), int(main["events"]),
                            main["ph_p"]), "proliferation_effect": float(prolif["hr"])})
        logit = pathway.logistic_per_sd_adjusted(gse.data, "metastasis", [key, "proliferation"])
        main, prolif = logit.iloc[0], logit.iloc[1]
        rows.append({**_row("GSE21257", "metastasis within 5 years", "odds ratio per SD", key, "adjusted",
                            main["odds_ratio"], main["ci_low"], main["ci_high"], main["p"], int(main["n"]),
                            int(main["events"])), "proliferation_effect": float(prolif["odds_ratio"])})
        if "proliferation" in response.data:
            residual = pathway.residualise(response.data[key], response.data["proliferation"])
            perm = permutation_test(residual, response.data["response"], "POOR", "GOOD", n_permutations, seed)
            rows.append({**_row("GSE87437", "poor vs good response", "Hedges' g (poor − good)", key, "adjusted",
                                perm["hedges_g"], perm["g_ci_low"], perm["g_ci_high"], perm["p"],
                                perm["n_first"] + perm["n_second"], perm["n_first"]), "proliferation_effect": np.nan})
    return pd.DataFrame(rows)


def coverage_rows(cohorts: list[Cohort]) -> pd.DataFrame:
    """Genes of each set present in each cohort's matrix."""
    return pd.DataFrame([{"cohort": c.name, "score": key, "present": len(genes), "set_size": c.set_sizes[key],
                          "computed": key in c.data}
                         for c in cohorts for key, genes in c.genes.items()])


def ferroptosis_correlations(response: Cohort, gse: Cohort, gse_expression_genes: pd.DataFrame, seed: int,
                             important_rho: float) -> pd.DataFrame:
    """Spearman correlation of the PI3K/AKT/mTOR score with SLC7A11, GPX4 and NFE2L2 mRNA (bootstrap CI)."""
    rng = np.random.default_rng(seed)
    rows = []
    sources = [("GSE87437", response.data, response.data), ("GSE21257", gse.data, gse_expression_genes)]
    for cohort, scored, genes in sources:
        for gene in FERROPTOSIS_GENES:
            if gene not in genes:
                continue
            result = spearman_ci(scored["PI3K_AKT_MTOR_SIGNALING"], genes[gene].reindex(scored.index), rng)
            rows.append({"cohort": cohort, "gene": gene, **result,
                         "verdict": decision.classify(result["ci_low"], result["ci_high"], 0.0, important_rho)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Tumours:
    """Pathway scores in three cohorts: tests, the sensitivity method, proliferation, coverage and the join."""

    join: pd.DataFrame  # GSE21257 biopsy -> GSM match with best and second-best correlation
    cohorts: dict[str, Cohort]  # primary-method scores
    tests: pd.DataFrame  # primary method; `q` = BH across the pathway scores of every cohort
    sensitivity: pd.DataFrame  # the other scoring method, its own BH
    adjusted: pd.DataFrame  # proliferation-adjusted models
    coverage: pd.DataFrame
    correlations: pd.DataFrame  # PI3K/AKT/mTOR score vs ferroptosis regulators
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse_tumours(score_method: str, proliferation_set: str, probe_collapse: str, response_definition: str,
                    n_permutations: int, alpha: float, important_rho: float, seed: int,
                    include_unverified: bool) -> Tumours:
    """Pathway scores against survival, metastasis and chemotherapy response, with both scoring methods."""
    validate("mtor", locals())
    sets, up, down = gene_sets(proliferation_set, include_unverified)
    by_method = {}
    for method in (score_method, OTHER_METHOD[score_method]):
        gse, join = gse21257_cohort(sets, up, down, method)
        response = gse87437_cohort(sets, up, down, method, probe_collapse, response_definition)
        merged = autophagy_cohort(sets, up, down, method)
        by_method[method] = (gse, response, merged, join)
    gse, response, merged, join = by_method[score_method]
    tests = cohort_tests(gse, response, merged, score_method, n_permutations, seed)
    other = OTHER_METHOD[score_method]
    sensitivity = cohort_tests(*by_method[other][:3], other, n_permutations, seed)
    adjusted = proliferation_adjusted(gse, response, n_permutations, seed)
    coverage = coverage_rows([gse, response, merged])
    gse_genes = gse21257.read_expression()[0]
    correlations = ferroptosis_correlations(response, gse, gse_genes.loc[[g for g in FERROPTOSIS_GENES
                                                                          if g in gse_genes.index]].T,
                                            seed, important_rho)
    cohorts = {"GSE21257": gse, "GSE87437": response, "autophagy": merged}
    glue = _tumour_glue(join, cohorts, tests, sensitivity, adjusted, coverage, score_method, proliferation_set,
                        alpha, n_permutations)
    results = {
        "join": join.reset_index()[["biopsy", "gsm", "r_best", "second_gsm", "r_second", "n_genes", "futime",
                                    "fustate", "metastasis"]].to_dict(orient="records"),
        "genes": {c.name: c.genes for c in cohorts.values()},
        "scores": {name: {method: by_method[method][i].data.drop(columns=[c for c in FERROPTOSIS_GENES
                                                                          if c in by_method[method][i].data])
                          .reset_index(names="sample").to_dict(orient="records")
                          for method in by_method}
                   for i, name in enumerate(["GSE21257", "GSE87437", "autophagy"])},
        "tests": tests.to_dict(orient="records"), "sensitivity": sensitivity.to_dict(orient="records"),
        "adjusted": adjusted.to_dict(orient="records"), "coverage": coverage.to_dict(orient="records"),
        "correlations": correlations.to_dict(orient="records"),
    }
    return Tumours(join, cohorts, tests, sensitivity, adjusted, coverage, correlations, plain(glue), results)


def _tumour_glue(join, cohorts, tests, sensitivity, adjusted, coverage, method, proliferation_set, alpha,
                 n_permutations) -> dict[str, Any]:
    family = tests.loc[tests["in_family"]]
    by = tests.set_index(["cohort", "outcome", "score"])
    gse = cohorts["GSE21257"].data
    cov = coverage.set_index(["cohort", "score"])
    ph_fail = tests.loc[tests["ph_p"] < 0.05]
    prolif_os = by.loc[("GSE21257", "overall survival", "proliferation")]
    prolif_met = by.loc[("GSE21257", "metastasis within 5 years", "proliferation")]
    strongest = family.loc[family["p"].idxmin()]
    sens_family = sensitivity.loc[sensitivity["in_family"]]
    glue = {
        "method_label": METHOD_LABELS[method], "other_method_label": METHOD_LABELS[OTHER_METHOD[method]],
        "proliferation_label": PROLIFERATION_LABELS[proliferation_set], "alpha": alpha,
        "n_permutations": n_permutations,
        "join_n": len(join), "join_unique": int(join["gsm"].nunique()), "join_genes": int(join["n_genes"].iloc[0]),
        "join_best_min": float(join["r_best"].min()), "join_best_max": float(join["r_best"].max()),
        "join_second_max": float(join["r_second"].max()),
        "join_gap_min": float((join["r_best"] - join["r_second"]).min()),
        "join_n_best_above_all_second": int((join["r_best"] > join["r_second"].max()).sum()),
        "gse_n": len(gse), "gse_deaths": int(gse["fustate"].sum()), "gse_met": int(gse["metastasis"].sum()),
        "gse_followup_median_y": float(gse["futime"].median() / 365.25),
        "gse87437_good": int((cohorts["GSE87437"].data["response"] == "GOOD").sum()),
        "gse87437_poor": int((cohorts["GSE87437"].data["response"] == "POOR").sum()),
        "gse87437_genes": int(cov.at[("GSE87437", "MTORC1_SIGNALING"), "present"]),
        "autophagy_n": len(cohorts["autophagy"].data),
        "autophagy_deaths": int(cohorts["autophagy"].data["fustate"].sum()),
        "n_family": len(family), "n_family_sig": int((family["q"] < alpha).sum()),
        "family_min_q": float(family["q"].min()),
        "n_sens_sig": int((sens_family["q"] < alpha).sum()), "sens_min_q": float(sens_family["q"].min()),
        "strongest_label": f"{PATHWAY_SETS[strongest['score']]} and {strongest['outcome']} in {strongest['cohort']}",
        "strongest_effect": strongest["effect"], "strongest_lo": strongest["ci_low"],
        "strongest_hi": strongest["ci_high"],
        "strongest_measure": strongest["measure"], "strongest_p": strongest["p"], "strongest_q": strongest["q"],
        "ph_text": Markdown(_ph_text(ph_fail)),
        "strongest_note": Markdown(", a score built from autophagy-related genes only."
                                   if strongest["cohort"] == "autophagy" else "."),
        "family_text": Markdown(_family_text(family, alpha, "pathway-score tests")),
        "sens_text": Markdown(_family_text(sens_family, alpha, "tests")),
        "prolif_met_text": Markdown(_interval_text(prolif_met, 1.0)),
        "prolif_os_hr": float(prolif_os["effect"]), "prolif_os_lo": float(prolif_os["ci_low"]),
        "prolif_os_hi": float(prolif_os["ci_high"]),
        "prolif_met_or": float(prolif_met["effect"]), "prolif_met_lo": float(prolif_met["ci_low"]),
        "prolif_met_hi": float(prolif_met["ci_high"]), "prolif_met_p": float(prolif_met["p"]),
        "prolif_corr_text": Markdown(_correlation_text(gse)),
        "autophagy_mtorc1_genes": listing(cohorts["autophagy"].genes["MTORC1_SIGNALING"]),
        "autophagy_prolif_genes": len(cohorts["autophagy"].genes["proliferation"]),
        "min_prolif_genes": MIN_PROLIFERATION_GENES,
        "adjusted_summary": Markdown(_adjusted_summary(adjusted)),
    }
    for key in PATHWAY_SETS:
        row = by.loc[("GSE21257", "overall survival", key)]
        glue.update({f"{key.lower()}_os_hr": float(row["effect"]), f"{key.lower()}_os_lo": float(row["ci_low"]),
                     f"{key.lower()}_os_hi": float(row["ci_high"])})
    return glue


def _family_text(family: pd.DataFrame, alpha: float, what: str) -> str:
    """'0 of 12 pathway-score tests have a BH q below 0.05 (smallest q = 0.52)'."""
    n_sig = int((family["q"] < alpha).sum())
    return (f"{n_sig} of {len(family)} {what} ha{'s' if n_sig == 1 else 've'} a Benjamini–Hochberg q below {alpha:g} "
            f"(smallest q = {family['q'].min():.2f})")


def _interval_text(row: pd.Series, null: float) -> str:
    """Whether an estimate's 95% CI excludes the null value, in words."""
    excludes = row["ci_low"] > null or row["ci_high"] < null
    return f"its 95% CI {'excludes' if excludes else 'includes'} {null:g}"


def _ph_text(failed: pd.DataFrame) -> str:
    if failed.empty:
        return "No model fails the proportional-hazards check (Schoenfeld residuals, p < 0.05)."
    models = listing(f"{PATHWAY_SETS.get(r.score, 'the proliferation score')} in {r.cohort} (p = {_p(r.ph_p)})"
                     for r in failed.itertuples())
    return (f"The proportional-hazards check (Schoenfeld residuals against Kaplan–Meier-transformed time) fails "
            f"for {models}: the hazard ratio of such a score changes over follow-up, and the reported per-SD hazard "
            "ratio is an average over time, not a constant effect.")


def _correlation_text(gse: pd.DataFrame) -> str:
    corr = gse[[*PATHWAY_SETS, "proliferation"]].corr(method="spearman")["proliferation"]
    return listing(f"{PATHWAY_SETS[k]} ρ = {corr[k]:.2f}" for k in PATHWAY_SETS)


def _adjusted_summary(adjusted: pd.DataFrame) -> str:
    """How many proliferation-adjusted estimates exclude no effect (1 for ratios, 0 for Hedges' g)."""
    null = np.where(adjusted["measure"].str.startswith("Hedges"), 0.0, 1.0)
    excluding = int(((adjusted["ci_low"] > null) | (adjusted["ci_high"] < null)).sum())
    return (f"{excluding} of the {len(adjusted)} proliferation-adjusted estimates ha{'s' if excluding == 1 else 've'} "
            "a 95% CI that excludes no effect.")


# ---- cell lines ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellLines:
    """GDSC2: where osteosarcoma lines sit among all lines for each drug of the curated panel."""

    drugs: pd.DataFrame  # the curated panel with screening counts
    comparison: pd.DataFrame  # one row per drug tested, Holm-adjusted
    percentiles: pd.DataFrame  # long: drug, class, cosmic_id, percentile of each osteosarcoma line
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse_cell_lines(alpha: float) -> CellLines:
    """Rank comparison of osteosarcoma lines with all other GDSC2 lines, Holm across the panel."""
    validate("mtor", locals())
    response = gdsc_data.load_response(fetch(GDSC2))
    lines = gdsc_data.load_lines()
    osteosarcoma = frozenset(lines.loc[lines["osteosarcoma"], "cosmic_id"])
    panel = gdsc_data_panel(response, osteosarcoma)
    comparison = drug_response.compare_drugs(response, list(panel["column"]), osteosarcoma, MIN_OSTEOSARCOMA_LINES)
    comparison = comparison.merge(panel[["column", "drug_class", "targets"]], left_on="drug", right_on="column") \
        .drop(columns="column")
    percentiles = pd.concat([drug_response.percentiles(response[d], osteosarcoma).rename("percentile")
                             .reset_index().assign(drug=d) for d in comparison["drug"]], ignore_index=True)
    percentiles = percentiles.merge(comparison[["drug", "label", "drug_class"]], on="drug")
    skipped = panel.loc[panel["n_group"] < MIN_OSTEOSARCOMA_LINES]
    pathway_rows = comparison.loc[comparison["drug_class"] != "trial partner"]
    rapamycin = comparison.set_index("drug").loc["Rapamycin_1084"]
    glue = {
        "gdsc_n_panel": len(panel), "gdsc_n_tested": len(comparison), "gdsc_os_lines": len(osteosarcoma),
        "gdsc_skipped": listing(f"{r.drug} ({r.n_group} osteosarcoma line{'s' if r.n_group != 1 else ''})"
                                for r in skipped.itertuples()),
        "gdsc_min_holm": float(comparison["p_holm"].min()),
        "gdsc_n_sig": int((comparison["p_holm"] < alpha).sum()),
        "gdsc_prob_min": float(pathway_rows["prob_group_higher"].min()),
        "gdsc_prob_max": float(pathway_rows["prob_group_higher"].max()),
        "gdsc_n_more_resistant": int((pathway_rows["prob_group_higher"] > 0.5).sum()),
        "gdsc_n_pathway": len(pathway_rows),
        "rapa_prob": float(rapamycin["prob_group_higher"]), "rapa_hl": float(rapamycin["hodges_lehmann"]),
        "rapa_p": float(rapamycin["p"]), "rapa_holm": float(rapamycin["p_holm"]),
        "rapa_fold": float(np.exp(rapamycin["hodges_lehmann"])),
        "gdsc_sig_text": Markdown(_gdsc_text(comparison, alpha)),
        "gdsc_takeaway": Markdown(f"{int((comparison['p_holm'] < alpha).sum())} of {len(comparison)} drugs differ "
                                  f"between osteosarcoma lines and all other lines after Holm correction at "
                                  f"{alpha:g}"),
    }
    results = {"osteosarcoma_lines": sorted(osteosarcoma), "panel": panel[["column", "n_lines", "n_group"]]
               .to_dict(orient="records"), "comparison": comparison.to_dict(orient="records")}
    return CellLines(panel, comparison, percentiles, plain(glue), results)


def gdsc_data_panel(response: pd.DataFrame, osteosarcoma: frozenset[int]) -> pd.DataFrame:
    """The curated drug panel with how many lines (and osteosarcoma lines) each drug was screened on."""
    panel = mtor_tables.load_gdsc_drugs()
    counts = drug_response.screened(response, list(panel["column"]), set(osteosarcoma))
    return panel.merge(counts.rename(columns={"drug": "column"})[["column", "n_lines", "n_group"]], on="column")


def _gdsc_text(comparison: pd.DataFrame, alpha: float) -> str:
    sig = comparison.loc[comparison["p_holm"] < alpha]
    if sig.empty:
        return f"No drug's difference survives Holm's correction at {alpha:g}."
    return "After Holm's correction at {:g}: {}.".format(alpha, listing(
        f"{r.label} (osteosarcoma lines {'more resistant' if r.prob_group_higher > 0.5 else 'more sensitive'}, "
        f"P(OS higher) = {r.prob_group_higher:.2f}, Holm p = {_p(r.p_holm)})" for r in sig.itertuples()))


# ---- claims check and the whole chapter ----------------------------------------------------------

def mir21_targets() -> pd.DataFrame:
    """miRTarBase records of hsa-miR-21-5p targeting PIK3R1."""
    table = mirna.mirtarbase([MIR21])
    return table.loc[table["target"] == "PIK3R1"].reset_index(drop=True)


def claims_table(trial: Trials, tumours: Tumours, cells: CellLines, mir21: pd.DataFrame,
                 important_gain: float, important_rho: float, alpha: float) -> pd.DataFrame:
    """The reviews' statements about this pathway, the evidence found here and a verdict from a stated rule."""
    compared = trial.landmarks
    trial_arms = trial.arms.loc[trial.arms["role"] == "osteosarcoma trial arm"]
    above = compared.loc[compared["diff_low"] > 0]
    medians = trial.evidence.loc[(trial.evidence["endpoint"] == "median_pfs")
                                 & (trial.evidence["design"] == "prospective trial"), "estimate"]
    stabilisation = ("Supported for stabilisation: " if len(above) == len(compared) and len(compared) else
                     "Partly supported: " if len(above) else "Not supported by these arms: ")
    stabilisation += (f"{len(above)} of {len(compared)} arms with a usable landmark exceed the benchmark (CI of the "
                      f"difference above 0); median PFS {medians.min():g}–{medians.max():g} months (transient); "
                      "objective responses rare.")
    vegf = compared.loc[compared["regimen"].str.contains("sorafenib")]
    if len(vegf):
        row = vegf.iloc[0]
        target = trial.glue.get("grignani_target")
        vegf_evidence = (f"one single-arm trial (sorafenib + everolimus): {row.proportion:.0%} progression-free at "
                         f"{row.landmark_weeks:g} weeks, {100 * row.difference:+.0f} points from the benchmark (95% CI "
                         f"{100 * row.diff_low:+.0f} to {100 * row.diff_high:+.0f}); "
                         + (f"it missed its own target of {target:.0%}; " if target and row.proportion < target else "")
                         + "no randomised comparison with sorafenib alone")
        vegf_verdict = f"Partly supported: {decision.VERDICTS[row.verdict]} against the benchmark; promise not tested" \
                       " against the TKI alone"
    else:
        vegf_evidence = "no sorafenib + everolimus arm has a landmark under this rule"
        vegf_verdict = "Not assessable under this landmark rule"
    corr = tumours.correlations
    corr_text = "; ".join(f"{r.gene} in {r.cohort} ρ = {r.rho:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f})"
                          for r in corr.itertuples())
    counts = corr["verdict"].value_counts()
    corr_verdict = "mRNA co-expression: " + listing(f"{counts[key]} {CORRELATION_VERDICTS[key]}"
                                                    for key in CORRELATION_VERDICTS if key in counts)
    strong = mir21.loc[mir21["support_type"] == "Functional MTI"]
    mir_evidence = (f"miRTarBase lists {len(mir21)} record(s) of {MIR21} → PIK3R1 "
                    f"({listing(sorted(set(mir21['support_type'])))}; experiments: "
                    f"{listing(sorted(set(mir21['experiments'])))}; PMIDs {listing(sorted(set(mir21['pmid'])))})")
    mir_verdict = ("Target link documented with strong experimental support" if len(strong) else
                   "Target link only weakly documented") + "; the osteosarcoma CAF-exosome step is not tested here"
    family = tumours.tests.loc[tumours.tests["in_family"]]
    return pd.DataFrame([
        {"Review statement": "Recent clinical studies have explored ... PI3K/Akt/mTOR inhibitors (mini review)",
         "Evidence in this chapter": f"{len(trial_arms)} prospective osteosarcoma arms with an mTOR inhibitor "
                                     f"({listing(trial_arms['trial'])}); no PI3K or AKT inhibitor result in "
                                     "osteosarcoma in the curated tables",
         "Rule": "count of curated osteosarcoma arms",
         "Verdict": "Supported for mTOR inhibitors only" if len(trial_arms) else "Not supported"},
        {"Review statement": "some agents achieve transient disease stabilization or partial responses (mini review)",
         "Evidence in this chapter": f"objective response: {trial.glue['orr_text']} " + "; ".join(
             f"{r.trial} {r.proportion:.0%} progression-free at {r.landmark_weeks:g} weeks vs "
             f"{r.benchmark_proportion:.0%}" for r in compared.itertuples()),
         "Rule": "stabilisation shown if the 95% CI of (arm − benchmark) lies above 0",
         "Verdict": stabilisation},
        {"Review statement": "combination regimens—such as VEGF and mTOR inhibition ... have shown promise in "
                             "preclinical and early clinical trials (mini review)",
         "Evidence in this chapter": vegf_evidence,
         "Rule": f"CI of (arm − benchmark) against 0 and a clinically important gain of {100 * important_gain:.0f} "
                 "points",
         "Verdict": vegf_verdict},
        {"Review statement": "hyperactivation of the PI3K/AKT axis in cancer cells is also known to inhibit "
                             "ferroptosis by modulating downstream regulators such as SLC7A11, GPX4, NRF2 "
                             "(CAF review)",
         "Evidence in this chapter": f"PI3K/AKT/mTOR score vs regulator mRNA: {corr_text}",
         "Rule": f"Spearman ρ bootstrap CI against 0 and an important ρ of {important_rho:g}",
         "Verdict": f"Mechanism not testable with tumour mRNA; {corr_verdict}"},
        {"Review statement": "CAFs−derived exosomal miR−21−5p promotes OS cell proliferation and chemoresistance by "
                             "targeting PIK3R1, thereby activating the PI3K/Akt/mTOR pathway (CAF review)",
         "Evidence in this chapter": mir_evidence,
         "Rule": "miRTarBase 'Functional MTI' (not 'Weak') = strong experimental support",
         "Verdict": mir_verdict},
        {"Review statement": "their overall efficacy is constrained by tumor heterogeneity, rapid resistance, and the "
                             "lack of predictive biomarkers (mini review)",
         "Evidence in this chapter": f"{len(family)} tests of mTOR-pathway mRNA scores against survival, metastasis "
                                     f"and chemotherapy response: {int((family['q'] < alpha).sum())} with BH q < "
                                     f"{alpha:g} (smallest q {family['q'].min():.2f}); {cells.glue['gdsc_n_sig']} of "
                                     f"{cells.glue['gdsc_n_tested']} GDSC2 drugs with Holm p < {alpha:g}; no cohort "
                                     "of tumours treated with an mTOR inhibitor is available",
         "Rule": f"BH (tumours) or Holm (cell lines) at {alpha:g}",
         "Verdict": ("Consistent: no prognostic or chemotherapy-response signal from pathway mRNA, and no "
                     "osteosarcoma-specific sensitivity in cell lines; a predictive biomarker cannot be tested "
                     "without treated patients") if not (family["q"] < alpha).any() and not cells.glue["gdsc_n_sig"]
         else "Some signal: see the sections; a predictive test still needs treated patients"},
    ]).set_index("Review statement")


@dataclass(frozen=True)
class Mtor:
    """The chapter: trials, tumours, cell lines, the claims check, every glued value and the results file."""

    trials: Trials
    tumours: Tumours
    cells: CellLines
    mir21: pd.DataFrame
    claims: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def analyse(seed: int, include_unverified: bool, landmark_rule: str, benchmark: str, important_gain: float,
            score_method: str, proliferation_set: str, probe_collapse: str, response_definition: str,
            n_permutations: int, alpha: float, important_rho: float) -> Mtor:
    """The whole chapter with its parameters."""
    validate("mtor", locals())
    trial = analyse_trials(landmark_rule, benchmark, important_gain, include_unverified)
    tumours = analyse_tumours(score_method, proliferation_set, probe_collapse, response_definition, n_permutations,
                              alpha, important_rho, seed, include_unverified)
    cells = analyse_cell_lines(alpha)
    mir21 = mir21_targets()
    claims = claims_table(trial, tumours, cells, mir21, important_gain, important_rho, alpha)
    glue = {**trial.glue, **tumours.glue, **cells.glue, "include_unverified": include_unverified,
            "reporting_trials": Markdown(_report_trials(trial)),
            "reporting_tumours": Markdown(_report_tumours(tumours, alpha)),
            "reporting_cells": Markdown(_report_cells(cells, alpha)),
            "summary_trials": Markdown(_summary_trials(trial))}
    forest = forest_rows(tumours)
    glue["forest_intervals"] = intervals(forest["label"] + ", " + forest["model"], forest["ci_low"], forest["ci_high"])
    results = {"trials": trial.results, "tumours": tumours.results, "cell_lines": cells.results,
               "mir21_pik3r1": mir21.to_dict(orient="records"),
               "claims": claims.reset_index().to_dict(orient="records")}
    return Mtor(trial, tumours, cells, mir21, claims, plain(glue), results)


def _summary_trials(trial: Trials) -> str:
    """The trial findings in two sentences, each claim tied to its rule."""
    rows = trial.landmarks
    above = int((rows["diff_low"] > 0).sum())
    medians = trial.evidence.loc[(trial.evidence["endpoint"] == "median_pfs")
                                 & (trial.evidence["design"] == "prospective trial"), "estimate"]
    median_text = (f"median progression-free survival of {medians.min():g} to {medians.max():g} months"
                   if len(medians) else "no median progression-free survival")
    return (f"{above} of the {len(rows)} arms with a usable landmark are above the historical benchmark of inactive "
            f"drugs (lower 95% bound of the difference above 0), with {median_text} in the prospective arms; "
            f"objective responses: {trial.glue['orr_text']}")


def _report_trials(trial: Trials) -> str:
    rows = trial.landmarks
    parts = "; ".join(f"{r.trial} {r.proportion:.0%} at {r.landmark_weeks:g} weeks ({r.events}/{r.n}), "
                      f"{100 * r.difference:+.0f} points (95% CI {100 * r.diff_low:+.0f} to {100 * r.diff_high:+.0f})"
                      for r in rows.itertuples())
    return (f"Of {trial.glue['n_trial_arms']} prospective osteosarcoma arms of mTOR-pathway regimens, "
            f"{len(rows)} reported a landmark progression-free rate (rule: {trial.glue['landmark_rule']}); with fewer "
            f"than {MIN_POOL} no pooled estimate was made. Against a historical 4-month event-free rate of "
            f"{trial.benchmark['estimate']:.0%} ({int(trial.benchmark['events'])}/{int(trial.benchmark['n'])}): "
            f"{parts} (Newcombe hybrid score intervals).")


def _report_tumours(tumours: Tumours, alpha: float) -> str:
    g = tumours.glue
    return (f"Hallmark mTORC1 and PI3K/AKT/mTOR scores and a signed eight-gene core set ({g['method_label']}) "
            f"were tested against overall survival (Cox, per SD) and 5-year metastasis (logistic, per SD) in "
            f"GSE21257 (n = {g['gse_n']}, {g['gse_deaths']} deaths), chemotherapy response in GSE87437 "
            f"(permutation test, n = {g['gse87437_good'] + g['gse87437_poor']}) and survival in the TARGET + "
            f"GSE21257 autophagy matrix (cohort-adjusted Cox, n = {g['autophagy_n']}); {g['n_family_sig']} of "
            f"{g['n_family']} tests had a Benjamini–Hochberg q below {alpha:g} (smallest q = "
            f"{g['family_min_q']:.2f}); "
            f"the {g['other_method_label']} gave {g['n_sens_sig']}.")


def _report_cells(cells: CellLines, alpha: float) -> str:
    g = cells.glue
    return (f"In GDSC2, the {g['gdsc_os_lines']} osteosarcoma lines were compared with all other lines for "
            f"{g['gdsc_n_tested']} drugs (Mann–Whitney U, Holm): {g['gdsc_n_sig']} differences at {alpha:g} "
            f"(smallest Holm p = {g['gdsc_min_holm']:.2f}).")


# ---- reader tables -------------------------------------------------------------------------------

def arm_table(result: Mtor) -> pd.io.formats.style.Styler:
    """The structured evidence table for readers, each arm with the sources and quotes of its values."""
    arms = result.trials.arms
    table = pd.DataFrame({
        "Trial": arms["trial"], "Regimen": arms["regimen"],
        "Design": [d if p == "retrospective" else f"{d}, phase {p}"
                   for d, p in zip(arms["design"], arms["phase"], strict=True)],
        "n": arms["n_enrolled"].astype("string").fillna("not reported"),
        "Objective response": arms["objective_response"], "Progression-free at landmarks": arms["landmark_pfs"],
        "Median PFS, months": arms["median_pfs"], "Median OS, months": arms["median_os"],
        "Source status": arms["statuses"], "Use here": arms["role"], "Sources and quotes": arms["sources"],
    })
    return linked_table(table, ["Sources and quotes"], sortable=False)


def landmark_table(result: Mtor) -> pd.DataFrame:
    """The arms compared with the benchmark under the landmark rule."""
    rows = result.trials.landmarks
    if rows.empty:
        return pd.DataFrame({"Trial": [], "Verdict": []}).set_index("Trial")
    return pd.DataFrame({
        "Trial": rows["trial"], "Landmark (weeks)": rows["landmark_weeks"].map("{:g}".format),
        "Progression-free": rows["events"].astype(str) + " / " + rows["n"].astype(str)
        + np.where(rows["count_source"] == "reported count", "", " (rate × n)"),
        "Rate (exact 95% CI)": [f"{p:.0%} ({lo:.0%}–{hi:.0%})" for p, lo, hi in
                                zip(rows["proportion"], rows["ci_low"], rows["ci_high"], strict=True)],
        "Benchmark": rows["benchmark_proportion"].map("{:.1%}".format),
        "Difference, points (95% CI)": [f"{100 * d:+.1f} ({100 * lo:+.1f} to {100 * hi:+.1f})" for d, lo, hi in
                                        zip(rows["difference"], rows["diff_low"], rows["diff_high"], strict=True)],
        "Landmark vs 4 months": rows["landmark"], "Verdict": rows["verdict"].map(decision.VERDICTS),
    }).set_index("Trial")


def context_table(result: Mtor) -> pd.io.formats.style.Styler:
    """Context results and design targets, with their setting and whether they are osteosarcoma-specific."""
    ctx = result.trials.context
    value = [f"HR {r.estimate:.2f} ({r.ci_low:.2f}–{r.ci_high:.2f})" if r.endpoint.startswith("hr") else
             f"{int(r.events)}/{int(r.n)} ({r.estimate:.0%}) at {r.landmark_weeks:g} weeks" if pd.notna(r.events) else
             f"{r.estimate:.0%} at {r.landmark_weeks:g} weeks" for r in ctx.itertuples()]
    table = pd.DataFrame({"Trial": ctx["trial"], "What": ctx["kind"] + ": " + ctx["endpoint"].map(
        {"hr_pfs": "PFS hazard ratio", "hr_os": "OS hazard ratio", "pfs_landmark": "progression-free rate"}),
        "Value": value, "Population": ctx["population"], "Setting": ctx["setting"],
        "Source status": ctx["status"], "Source and quote": ctx.apply(source_cell, axis=1)})
    return linked_table(table, ["Source and quote"], sortable=False)


def coverage_table(result: Mtor) -> pd.DataFrame:
    """Genes of each score present in each cohort (set size in brackets)."""
    cov = result.tumours.coverage.assign(
        cell=lambda t: t["present"].astype(str) + " / " + t["set_size"].astype(str)
        + np.where(t["computed"], "", " (not scored)"),
        score=lambda t: t["score"].map({**PATHWAY_SETS, "proliferation": result.tumours.glue["proliferation_label"]}))
    return cov.pivot(index="score", columns="cohort", values="cell").rename(columns=COHORT_LABELS) \
        .rename_axis(index="Score", columns=None)


def _test_rows(table: pd.DataFrame) -> pd.DataFrame:
    labels = {**PATHWAY_SETS, "proliferation": "proliferation score (beside)"}
    return pd.DataFrame({
        "Cohort": table["cohort"].map(COHORT_SHORT), "Outcome": table["outcome"], "Score": table["score"].map(labels),
        "Effect (95% CI)": [f"{MEASURE_SHORT[m]} {e:.2f} ({lo:.2f} to {hi:.2f})" for m, e, lo, hi in
                            zip(table["measure"], table["effect"], table["ci_low"], table["ci_high"], strict=True)],
        "n (deaths, metastases or poor responders)": table["n"].astype(str) + " (" + table["events"].astype(str)
        + ")",
        "p": table["p"].map(_p), "q (BH)": table["q"].map(lambda q: "–" if pd.isna(q) else f"{q:.2f}"),
        "PH check p": table["ph_p"].map(lambda p: "–" if pd.isna(p) else _p(p)),
    }).set_index(["Cohort", "Outcome", "Score"])


def test_table(result: Mtor) -> pd.DataFrame:
    """Every primary test (pathway scores in the BH family, the proliferation score beside them)."""
    return _test_rows(result.tumours.tests)


def sensitivity_table(result: Mtor) -> pd.DataFrame:
    """The same tests with the other scoring method: p-values and q-values side by side."""
    primary, other = result.tumours.tests, result.tumours.sensitivity
    keys = ["cohort", "outcome", "score"]
    both = primary.loc[primary["in_family"], keys + ["effect", "q"]].merge(
        other.loc[other["in_family"], keys + ["effect", "q"]], on=keys, suffixes=("", "_other"))
    g = result.tumours.glue
    return pd.DataFrame({"Cohort": both["cohort"].map(COHORT_SHORT), "Outcome": both["outcome"],
                         "Score": both["score"].map(PATHWAY_SETS),
                         f"Effect, {g['method_label']}": both["effect"].round(2), f"q, {g['method_label']}": both["q"]
                         .round(2), f"Effect, {g['other_method_label']}": both["effect_other"].round(2),
                         f"q, {g['other_method_label']}": both["q_other"].round(2)}).set_index(["Cohort", "Outcome",
                                                                                                 "Score"])


def adjusted_table(result: Mtor) -> pd.DataFrame:
    """Each pathway score before and after adjustment for the proliferation score."""
    t = result.tumours
    base = t.tests.set_index(["cohort", "outcome", "score"])
    adj = t.adjusted
    before = [base.loc[(c, o, k)] for c, o, k in zip(adj["cohort"], adj["outcome"], adj["score"], strict=True)]
    return pd.DataFrame({
        "Cohort": adj["cohort"].map(COHORT_SHORT), "Outcome": adj["outcome"], "Score": adj["score"].map(PATHWAY_SETS),
        "Unadjusted": [f"{MEASURE_SHORT[b['measure']]} {b['effect']:.2f} ({b['ci_low']:.2f} to {b['ci_high']:.2f})"
                       for b in before],
        "Adjusted for proliferation": [f"{MEASURE_SHORT[m]} {e:.2f} ({lo:.2f} to {hi:.2f})" for m, e, lo, hi in
                                       zip(adj["measure"], adj["effect"], adj["ci_low"], adj["ci_high"], strict=True)],
        "p (adjusted)": adj["p"].map(_p),
    }).set_index(["Cohort", "Outcome", "Score"])


def gdsc_table(result: Mtor) -> pd.DataFrame:
    """One row per drug: class, GDSC targets, lines, medians, P(OS higher), Hodges–Lehmann shift, p and Holm p."""
    c = result.cells.comparison
    return pd.DataFrame({
        "Drug": c["label"].str.replace("GDSC ", "", regex=False), "Class": c["drug_class"],
        "GDSC targets": c["targets"],
        "Lines (OS / other)": c["n_group"].astype(str) + " / " + c["n_other"].astype(str),
        "Median ln IC50 (OS / other)": c["median_group"].round(2).astype(str) + " / "
        + c["median_other"].round(2).astype(str),
        "P(OS higher)": c["prob_group_higher"].round(2), "HL shift": c["hodges_lehmann"].round(2),
        "p": c["p"].round(3), "p (Holm)": c["p_holm"].round(3),
    }).set_index("Drug")


def forest_rows(t: Tumours) -> pd.DataFrame:
    """Per-SD hazard ratios for the forest figure: label, model, hr, ci_low, ci_high, q."""
    unadjusted = t.tests.loc[t.tests["measure"] == "hazard ratio per SD"]
    adjusted = t.adjusted.loc[t.adjusted["measure"] == "hazard ratio per SD"]
    labels = {**PATHWAY_SETS, "proliferation": f"{t.glue['proliferation_label']} (proliferation)"}
    model = {"GSE21257": "GSE21257, unadjusted", "autophagy": "TARGET + GSE21257, cohort-adjusted"}
    rows = pd.concat([unadjusted.assign(model=unadjusted["cohort"].map(model)),
                      adjusted.assign(model="GSE21257, adjusted for proliferation")], ignore_index=True)
    return pd.DataFrame({"label": rows["score"].map(labels), "model": rows["model"], "hr": rows["effect"],
                         "ci_low": rows["ci_low"], "ci_high": rows["ci_high"]})


def response_rows(result: Mtor) -> pd.DataFrame:
    """GSE87437 scores (z-scored for display) by response, long format: score, value, response."""
    data = result.tumours.cohorts["GSE87437"].data
    keys = [k for k in [*PATHWAY_SETS, "proliferation"] if k in data]
    z = (data[keys] - data[keys].mean()) / data[keys].std()
    labels = {**PATHWAY_SETS, "proliferation": result.tumours.glue["proliferation_label"]}
    return z.rename(columns=labels).join(data["response"]).melt(id_vars="response", var_name="score",
                                                                 value_name="value")
