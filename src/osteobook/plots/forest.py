"""Forest plots of single-arm proportions: study rows, pooled diamond and prediction interval."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Polygon
from matplotlib.ticker import PercentFormatter
from matplotlib.transforms import blended_transform_factory

from .style import PALETTE


def forest_plot(table: pd.DataFrame, pooled: dict, xlabel: str, pooled_label: str = "Pooled (random effects)",
                benchmark: tuple[float, float, float, str] | None = None) -> plt.Figure:
    """Forest plot of `table` (label, events, n, proportion, ci_low, ci_high, weight) and a pooled fit.

    `pooled` holds back-transformed `proportion`, `proportion_ci_*`, `proportion_pi_*`; `benchmark`
    is (estimate, ci_low, ci_high, label), drawn as a shaded band.
    """
    rows = len(table)
    label_w, events_w, weight_w, plot_w, rate_w = 2.85, 0.8, 0.7, 2.0, 1.45  # column widths, inches
    left_w = label_w + events_w + weight_w
    width, height = left_w + plot_w + rate_w, 0.3 * rows + 2.2
    fig, ax = plt.subplots(figsize=(width, height))
    fig.subplots_adjust(left=left_w / width, right=(width - rate_w) / width, bottom=0.95 / height,
                        top=1 - 0.1 / height)
    inch = 1 / plot_w  # one inch in axes-fraction units
    label_x, events_x, weight_x, rate_x = (-left_w + 0.02) * inch, -(weight_w + 0.12) * inch, -0.1 * inch, 1 + 0.1 * inch
    y = list(range(rows, 0, -1))
    ax.hlines(y, table["ci_low"], table["ci_high"], color=PALETTE[0], lw=1.4)
    ax.scatter(table["proportion"], y, s=20 + 3 * table["weight"], marker="s", color=PALETTE[0], zorder=3,
               label="arm, exact 95% CI (size = weight)")
    centre, low, high = pooled["proportion"], pooled["proportion_ci_low"], pooled["proportion_ci_high"]
    ax.add_patch(Polygon([(low, -0.2), (centre, 0.15), (high, -0.2), (centre, -0.55)], closed=True,
                         color=PALETTE[3], zorder=3, label="pooled estimate, 95% CI"))
    ax.hlines(-1.2, pooled["proportion_pi_low"], pooled["proportion_pi_high"], color=PALETTE[3], lw=2.2,
              linestyles="dotted", label="95% prediction interval")
    if benchmark is not None:
        estimate, b_low, b_high, b_label = benchmark
        ax.axvspan(b_low, b_high, color=PALETTE[1], alpha=0.18, lw=0)
        ax.axvline(estimate, color=PALETTE[1], lw=1.5, ls="--", label=b_label)
    text = blended_transform_factory(ax.transAxes, ax.transData)

    def cell(x: float, yi: float, value: str, align: str = "left", bold: bool = False) -> None:
        ax.text(x, yi, value, transform=text, ha=align, va="center", fontsize=10,
                fontweight="bold" if bold else "normal")

    for x, title, align in [(label_x, "Trial arm", "left"), (events_x, "Events / n", "right"),
                            (weight_x, "Weight", "right"), (rate_x, "Rate (95% CI)", "left")]:
        cell(x, rows + 1.1, title, align, bold=True)
    for yi, (_, row) in zip(y, table.iterrows(), strict=False):
        cell(label_x, yi, _shorten(row["label"], 38))
        cell(events_x, yi, f"{row['events']} / {row['n']}", "right")
        cell(weight_x, yi, f"{row['weight']:.1f}%", "right")
        cell(rate_x, yi, _interval(row["proportion"], row["ci_low"], row["ci_high"]))
    cell(label_x, -0.2, pooled_label, bold=True)
    cell(events_x, -0.2, f"{int(table['events'].sum())} / {int(table['n'].sum())}", "right", bold=True)
    cell(weight_x, -0.2, "100%", "right", bold=True)
    cell(rate_x, -0.2, _interval(centre, low, high), bold=True)
    cell(label_x, -1.2, "95% prediction interval")
    cell(rate_x, -1.2, _interval(None, pooled["proportion_pi_low"], pooled["proportion_pi_high"]))
    ax.set_ylim(-1.8, rows + 1.6)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.xaxis.label.set_size(11)
    ax.tick_params(labelsize=10)
    fig.legend(loc="lower center", ncol=2, fontsize=9.5, bbox_to_anchor=(0.5, 0.0), handlelength=1.5)
    return fig


def _interval(estimate: float | None, low: float, high: float) -> str:
    """'12.3% (4.0–25.6)' or '(4.0–25.6)' when there is no point estimate."""
    spread = f"{100 * low:.1f}–{100 * high:.1f}"
    return f"({spread})" if estimate is None else f"{100 * estimate:.1f}% ({spread})"


def _shorten(text: str, width: int) -> str:
    """Cut long labels with an ellipsis so columns stay aligned."""
    return text if len(text) <= width else text[: width - 1] + "…"
