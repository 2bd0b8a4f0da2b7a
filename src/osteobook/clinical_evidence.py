"""The opening chapter's analyses: every arm's response and landmark PFS with CIs, against a benchmark."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .figures import PALETTE
from .proportions import METHOD_LABELS, proportion_ci

RATE_ENDPOINTS = ["orr", "pfs_landmark"]


def with_intervals(evidence: pd.DataFrame, method: str = "exact") -> pd.DataFrame:
    """Response and landmark-PFS rows with a CI: computed from counts where the source gives them,
    otherwise the interval the source reports (`interval_source` says which)."""
    rows = evidence.loc[evidence["endpoint"].isin(RATE_ENDPOINTS)].copy()
    counted = rows["events"].notna() & rows["n"].notna()
    rows["rate"] = np.where(counted, rows["events"].astype(float) / rows["n"].astype(float), rows["estimate"])
    low, high = proportion_ci(rows.loc[counted, "events"].astype(int), rows.loc[counted, "n"].astype(int), method)
    rows["low"], rows["high"] = rows["ci_low"], rows["ci_high"]
    rows.loc[counted, ["low", "high"]] = np.column_stack([low, high])
    rows["interval_source"] = np.where(counted, f"computed: {METHOD_LABELS[method]}",
                                       np.where(rows["ci_low"].notna(), "as reported", "none reported"))
    return rows.reset_index(drop=True)


def near_landmark(rows: pd.DataFrame, weeks: float, tolerance: float) -> pd.DataFrame:
    """Landmark-PFS rows whose landmark lies within `tolerance` weeks of `weeks`."""
    keep = (rows["endpoint"] == "pfs_landmark") & ((rows["landmark_weeks"] - weeks).abs() <= tolerance + 1e-9)
    return rows.loc[keep].reset_index(drop=True)


def against_benchmark(rows: pd.DataFrame, benchmark: pd.Series) -> pd.DataFrame:
    """Flag arms above the benchmark's upper bound: by point estimate, and with the whole CI above it."""
    upper = float(benchmark["ci_high"])
    return rows.assign(above_upper=rows["rate"] > upper, ci_above_upper=rows["low"] > upper)


def comparison_table(compared: pd.DataFrame) -> pd.DataFrame:
    """The benchmark comparison for readers: one line per arm, yes/no flags."""
    yes_no = {True: "yes", False: "no"}
    interval = compared.apply(lambda r: f" ({r.low:.0%}–{r.high:.0%})" if pd.notna(r.low) else "", axis=1)
    return pd.DataFrame({
        "Trial: arm": compared["trial_label"].str.split(" \\(").str[0] + ": " + compared["arm_label"],
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


def plot_against_benchmark(rows: pd.DataFrame, benchmark: pd.Series) -> plt.Figure:
    """Each arm's landmark PFS with its CI, over the benchmark's estimate and CI band."""
    rows = rows.sort_values("rate").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.36 * len(rows) + 1.4))
    ax.axvspan(benchmark["ci_low"], benchmark["ci_high"], color=PALETTE[1], alpha=0.25,
               label="benchmark 95% CI")
    ax.axvline(benchmark["estimate"], color=PALETTE[1], lw=2, label="benchmark estimate")
    for y, row in rows.iterrows():
        counted = row["interval_source"].startswith("computed")
        colour = PALETTE[0] if counted else PALETTE[3]
        if pd.notna(row["low"]):
            ax.plot([row["low"], row["high"]], [y, y], color=colour, lw=2)
        ax.plot(row["rate"], y, "o" if counted else "s", color=colour, ms=7)
    ax.plot([], [], "o", color=PALETTE[0], label="CI computed from counts")
    ax.plot([], [], "s", color=PALETTE[3], label="Kaplan–Meier / reported value")
    ax.set_yticks(range(len(rows)), [_short_label(r) for r in rows.itertuples()], fontsize=9)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("Progression-free at the landmark (% of patients)")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, fontsize=9)
    return fig


ESTIMATOR_SHORT = {"crude": "crude", "kaplan-meier": "KM", "binomial (missing = failure)": "binomial",
                   "reported": "as reported"}


def _short_label(row) -> str:
    """'SARC024 · regorafenib · 16 wk, KM': trial, arm, landmark and estimator in one line."""
    return (f"{row.trial_label.split(' (')[0]} · {row.arm_label} · "
            f"{row.landmark_weeks:g} wk, {ESTIMATOR_SHORT.get(row.estimator, row.estimator)}")
