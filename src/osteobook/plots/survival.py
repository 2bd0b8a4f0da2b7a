"""Survival figures: Kaplan–Meier curves and hazard-ratio forest panels."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import NullFormatter
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

AT_RISK_TOP_PT = 40   # the "Number at risk" heading sits this far below the axis, under the tick and axis labels
AT_RISK_ROW_PT = 13   # one row per group


def plot_km(ax: Axes, fits: dict, colors: dict[str, str], numbers_at_risk: bool = True) -> None:
    """Kaplan–Meier curves (`stats.survival.kaplan_meier`) with 95% CI bands per group and, under the axis,
    the number of patients still at risk at each time tick."""
    for name, fitter in fits.items():
        fitter.plot_survival_function(ax=ax, color=colors[name], ci_alpha=0.15, show_censors=True,
                                      censor_styles={"ms": 4, "marker": "|"})
    ax.set_ylim(0, 1.02)
    if numbers_at_risk:
        add_numbers_at_risk(ax, fits, colors)


def at_risk(durations, times) -> list[int]:
    """Patients still under observation (neither failed nor censored before) at each time: duration ≥ t."""
    durations = np.asarray(durations, dtype=float)
    return [int((durations >= t).sum()) for t in times]


def add_numbers_at_risk(ax: Axes, fits: dict, colors: dict[str, str]) -> list[float]:
    """Write the number at risk at each x tick under `ax`, one row per group in its colour; returns the ticks.

    The ticks are fixed here so that a later layout change cannot move them away from their counts.
    """
    low, high = ax.get_xlim()
    ticks = [float(t) for t in ax.get_xticks() if low <= t <= high]
    ax.set_xticks(ticks)
    figure = ax.get_figure()

    def below(points: float):
        return blended_transform_factory(ax.transData, ax.transAxes) + ScaledTranslation(
            0, -points / 72, figure.dpi_scale_trans)

    def label_at(points: float):
        return ax.transAxes + ScaledTranslation(-6 / 72, -points / 72, figure.dpi_scale_trans)

    ax.text(0, 0, "Number at risk", transform=label_at(AT_RISK_TOP_PT), ha="right", va="top", fontsize=10,
            fontweight="bold")
    for row, (name, fitter) in enumerate(fits.items(), start=1):
        offset = AT_RISK_TOP_PT + row * AT_RISK_ROW_PT
        ax.text(0, 0, name, transform=label_at(offset), ha="right", va="top", fontsize=10, color=colors[name])
        for tick, count in zip(ticks, at_risk(fitter.durations, ticks), strict=True):
            ax.text(tick, 0, f"{count}", transform=below(offset), ha="center", va="top", fontsize=10,
                    color=colors[name])
    return ticks


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
