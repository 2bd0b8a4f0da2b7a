"""Risk-of-bias figures: a traffic-light grid (trials × domains) and a summary bar per domain.

Numbers in, Figure out: both take a trials × domains table of judgments. Each judgment is drawn with a
colour of the Okabe–Ito palette *and* a letter or symbol, so the figures read without colour vision and
in greyscale print.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from .style import PALETTE, wrap

# judgment -> (colour, symbol drawn on it, legend label)
STYLES = {
    "RoB 2": {"low": (PALETTE[0], "+", "low"), "some concerns": (PALETTE[1], "!", "some concerns"),
              "high": (PALETTE[3], "×", "high"), "unknown": ("0.72", "?", "unknown (no information seen)")},
    "MINORS": {"2": (PALETTE[0], "2", "2: reported, adequate"), "1": (PALETTE[1], "1", "1: reported, inadequate"),
               "0": (PALETTE[3], "0", "0: not reported"), "unknown": ("0.72", "?", "unknown (not in the text seen)")},
}
TEXT_COLOUR = {PALETTE[0]: "white", PALETTE[1]: "black", PALETTE[3]: "white", "0.72": "black"}
HATCHES = ["", "//", "xx", ".."]  # second cue in the bars, in the order of STYLES
SHORT = {"D1 randomisation process": "D1 random-\nisation", "D2 deviations from intended interventions":
         "D2 deviations", "D3 missing outcome data": "D3 missing\ndata", "D4 measurement of the outcome":
         "D4 measure-\nment", "D5 selection of the reported result": "D5 reported\nresult",
         "MINORS 1 clearly stated aim": "1 aim", "MINORS 2 inclusion of consecutive patients": "2 consec-\nutive",
         "MINORS 3 prospective collection of data": "3 prosp-\nective", "MINORS 4 endpoints appropriate to the aim":
         "4 end-\npoint", "MINORS 5 unbiased assessment of the endpoint": "5 unbiased\nassessment",
         "MINORS 6 follow-up period appropriate": "6 follow-\nup", "MINORS 7 loss to follow-up < 5%": "7 loss\n< 5%",
         "MINORS 8 prospective calculation of the study size": "8 study\nsize"}


def _short(domain: str) -> str:
    """A column label of two short lines ('D1 random-\nisation', '5 unbiased\nassessment')."""
    return SHORT.get(domain, wrap(domain.replace("MINORS ", ""), 12))


def traffic_light(matrix: pd.DataFrame, tool: str) -> plt.Figure:
    """One marker per trial × domain, coloured and lettered by judgment; trials as rows."""
    styles = STYLES[tool]
    n_rows, n_cols = matrix.shape
    fig, ax = plt.subplots(figsize=(8, 0.34 * n_rows + 1.9), layout="constrained")
    for i, trial in enumerate(matrix.index):
        for j, domain in enumerate(matrix.columns):
            colour, symbol, _ = styles[matrix.at[trial, domain]]
            ax.scatter(j, i, s=260, color=colour, edgecolor="black", linewidth=0.6, zorder=2)
            ax.text(j, i, symbol, ha="center", va="center", fontsize=10, fontweight="bold",
                    color=TEXT_COLOUR[colour], zorder=3)
    ax.set_xticks(range(n_cols), [_short(d) for d in matrix.columns], fontsize=10)
    ax.xaxis.tick_top()
    ax.set_yticks(range(n_rows), list(matrix.index), fontsize=10)
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(n_rows - 0.5, -0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    ax.grid(False)
    handles = [Patch(facecolor=c, edgecolor="black", label=label if label.startswith(s) else f"{s}  {label}")
               for c, s, label in styles.values()]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    return fig


def summary_bars(matrix: pd.DataFrame, tool: str) -> plt.Figure:
    """Per domain, the share of trials with each judgment (stacked horizontal bars, counts printed)."""
    styles = STYLES[tool]
    domains = list(matrix.columns)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(domains) + 1.8), layout="constrained")
    left = np.zeros(len(domains))
    for (judgment, (colour, symbol, label)), hatch in zip(styles.items(), HATCHES, strict=True):
        counts = np.array([(matrix[d] == judgment).sum() for d in domains], dtype=float)
        share = counts / len(matrix)
        ax.barh(range(len(domains)), share, left=left, color=colour, edgecolor="black", linewidth=0.5,
                hatch=hatch, label=label)
        for y, (c, s, x0) in enumerate(zip(counts, share, left, strict=True)):
            if c and s >= 0.07:
                ax.text(x0 + s / 2, y, f"{int(c)}", ha="center", va="center", fontsize=10, fontweight="bold",
                        color=TEXT_COLOUR[colour], bbox={"facecolor": colour, "edgecolor": "none", "pad": 1})
        left += share
    ax.set_yticks(range(len(domains)), [d.replace("MINORS ", "") for d in domains], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel(f"Share of the {len(matrix)} trials rated with {tool} (number of trials printed)")
    fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    return fig
