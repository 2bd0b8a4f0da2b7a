"""Chapter "The clinical evidence base": every arm's response and landmark PFS with CIs, against a benchmark.

`analyse` returns everything the page shows: tables, the values glued into the text and the key
results the tests read. Figures are drawn by `osteobook.plots.benchmark` from these numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import trials
from ..engine.params import validate
from ..prose import trial_name
from ..stats.benchmark import arm_flags
from ..stats.landmarks import near_landmark
from ..stats.proportions import proportion_ci, reconstruct_reported, with_ci

RATE_ENDPOINTS = ["orr", "pfs_landmark"]


def with_intervals(evidence: pd.DataFrame, method: str = "exact") -> pd.DataFrame:
    """Response and landmark-PFS rows with `rate`, `low`, `high`: computed from counts where the source
    gives them, otherwise as the source reports them (`interval_source` says which)."""
    rows = with_ci(evidence.loc[evidence["endpoint"].isin(RATE_ENDPOINTS)], method)
    return rows.rename(columns={"proportion": "rate", "ci_low": "low", "ci_high": "high"}).reset_index(drop=True)


def comparison_table(compared: pd.DataFrame) -> pd.DataFrame:
    """The benchmark comparison for readers: one line per arm, yes/no flags."""
    yes_no = {True: "yes", False: "no"}
    interval = compared.apply(lambda r: f" ({r.low:.0%}–{r.high:.0%})" if pd.notna(r.low) else "", axis=1)
    return pd.DataFrame({
        "Trial: arm": compared["trial_label"].map(trial_name) + ": " + compared["arm_label"],
        "Landmark (estimator)": compared["landmark_label"] + " (" + compared["estimator"] + ")",
        "Progression-free (95% CI)": compared["rate"].map("{:.0%}".format) + interval,
        "Above benchmark's upper bound": compared["above_upper"].map(yes_no),
        "Whole CI above it": compared["ci_above_upper"].map(yes_no),
    }).sort_values("Trial: arm").reset_index(drop=True)


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per arm and endpoint for readers: class, trial and arm, endpoint, value with CI, source."""
    def value(row: pd.Series) -> str:
        count = f"{int(row.events)}/{int(row.n)} = " if pd.notna(row.events) else ""
        interval = f" ({row.low:.0%}–{row.high:.0%})" if pd.notna(row.low) else ""
        marker = "" if row.interval_source.startswith("computed") or pd.isna(row.low) else " †"
        return f"{count}{row.rate:.0%}{interval}{marker}"

    endpoint = np.where(rows["endpoint"] == "orr", "Objective response",
                        "PFS at " + rows["landmark_label"].fillna("").astype(str))
    table = pd.DataFrame({
        "Class": rows["drug_class"],
        "Trial: arm": rows["trial_label"] + ": " + rows["arm_label"],
        "Endpoint (estimator)": endpoint + " (" + rows["estimator"] + ")",
        "Value (95% CI)": rows.apply(value, axis=1),
        "Source": rows["status"] + ", " + rows["source_kind"],
    })
    return table.sort_values(["Class", "Trial: arm", "Endpoint (estimator)"], kind="stable").reset_index(drop=True)




@dataclass(frozen=True)
class Evidence:
    """The chapter's numbers: every rate with its CI, the benchmark and its reconstruction, the comparison."""

    rows: pd.DataFrame
    benchmark: pd.Series
    reconstruction: pd.DataFrame
    compared: pd.DataFrame
    glue: dict[str, Any]
    results: dict[str, Any]


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
    controls = compared.loc[compared["above_upper"] & (compared["drug_class"] == "control")]
    orr = rows.loc[(rows["endpoint"] == "orr") & rows["events"].notna()]
    n_arms = trials.load_arms().shape[0]
    glue = {
        "n_arms": n_arms, "n_values": all_values.shape[0], "n_rate_rows": rows.shape[0],
        "n_unverified_hidden": 0 if include_unverified else int((all_values["status"] == "unverified").sum()),
        "ci_method_label": spec.label("ci_method", ci_method),
        "zero_of_12_exact": float(proportion_ci(0, 12, "exact")[1]),
        "zero_of_12_wilson": float(proportion_ci(0, 12, "wilson")[1]),
        "median_orr": float(orr["rate"].median()),
        "bench_n": n_bench, "bench_estimate": float(bench["estimate"]),
        "bench_low": float(bench["ci_low"]), "bench_high": float(bench["ci_high"]),
        "count_below": below, "count_above": below + 1,
        "rate_below": float(below / n_bench), "rate_above": float((below + 1) / n_bench),
        "bench_exact_below": float(proportion_ci(below, n_bench, "exact")[1]),
        "tolerance": landmark_tolerance_weeks, "landmark_label": f"{landmark_weeks:g} weeks",
        "n_compared": compared.shape[0], "n_above": int(compared["above_upper"].sum()),
        "n_ci_above": int(compared["ci_above_upper"].sum()), "n_controls_above": len(controls),
        "controls_above": ", ".join(controls["trial_label"].map(trial_name) + ": "
                                    + controls["arm_label"]) or "none",
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
        "controls_above_upper": sorted(controls["outcome_id"]),
    }
    return Evidence(rows, bench, reconstruction, compared, glue, results)


def reconstruction_table(result: Evidence) -> pd.io.formats.style.Styler:
    """The benchmark reconstruction for readers: the two counts either side of the reported rate."""
    counts = [result.glue["count_below"], result.glue["count_above"]]
    table = result.reconstruction.loc[result.reconstruction["events"].isin(counts)]
    return (table.assign(**{"CI reproduces the published bounds": table["ci_matches"].map({True: "yes", False: "no"})})
            .drop(columns=["ci_matches", "estimate_matches"])
            .rename(columns={"events": f"events (of {result.glue['bench_n']})", "method": "interval method",
                             "ci_low": "lower", "ci_high": "upper"})
            .style.format({"estimate": "{:.1%}", "lower": "{:.1%}", "upper": "{:.1%}"}).hide(axis="index"))
