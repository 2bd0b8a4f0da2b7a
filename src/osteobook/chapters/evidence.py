"""The opening chapter's analyses: every arm's response and landmark PFS with CIs, against a benchmark."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.proportions import with_ci

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


