"""Survival figures: Kaplan–Meier curves and hazard-ratio forest panels."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import NullFormatter


def plot_km(ax: Axes, fits: dict, colors: dict[str, str]) -> None:
    """Kaplan–Meier curves (`stats.survival.kaplan_meier`) with 95% CI bands per group."""
    for name, fitter in fits.items():
        fitter.plot_survival_function(ax=ax, color=colors[name], ci_alpha=0.15, show_censors=True,
                                      censor_styles={"ms": 4, "marker": "|"})
    ax.set_ylim(0, 1.02)


def plot_forest(ax: Axes, table: pd.DataFrame, label: str = "term", color: str = "#0072B2") -> None:
    """Hazard (or odds) ratios with CIs on a log axis, one row per table row, top to bottom."""
    y = np.arange(len(table))[::-1]
    ax.errorbar(table["hr"], y, xerr=[table["hr"] - table["ci_low"], table["ci_high"] - table["hr"]],
                fmt="o", color=color, ecolor=color, capsize=3)
    ax.axvline(1, color="0.4", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    low, high = table["ci_low"].min(), table["ci_high"].max()
    ticks = [t for t in [0.125, 0.25, 0.5, 1, 2, 4, 8, 16] if low / 1.5 <= t <= high * 1.5]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(y, table[label])
