"""Figures of the immune-checkpoint chapter, drawn from the numbers of `osteobook.chapters.ici`."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter
from scipy import stats

from .style import PALETTE, wrap
from .survival import plot_forest

REGIMEN_COLOURS = {"ICI alone": PALETTE[0], "ICI + TKI": PALETTE[3], "ICI + chemotherapy": PALETTE[2],
                   "all ICI regimens": "0.25"}


def response_figure(arms: pd.DataFrame, pooled: pd.DataFrame, posteriors: dict[str, tuple[float, float]],
                    thresholds: tuple[float, ...], prior_label: str) -> plt.Figure:
    """Left: each arm's response rate with its exact CI and each group's pooled GLMM estimate.
    Right: the posterior density of the response rate of ICI alone and ICI + TKI (Beta(a, b)) with thresholds.

    `arms`: label, regimen, events, n, proportion, ci_low, ci_high; `pooled`: group, proportion,
    proportion_ci_low, proportion_ci_high; `posteriors`: group -> (a, b).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 0.42 * (len(arms) + len(pooled)) + 2.6),
                                      gridspec_kw={"width_ratios": [1.35, 1]}, layout="constrained")
    rows = [(f"{r.label}  ({r.events}/{r.n})", r.proportion, r.ci_low, r.ci_high, r.regimen, "o")
            for r in arms.itertuples()]
    rows += [(f"Pooled: {r.group}", r.proportion, r.proportion_ci_low, r.proportion_ci_high, r.group, "D")
             for r in pooled.itertuples()]
    y = np.arange(len(rows))[::-1]
    for yi, (label, p, lo, hi, group, marker) in zip(y, rows, strict=True):
        colour = REGIMEN_COLOURS[group]
        left.hlines(yi, lo, hi, color=colour, lw=1.6)
        left.scatter(p, yi, color=colour, marker=marker, s=55 if marker == "D" else 35, zorder=3)
    left.axhline(len(pooled) - 0.5, color="0.8", lw=0.8)
    left.set_yticks(y, [wrap(row[0], 34) for row in rows])
    left.set_xlim(0, max(0.5, max(row[3] for row in rows) + 0.02))
    left.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    left.set_xlabel(wrap("objective response rate (95% CI; arms exact, pooled GLMM)", 36))
    for group, colour in REGIMEN_COLOURS.items():
        if group in set(arms["regimen"]) | set(pooled["group"]):
            left.scatter([], [], color=colour, label=group)
    left.legend(loc="upper right", fontsize=9)

    grid = np.linspace(0, 0.5, 1001)[1:]
    for group, (a, b) in posteriors.items():
        right.plot(grid, stats.beta.pdf(grid, a, b), color=REGIMEN_COLOURS[group], lw=2,
                   label=f"{group}:\nP(rate > 10%) = {stats.beta.sf(0.10, a, b):.3f}")
    for t in thresholds:
        right.axvline(t, color="0.5", ls="--", lw=0.9)
        right.text(t + 0.004, 0.02, f"{t:.0%}", transform=right.get_xaxis_transform(), ha="left", va="bottom",
                   fontsize=9, color="0.35", rotation=90)
    right.set_xlim(0, 0.5)
    right.set_ylim(bottom=0)
    right.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    right.set_xlabel("true response rate")
    right.set_ylabel("posterior density")
    right.set_title(wrap(f"Posterior (prior: {prior_label})", 26), fontsize=11)
    right.legend(loc="upper right", fontsize=9)
    return fig


def with_q(table: pd.DataFrame) -> pd.DataFrame:
    """Row labels with each model's BH q-value: 'CD274  (q = 0.92)'."""
    return table.assign(term=[f"{t}  (q = {q:.2f})" for t, q in zip(table["term"], table["q"], strict=True)])


def survival_forest(cox: pd.DataFrame, endpoints: dict[str, str]) -> plt.Figure:
    """Hazard ratio per SD of every feature, one panel per endpoint (`cox`: term, endpoint, hr, ci_low, ci_high, q)."""
    parts = [cox.loc[cox["endpoint"] == e] for e in endpoints]
    fig, axes = plt.subplots(1, len(parts), figsize=(8, 0.36 * max(len(p) for p in parts) + 2.0), sharex=True,
                             layout="constrained")
    for ax, (endpoint, label), part in zip(np.atleast_1d(axes), endpoints.items(), parts, strict=True):
        plot_forest(ax, with_q(part), color=PALETTE[0])
        ax.set_title(f"{label} ({int(part['events'].iloc[0])} events, n = {int(part['n'].iloc[0])})", fontsize=11)
        ax.set_xlabel(wrap("hazard ratio per SD (95% CI, log scale)", 30))
    return fig


def anchor_figure(ours: pd.DataFrame, anchors: pd.DataFrame) -> plt.Figure:
    """The chapter's CD274 mRNA hazard ratios above the published PD-L1 (protein) pooled estimates, log scale.

    `ours` and `anchors`: label, estimate, ci_low, ci_high (anchors also `measure`).
    """
    rows = pd.concat([ours.assign(source="this chapter: CD274 mRNA, ISG/OS2", measure="HR"),
                      anchors.assign(source="published meta-analyses: PD-L1 protein (IHC)")], ignore_index=True)
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.8), layout="constrained")
    y = np.arange(len(rows))[::-1]
    colours = {source: colour for source, colour in zip(rows["source"].unique(), [PALETTE[3], PALETTE[0]],
                                                        strict=False)}
    markers = {"HR": "o", "RR": "s", "OR": "^"}
    for yi, row in zip(y, rows.itertuples(), strict=True):
        ax.hlines(yi, row.ci_low, row.ci_high, color=colours[row.source], lw=1.6)
        ax.scatter(row.estimate, yi, color=colours[row.source], marker=markers[row.measure], s=40, zorder=3)
    ax.axvline(1, color="0.4", ls="--", lw=1)
    ax.set_xscale("log")
    ticks = [0.25, 0.5, 1, 2, 4, 8]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_yticks(y, [wrap(f"{label} [{measure}]", 40) for label, measure in zip(rows["label"], rows["measure"],
                                                                                 strict=True)])
    ax.set_xlabel(wrap("ratio for high vs low expression (95% CI, log scale; > 1 = worse outcome)", 50))
    for source, colour in colours.items():
        ax.scatter([], [], color=colour, label=source)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=1, fontsize=9)
    return fig


def replication_figure(cibersort: pd.DataFrame, comparison: pd.DataFrame, gse: pd.DataFrame,
                       isg_os: pd.DataFrame) -> plt.Figure:
    """Left: CIBERSORT fractions' hazard ratios (cohort-adjusted). Right: ISG/OS2 and GSE21257 OS hazard
    ratios of the features both cohorts measure, side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 0.45 * max(len(comparison), len(cibersort)) + 2.4),
                                     layout="constrained")
    plot_forest(left, with_q(cibersort), color=PALETTE[4])
    left.set_yticks(left.get_yticks(), [wrap(label.get_text(), 18) for label in left.get_yticklabels()])
    left.set_xlabel(wrap("hazard ratio per SD of the fraction (95% CI)", 28))
    left.set_title(wrap(f"CIBERSORT, {int(cibersort['n'].iloc[0])} tumours, cohort-adjusted", 28), fontsize=11)
    features = list(comparison["feature"])
    y = np.arange(len(features))[::-1]
    for offset, (table, colour, label) in zip((0.15, -0.15), ((isg_os, PALETTE[0], "ISG/OS2"),
                                                             (gse, PALETTE[1], "GSE21257")), strict=True):
        part = table.set_index("term").loc[features]
        right.errorbar(part["hr"], y + offset, xerr=[part["hr"] - part["ci_low"], part["ci_high"] - part["hr"]],
                       fmt="o", color=colour, capsize=2, label=label)
    right.axvline(1, color="0.4", ls="--", lw=1)
    right.set_xscale("log")
    ticks = [0.25, 0.5, 1, 2, 4]
    right.set_xticks(ticks, [f"{t:g}" for t in ticks])
    right.xaxis.set_minor_formatter(plt.NullFormatter())
    right.set_yticks(y, features)
    right.set_xlabel(wrap("hazard ratio per SD, overall survival (95% CI)", 28))
    right.set_title(wrap("Replication: features both cohorts measure", 28), fontsize=11)
    right.legend(loc="upper right", fontsize=9)
    return fig


def correlation_heatmap(pairs: pd.DataFrame, alpha: float) -> plt.Figure:
    """Spearman ρ of CAF features (rows) with T-cell scores (columns), one panel per cohort; * marks q < alpha."""
    cohorts = list(dict.fromkeys(pairs["cohort"]))
    columns = list(dict.fromkeys(pairs["immune score"]))
    fig, axes = plt.subplots(1, len(cohorts), figsize=(4 * len(cohorts), 3.8), layout="constrained")
    for i, (ax, cohort) in enumerate(zip(np.atleast_1d(axes), cohorts, strict=True)):
        part = pairs.loc[pairs["cohort"] == cohort]
        rho = part.pivot(index="feature", columns="immune score", values="rho").reindex(columns=columns)
        q = part.pivot(index="feature", columns="immune score", values="q").reindex(columns=columns)
        text = rho.map(lambda v: f"{v:.2f}") + q.map(lambda v: " *" if v < alpha else "")
        sns.heatmap(rho, ax=ax, vmin=-1, vmax=1, cmap="vlag", annot=text, fmt="", cbar=i == len(cohorts) - 1,
                    cbar_kws={"label": "Spearman ρ"}, linewidths=0.5, linecolor="white")
        ax.set_title(f"{cohort} (n = {int(part['n'].iloc[0])})", fontsize=11)
        ax.set_xlabel("T-cell score")
        ax.set_ylabel("CAF feature" if i == 0 else "")
        ax.tick_params(axis="x", rotation=30)
        ax.tick_params(axis="y", rotation=0)
    return fig
