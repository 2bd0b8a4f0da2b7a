"""Each arm's landmark rate against a historical benchmark band."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..prose import trial_name
from .style import PALETTE, wrap


def against_benchmark(rows: pd.DataFrame, benchmark: pd.Series) -> plt.Figure:
    """Each arm's landmark PFS with its CI, over the benchmark's estimate and CI band."""
    rows = rows.sort_values("rate").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.4), layout="constrained")
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
    ax.set_yticks(range(len(rows)), [wrap(_short_label(r), 48) for r in rows.itertuples()], fontsize=9)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("Progression-free at the landmark (% of patients)")
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1.01), ncol=2, fontsize=9)
    return fig


ESTIMATOR_SHORT = {"crude": "crude", "kaplan-meier": "KM", "binomial (missing = failure)": "binomial",
                   "reported": "as reported"}


def _short_label(row) -> str:
    """'SARC024 · regorafenib · 16 wk, KM': trial, arm, landmark and estimator in one line."""
    return (f"{trial_name(row.trial_label)} · {row.arm_label} · "
            f"{row.landmark_weeks:g} wk, {ESTIMATOR_SHORT.get(row.estimator, row.estimator)}")
