"""Figures of the CAF chapter, drawn from the numbers of `osteobook.chapters.caf`."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from .style import PALETTE
from .survival import plot_forest, plot_km

# (value, group, group order, y label, x label) of the two panels of `efflux`
EFFLUX_PANELS = [
    ("ABCB1", "PgP_Status", ["Negative", "Positive"], "ABCB1 expression (log2 normalised count)",
     "P-glycoprotein status (central assessment)"),
    ("iCAF score", "HistologicResponse", ["GR", "PR"], "iCAF-cytokine score (mean z)",
     "histological response (GR good, PR poor)"),
]


def enrichment_heatmap(scores: pd.DataFrame, counts: pd.DataFrame, passing: pd.DataFrame, xlabel: str, ylabel: str,
                       colorbar_label: str) -> plt.Figure:
    """Rows x sets coloured by `scores`; each cell shows its `counts` text, starred and bold where `passing`."""
    fig, ax = plt.subplots(figsize=(6.4, 9))
    sns.heatmap(scores, ax=ax, cmap="cividis", vmin=0, xticklabels=True, yticklabels=True,
                cbar_kws={"shrink": 0.6, "label": colorbar_label})
    light = scores.to_numpy() < 0.6 * np.nanmax(scores.to_numpy())  # white text on the dark end of the map
    for (i, j), text in np.ndenumerate(counts.to_numpy()):
        ax.text(j + 0.5, i + 0.5, text + (" *" if passing.iat[i, j] else ""), ha="center", va="center", fontsize=9,
                color="white" if light[i, j] else "black", fontweight="bold" if passing.iat[i, j] else "normal")
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def with_q(table: pd.DataFrame, label: str = "term") -> pd.DataFrame:
    """`table` with each row's BH q-value appended to its label: 'MSC  (q = 0.41)'."""
    return table.assign(**{label: table[label] + [f"  (q = {q:.2f})" for q in table["q"]]})


def target_survival(km: dict, logrank_p: float, split_rule: str, explore: pd.DataFrame) -> plt.Figure:
    """Kaplan–Meier curves of the high and low groups, with the numbers at risk under them, over a forest plot of
    every cell type's hazard ratio."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 9.8), gridspec_kw={"height_ratios": [1.3, 1]})
    plot_km(top, km, {"low": PALETTE[0], "high": PALETTE[3]})
    top.set_xlabel("time since diagnosis (years)")
    top.set_ylabel("overall survival (probability)")
    top.set_title(f"Fibroblast fraction above vs below {split_rule.replace('_', ' ')}")
    top.legend(title=f"fibroblast fraction (log-rank p = {logrank_p:.2f})", loc="lower left", fontsize=9)
    plot_forest(bottom, with_q(explore))
    bottom.set_xlabel("hazard ratio per SD of the fraction (95% CI, log scale)")
    bottom.set_title("All common cell types (exploratory)")
    fig.tight_layout()
    return fig


def plot_correlations(ax: Axes, table: pd.DataFrame) -> None:
    """Spearman ρ with CIs, one row per feature and immune score (T cells blue, others orange), with q-values."""
    y = np.arange(len(table))[::-1]
    colours = [PALETTE[0] if score == "T cells" else PALETTE[1] for score in table["immune score"]]
    ax.hlines(y, table["ci_low"], table["ci_high"], colors=colours, linewidth=1.5)
    ax.scatter(table["rho"], y, c=colours, zorder=3)
    ax.axvline(0, color="0.4", linestyle="--", linewidth=1)
    ax.set_yticks(y, [f"{f} vs {t}  (q = {q:.2g})" for f, t, q in
                      table[["feature", "immune score", "q"]].itertuples(index=False)])
    ax.set_xlim(-1, 1)


def isg_associations(cox: pd.DataFrame, correlations: pd.DataFrame, endpoint: str) -> plt.Figure:
    """Hazard ratios of the CAF features over their correlations with T-cell transcripts."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), gridspec_kw={"height_ratios": [1, 1.6]})
    plot_forest(top, with_q(cox))
    top.set_xlabel(f"hazard ratio per SD, {endpoint} (95% CI, log scale)")
    top.set_title("Survival")
    plot_correlations(bottom, correlations)
    bottom.set_xlabel("Spearman ρ (95% bootstrap CI)")
    bottom.set_title("Association with T-cell transcripts")
    fig.tight_layout()
    return fig


def box_with_points(ax: Axes, data: pd.DataFrame, value: str, group: str, order: list[str],
                    rng: np.random.Generator) -> None:
    """Box plot per group (median, quartiles, no outliers) with every observation as a dot, jittered sideways.

    The jitter comes from `rng` (seaborn's stripplot draws it from NumPy's global generator).
    """
    rows = data.loc[data[group].isin(order)].dropna(subset=[value])
    sns.boxplot(data=rows, x=group, y=value, order=order, width=0.5, showfliers=False, fill=False, color="black",
                linewidth=1, ax=ax)
    sizes = []
    for i, level in enumerate(order):
        points = rows.loc[rows[group] == level, value]
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(points)), points, s=16, alpha=0.75, color=PALETTE[i], zorder=3)
        sizes.append(len(points))
    ax.set_xticks(range(len(order)), [f"{level} (n = {n})" for level, n in zip(order, sizes, strict=True)])


def efflux(data: pd.DataFrame, seed: int) -> plt.Figure:
    """ABCB1 by P-glycoprotein status and the iCAF score by histological response, side by side."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    for ax, (value, group, order, ylabel, xlabel) in zip(axes, EFFLUX_PANELS, strict=True):
        box_with_points(ax, data, value, group, order, rng)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel)
    fig.tight_layout()
    return fig
