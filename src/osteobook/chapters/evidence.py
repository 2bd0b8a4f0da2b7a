"""Chapter "The clinical evidence base": every arm's response and landmark PFS with CIs, against a benchmark.

`analyse` returns everything the page shows: tables, the values glued into the text and the key
results the tests read. Figures are drawn by `osteobook.plots.benchmark` from these numbers.

The reader tables link every curated value to its source (DOI, PMID or the page it was read on) and
carry the verbatim quote one click away (`source_cell`); curation notes (the `notes` columns) never
reach a page. The tables are also used by the TKI chapter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import trials
from ..engine.params import validate
from ..prose import Markdown
from ..sources import STATUS_LABELS, linked_table, source_cell
from ..stats.benchmark import COG_ACTIVITY_MULTIPLIER, activity_bar, arm_flags
from ..stats.landmarks import is_clinical_benefit, near_landmark, one_per_arm
from ..stats.proportions import (
    METHOD_LABELS,
    proportion_ci,
    reconstruct_reported,
    with_ci,
)

RATE_ENDPOINTS = ["orr", "pfs_landmark"]
ESTIMATOR_LABELS = {"crude": "crude", "kaplan-meier": "Kaplan–Meier", "binomial (missing = failure)":
                    "binomial, missing = failure", "reported": "estimator not named", "cox": "Cox model"}
# ---- sources for readers -------------------------------------------------------------------------------

def arm_labels(rows: pd.DataFrame) -> pd.Series:
    """'Grignani 2015: sorafenib + everolimus', 'OLIE: lenvatinib + IE' (short trial name, then the arm)."""
    trial = rows["trial_label"].str.extract(r"^(\S+(?: \d{4})?)", expand=False)
    arm = (rows["arm_label"].str.replace("ifosfamide + etoposide", "IE", regex=False)
           .str.replace(r"\s*\(.*\)$", "", regex=True))
    return trial + ": " + arm


def percent_interval(rate: float, low: float, high: float, digits: int = 0) -> str:
    """'46% (28–63%)', or '46%' without an interval."""
    value = f"{100 * rate:.{digits}f}%"
    return value if pd.isna(low) else f"{value} ({100 * low:.{digits}f}–{100 * high:.{digits}f}%)"


# ---- the chapter's tables --------------------------------------------------------------------------

def with_intervals(evidence: pd.DataFrame, method: str = "exact") -> pd.DataFrame:
    """Response and landmark-PFS rows with `rate`, `low`, `high`: computed from counts where the source
    gives them, otherwise as the source reports them (`interval_source` says which)."""
    rows = with_ci(evidence.loc[evidence["endpoint"].isin(RATE_ENDPOINTS)], method)
    return rows.rename(columns={"proportion": "rate", "ci_low": "low", "ci_high": "high"}).reset_index(drop=True)


def endpoint_labels(rows: pd.DataFrame) -> pd.Series:
    """'Objective response', 'PFS at 4 months (Kaplan–Meier)', 'Clinical benefit at 18 weeks' (crude counts
    carry no estimator)."""
    landmark = rows["landmark_label"].astype("string").fillna("").str.replace(r"\s*\(.*$", "", regex=True)
    kind = np.where(is_clinical_benefit(rows), "Clinical benefit at ", "PFS at ")
    name = np.where(rows["endpoint"] == "orr", "Objective response", kind + landmark)
    estimator = np.where(rows["estimator"] == "crude", "", " (" + rows["estimator"].map(ESTIMATOR_LABELS) + ")")
    return pd.Series(name, index=rows.index) + estimator


def _value(row: pd.Series) -> str:
    count = f"{int(row.events)}/{int(row.n)}: " if pd.notna(row.events) else ""
    marker = "" if row.interval_source.startswith("computed") or pd.isna(row.low) else " †"
    return f"{count}{percent_interval(row.rate, row.low, row.high)}{marker}"


def summary_table(rows: pd.DataFrame) -> pd.io.formats.style.Styler:
    """One line per arm and endpoint for readers: class, trial and arm, endpoint, value with CI, source."""
    table = pd.DataFrame({
        "Class": rows["drug_class"],
        "Trial: arm": arm_labels(rows),
        "Endpoint (estimator)": endpoint_labels(rows),
        "Value (95% CI)": rows.apply(_value, axis=1),
        "Source and quote": rows.apply(source_cell, axis=1),
    }).sort_values(["Class", "Trial: arm", "Endpoint (estimator)"], kind="stable")
    return linked_table(table, ["Source and quote"])


def counts_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Values reported as counts, with the interval computed from them (a plain table for a code cell)."""
    counted = rows.loc[rows["events"].notna()]
    return pd.DataFrame({"Trial: arm": arm_labels(counted), "Endpoint": endpoint_labels(counted),
                         "Events": counted["events"].astype(int), "n": counted["n"].astype(int),
                         "Rate": counted["rate"].round(4), "Lower": counted["low"].round(4),
                         "Upper": counted["high"].round(4)}).set_index("Trial: arm")


def comparison_table(compared: pd.DataFrame) -> pd.io.formats.style.Styler:
    """The benchmark comparison for readers: one line per estimate, yes/no flags, the source of each value."""
    yes_no = {True: "yes", False: "no"}
    table = pd.DataFrame({
        "Trial: arm": arm_labels(compared) + np.where(compared["drug_class"] == "control", " (control)", ""),
        "Landmark (estimator)": (compared["landmark_label"].str.replace(r"\s*\(.*$", "", regex=True) + " ("
                                 + compared["estimator"].map(ESTIMATOR_LABELS) + ")"),
        "Progression-free (95% CI)": compared.apply(lambda r: percent_interval(r.rate, r.low, r.high), axis=1),
        "Above the benchmark's upper bound": compared["above_upper"].map(yes_no),
        "Whole CI above it": np.where(compared["low"].isna(), "no CI", compared["ci_above_upper"].map(yes_no)),
        "Source and quote": compared.apply(source_cell, axis=1),
    }).sort_values("Trial: arm", kind="stable")
    return linked_table(table, ["Source and quote"])


# ---- checks of the curated values (the curation page shows them) ---------------------------------------

def _decimals(value: float) -> int:
    """Decimals a source printed for a proportion: 0.12 -> 2 (12%), 0.444 -> 3 (44.4%), at least 2."""
    text = f"{value:.6f}".rstrip("0")
    return max(2, len(text.split(".")[1]) if "." in text else 0)


def _agrees(value: float, printed: float, digits: int) -> bool:
    """`value` is `printed` once rounded, or once truncated, to `digits` decimals."""
    scale = 10**digits
    return abs(round(value * scale) - round(printed * scale)) < 1e-9 or abs(
        np.floor(value * scale + 1e-9) - round(printed * scale)) < 1e-9


def consistency_checks(values: pd.DataFrame) -> pd.DataFrame:
    """Reported rates that disagree with their own counts, intervals or denominators, one row per finding.

    Three checks of every response and landmark row: a printed rate that is not events/n (rounded or
    truncated to the printed digits); a printed CI that no interval method reproduces from the count; a
    rate reported without counts (and not named Kaplan–Meier) that is no whole number of patients out of n.
    """
    findings = []
    rows = values.loc[values["endpoint"].isin(RATE_ENDPOINTS) & values["estimate"].notna()]
    for row in rows.itertuples():
        digits = _decimals(row.estimate)
        if pd.notna(row.events) and pd.notna(row.n):
            rate = row.events / row.n
            if not _agrees(rate, row.estimate, digits):
                findings.append((row, "printed rate is not the count",
                                 f"printed {100 * row.estimate:g}%, but {int(row.events)}/{int(row.n)} = {rate:.1%}"))
            if pd.notna(row.ci_low) and pd.notna(row.ci_high):
                ci_digits = max(_decimals(row.ci_low), _decimals(row.ci_high))
                methods = [m for m in METHOD_LABELS
                           if all(_agrees(float(bound), printed, ci_digits) for bound, printed in
                                  zip(proportion_ci(int(row.events), int(row.n), m), (row.ci_low, row.ci_high),
                                      strict=True))]
                if not methods:
                    low, high = proportion_ci(int(row.events), int(row.n), "exact")
                    findings.append((row, "printed CI does not fit the count",
                                     (f"printed {100 * row.ci_low:g}–{100 * row.ci_high:g}%; exact interval for "
                                     f"{int(row.events)}/{int(row.n)}: {float(low):.1%}–{float(high):.1%}")))
        elif pd.notna(row.n) and row.estimator != "kaplan-meier":
            count = row.estimate * row.n
            if not any(_agrees(k / row.n, row.estimate, digits) for k in (np.floor(count), np.ceil(count))):
                findings.append((row, "rate is not a whole count of n",
                                 (f"{100 * row.estimate:g}% of {int(row.n)} = {count:.1f} patients: a Kaplan–Meier "
                                 "estimate or another denominator")))
    return pd.DataFrame([{"outcome_id": row.outcome_id, "Trial: arm": arm_labels(pd.DataFrame([row._asdict()])).iloc[0],
                          "Endpoint": endpoint_labels(pd.DataFrame([row._asdict()])).iloc[0], "Check": check,
                          "Finding": finding, "status": row.status}
                         for row, check, finding in findings],
                        columns=["outcome_id", "Trial: arm", "Endpoint", "Check", "Finding", "status"])


def status_counts(values: pd.DataFrame) -> pd.DataFrame:
    """How many outcome values of the curated table have each status, by source kind."""
    table = pd.crosstab(values["status"], values["source_kind"]).reindex(list(STATUS_LABELS), fill_value=0)
    table["total"] = table.sum(axis=1)
    return table


def curation_markdown() -> str:
    """The generated part of `book/curation.md`: status counts and the consistency checks, as Markdown.

    A test compares the page with this text, so the page cannot drift from `data/`.
    """
    values = trials.load_outcomes()
    counts = status_counts(values)
    lines = ["| status | meaning | primary source | secondary source | values |", "|---|---|---|---|---|"]
    lines += [f"| {status} | {STATUS_LABELS[status]} | {row.get('primary', 0)} | {row.get('secondary', 0)} | "
              f"{row['total']} |" for status, row in counts.iterrows()]
    arms = trials.load_arms()
    checks = consistency_checks(trials.evidence(include_unverified=True, osteosarcoma_only=False,
                                                prospective_only=False))
    lines += ["", (f"{len(values)} outcome values of {values['arm_id'].nunique()} arms "
              f"({len(arms)} arms in `data/trial_arms.csv`)."), "",
              "| trial: arm | value | check | finding |", "|---|---|---|---|"]
    lines += [f"| {r['Trial: arm']} | {r['Endpoint']} | {r['Check']} | {r['Finding']} |" for _, r in checks.iterrows()]
    return "\n".join(lines)


# ---- the analysis ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """The chapter's numbers: every rate with its CI, the benchmark and its reconstruction, the comparison."""

    rows: pd.DataFrame
    benchmark: pd.Series
    reconstruction: pd.DataFrame
    compared: pd.DataFrame  # every estimate near the landmark (an arm may report two)
    per_arm: pd.DataFrame  # one estimate per arm (Kaplan–Meier where an arm reports both)
    checks: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else "none"


def _benchmark_takeaway(per_arm: pd.DataFrame, upper: float, landmark: str, tolerance: float) -> str:
    """The count of arms above the benchmark, generated: distinct arms, controls apart, the rule stated."""
    active, controls = per_arm.loc[per_arm["drug_class"] != "control"], per_arm.loc[per_arm["drug_class"] == "control"]
    above, with_ci = active.loc[active["above_upper"]], active.loc[active["low"].notna()]
    whole = with_ci.loc[with_ci["ci_above_upper"]]
    controls_above = controls.loc[controls["above_upper"]]
    return (f"{len(above)} of {len(active)} arms with a targeted agent and a progression-free rate within "
            f"{tolerance:g} weeks of {landmark} report a rate above the benchmark's upper bound ({upper:.0%}; one "
            f"estimate per arm, Kaplan–Meier where an arm reports two); {len(whole)} of the {len(with_ci)} with a "
            f"confidence interval have the whole interval above it. {len(controls_above)} of {len(controls)} "
            f"control arm{'s' if len(controls) != 1 else ''} without the targeted agent "
            f"{'is' if len(controls_above) == 1 else 'are'} above it too"
            + (f" ({_listing(list(arm_labels(controls_above)))})." if len(controls_above) else "."))


def bar_counts(per_arm: pd.DataFrame, benchmarks: pd.DataFrame,
               multiplier: float = COG_ACTIVITY_MULTIPLIER) -> pd.DataFrame:
    """Distinct active arms against each benchmark's upper bound and its COG activity bar (multiplier × upper)."""
    active = per_arm.loc[per_arm["drug_class"] != "control"]
    with_ci = active.loc[active["low"].notna()]
    rows = []
    for bench_id, bench in benchmarks.iterrows():
        upper, bar = float(bench["ci_high"]), activity_bar(bench, multiplier)
        rows.append({"benchmark": bench_id, "estimate": float(bench["estimate"]), "ci_low": float(bench["ci_low"]),
                     "upper": upper, "bar": bar, "arms": len(active), "with_ci": len(with_ci),
                     "above_upper": int((active["rate"] > upper).sum()),
                     "ci_above_upper": int((with_ci["low"] > upper).sum()),
                     "above_bar": int((active["rate"] > bar).sum()), "ci_above_bar": int((with_ci["low"] > bar).sum()),
                     "arms_ci_above_bar": sorted(with_ci.loc[with_ci["low"] > bar, "arm_id"])})
    return pd.DataFrame(rows)


def _bar_text(counts: pd.DataFrame, multiplier: float) -> str:
    """Both COG benchmarks, each with its upper bound and COG's activity bar, as counts of distinct arms."""
    names = {"LAGMAY2016_EFS4": "Lagmay 2016 (seven trials, 1997–2007)",
             "COG2021_EFS4": "the COG 2021 update (three trials)"}
    parts = [f"against {names.get(r.benchmark, r.benchmark)}, {100 * r.estimate:.0f}% ({100 * r.ci_low:.0f}–"
             f"{100 * r.upper:.0f}%), {r.above_upper} of {r.arms} arms lie above the upper bound and {r.above_bar} "
             f"above the activity bar of {100 * r.bar:.0f}%; {r.ci_above_bar} of the {r.with_ci} with a CI have the "
             f"whole CI above the bar" for r in counts.itertuples()]
    return (f"COG's own trials called a drug active only if it doubled the benchmark's upper bound (\"an EFS "
            f"improvement of double the upper confidence interval\"; the book's activity bar is {multiplier:g} × the "
            f"upper bound). With one estimate per arm, " + "; ".join(parts) + ".")


def analyse(ci_method: str, landmark_weeks: float, landmark_tolerance_weeks: float, benchmark: str,
            include_unverified: bool) -> Evidence:
    """Intervals for every response and landmark-PFS value, and the comparison with `benchmark`."""
    spec = validate("evidence", locals())
    all_values = trials.evidence(include_unverified=True)
    rows = with_intervals(trials.evidence(include_unverified=include_unverified), ci_method)
    bench = trials.load_benchmarks().set_index("benchmark_id").loc[benchmark]
    n_bench = int(bench["n"])
    reconstruction = reconstruct_reported(n_bench, bench["estimate"], bench["ci_low"], bench["ci_high"])
    below = int(bench["estimate"] * n_bench)  # the two counts either side of the reported rate
    compared = arm_flags(near_landmark(rows, landmark_weeks, landmark_tolerance_weeks), bench)
    per_arm = one_per_arm(compared, "kaplan-meier", landmark_weeks)
    benchmarks = trials.load_benchmarks().set_index("benchmark_id")
    bars = bar_counts(per_arm, benchmarks.loc[benchmarks["landmark_weeks"].sub(landmark_weeks).abs()
                                              <= landmark_tolerance_weeks + 1e-9])
    controls = per_arm.loc[per_arm["above_upper"] & (per_arm["drug_class"] == "control")]
    active = per_arm.loc[per_arm["drug_class"] != "control"]
    clinical_benefit = rows.loc[is_clinical_benefit(rows)]
    orr = rows.loc[(rows["endpoint"] == "orr") & rows["events"].notna() & (rows["drug_class"] != "control")]
    checks = consistency_checks(trials.evidence(include_unverified=True, osteosarcoma_only=False,
                                                prospective_only=False))
    n_arms = trials.load_arms().shape[0]
    landmark_label = f"{landmark_weeks:g} weeks"
    glue = {
        "n_arms": n_arms, "n_values": all_values.shape[0], "n_rate_rows": rows.shape[0],
        "n_rate_arms": rows["arm_id"].nunique(),
        "n_unverified_hidden": 0 if include_unverified else int((all_values["status"] == "unverified").sum()),
        "ci_method_label": spec.label("ci_method", ci_method),
        "zero_of_12_exact": float(proportion_ci(0, 12, "exact")[1]),
        "zero_of_12_wilson": float(proportion_ci(0, 12, "wilson")[1]),
        "median_orr": float(orr["rate"].median()), "n_orr_arms": orr["arm_id"].nunique(),
        "bench_n": n_bench, "bench_estimate": float(bench["estimate"]),
        "bench_low": float(bench["ci_low"]), "bench_high": float(bench["ci_high"]),
        "count_below": below, "count_above": below + 1,
        "rate_below": float(below / n_bench), "rate_above": float((below + 1) / n_bench),
        "bench_exact_below": float(proportion_ci(below, n_bench, "exact")[1]),
        "tolerance": landmark_tolerance_weeks, "landmark_label": landmark_label,
        # distinct arms (one estimate each); estimates are counted separately
        "n_compared": len(per_arm), "n_above": int(per_arm["above_upper"].sum()),
        "n_ci_above": int(per_arm["ci_above_upper"].sum()),
        "n_estimates": len(compared), "n_two_estimates": int(compared["arm_id"].duplicated().sum()),
        "n_active": len(active), "n_active_above": int(active["above_upper"].sum()),
        "n_controls_above": len(controls),
        "controls_above": _listing(list(arm_labels(controls))) if len(controls) else "none",
        "benchmark_takeaway": Markdown(_benchmark_takeaway(per_arm, float(bench["ci_high"]), landmark_label,
                                                           landmark_tolerance_weeks)),
        "clinical_benefit_arms": _listing(list(arm_labels(clinical_benefit))) if len(clinical_benefit) else "none",
        "n_checks": len(checks),
        "bar_text": Markdown(_bar_text(bars, COG_ACTIVITY_MULTIPLIER)),
    }
    matches = reconstruction.loc[reconstruction["ci_matches"]]
    results = {
        "n_arms": n_arms,
        "n_rate_rows": rows.shape[0],
        "intervals": {r.outcome_id: {"events": r.events, "n": r.n, "rate": r.rate, "low": r.low, "high": r.high,
                                     "interval_source": r.interval_source}
                      for r in rows.itertuples() if pd.notna(r.events)},
        "benchmark": {"id": benchmark, "n": n_bench, "estimate": float(bench["estimate"]),
                      "ci_low": float(bench["ci_low"]), "ci_high": float(bench["ci_high"]),
                      "reconstructions_matching_ci": matches[["events", "method"]].values.tolist()},
        "compared": sorted(compared["outcome_id"]),
        "above_upper": sorted(compared.loc[compared["above_upper"], "outcome_id"]),
        "ci_above_upper": sorted(compared.loc[compared["ci_above_upper"], "outcome_id"]),
        "per_arm": sorted(per_arm["outcome_id"]),
        "arms_above_upper": sorted(per_arm.loc[per_arm["above_upper"], "arm_id"]),
        "arms_ci_above_upper": sorted(per_arm.loc[per_arm["ci_above_upper"], "arm_id"]),
        "controls_above_upper": sorted(controls["outcome_id"]),
        "clinical_benefit_not_compared": sorted(clinical_benefit["outcome_id"]),
        "checks": checks[["outcome_id", "Check"]].values.tolist(),
        "activity_bars": {"multiplier": COG_ACTIVITY_MULTIPLIER, "rows": bars.to_dict(orient="records")},
    }
    return Evidence(rows, bench, reconstruction, compared, per_arm, checks, glue, results)


def checks_table(result: Evidence) -> pd.io.formats.style.Styler:
    """The consistency checks for readers (no ids, no index), one row per finding."""
    return linked_table(result.checks[["Trial: arm", "Endpoint", "Check", "Finding"]], [], sortable=False)


def reconstruction_table(result: Evidence) -> pd.io.formats.style.Styler:
    """The benchmark reconstruction for readers: the two counts either side of the reported rate."""
    counts = [result.glue["count_below"], result.glue["count_above"]]
    table = result.reconstruction.loc[result.reconstruction["events"].isin(counts)]
    return (table.assign(**{"CI reproduces the published bounds": table["ci_matches"].map({True: "yes", False: "no"})})
            .drop(columns=["ci_matches", "estimate_matches"])
            .rename(columns={"events": f"events (of {result.glue['bench_n']})", "method": "interval method",
                             "ci_low": "lower", "ci_high": "upper"})
            .style.format({"estimate": "{:.1%}", "lower": "{:.1%}", "upper": "{:.1%}"}).hide(axis="index"))
