"""Figures of the mTOR chapter, drawn from the numbers of `osteobook.chapters.mtor` (numbers in, Figure out)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import NullFormatter, PercentFormatter

from .style import PALETTE, wrap


def match_quality(join: pd.DataFrame) -> plt.Figure:
    """Each biopsy's best and second-best Spearman correlation with a GSM column, biopsies sorted by the best."""
    rows = join.sort_values("r_best").reset_index(drop=True)
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
    ax.vlines(x, rows["r_second"], rows["r_best"], color="0.75", lw=1)
    ax.scatter(x, rows["r_best"], s=18, color=PALETTE[0], zorder=3, label="best-matching GSM column")
    ax.scatter(x, rows["r_second"], s=18, color=PALETTE[1], marker="s", zorder=3, label="second-best GSM column")
    ax.axhline(rows["r_second"].max(), color=PALETTE[1], ls=":", lw=1.2, label="highest second-best correlation")
    ax.set_xticks([])
    ax.set_xlabel(f"GSE21257 biopsies (n = {len(rows)}), sorted by their best correlation")
    ax.set_ylabel("Spearman ρ over shared genes")
    ax.legend(loc="lower right", fontsize=9)
    return fig


def landmark_figure(rows: pd.DataFrame, benchmark: tuple[float, float, float], important_gain: float,
                    benchmark_label: str) -> plt.Figure:
    """Each arm's progression-free rate (exact 95% CI) over the benchmark band and the 'important gain' line.

    `rows` holds trial, regimen, landmark_weeks, proportion, ci_low, ci_high; `benchmark` is (estimate,
    low, high).
    """
    estimate, low, high = benchmark
    fig, ax = plt.subplots(figsize=(8, 0.7 * max(len(rows), 1) + 1.9), layout="constrained")
    ax.axvspan(low, high, color=PALETTE[1], alpha=0.22, lw=0, label=f"{benchmark_label} (95% CI)")
    ax.axvline(estimate, color=PALETTE[1], lw=2)
    ax.axvline(estimate + important_gain, color=PALETTE[3], ls="--", lw=1.5,
               label=f"benchmark + clinically important gain ({100 * important_gain:.0f} percentage points)")
    y = np.arange(len(rows))[::-1]
    ax.hlines(y, rows["ci_low"], rows["ci_high"], color=PALETTE[0], lw=2)
    ax.scatter(rows["proportion"], y, color=PALETTE[0], s=45, zorder=3, label="arm (exact 95% CI)")
    ax.set_yticks(y, [f"{r.trial}\n{r.regimen}, {r.landmark_weeks:g} weeks" for r in rows.itertuples()])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("progression-free at the landmark (% of patients)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=1, fontsize=9)
    return fig


def hazard_forest(rows: pd.DataFrame) -> plt.Figure:
    """Hazard ratios per SD (95% CI, log axis), one group of rows per score and one colour per model."""
    models = list(dict.fromkeys(rows["model"]))
    labels = list(dict.fromkeys(rows["label"]))
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.6), layout="constrained")
    step, ticks = 1.0 / (len(models) + 1), []
    for i, label in enumerate(labels):
        ticks.append(len(labels) - 1 - i)
        for j, model in enumerate(models):
            row = rows.loc[(rows["label"] == label) & (rows["model"] == model)]
            if row.empty:
                continue
            yi = ticks[-1] + (len(models) / 2 - j - 0.5) * step
            r = row.iloc[0]
            ax.errorbar(r["hr"], yi, xerr=[[r["hr"] - r["ci_low"]], [r["ci_high"] - r["hr"]]], fmt="o",
                        color=PALETTE[j], capsize=3, label=model)
    ax.axvline(1, color="0.4", ls="--", lw=1)
    ax.set_xscale("log")
    low, high = rows["ci_low"].min(), rows["ci_high"].max()
    marks = [t for t in [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4] if low / 1.2 <= t <= high * 1.2]
    ax.set_xticks(marks, [f"{t:g}" for t in marks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("hazard ratio of death per SD of the score (95% CI, log scale)")
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=9, ncol=1)
    return fig


def response_strip(rows: pd.DataFrame, seed: int) -> plt.Figure:
    """Scores (z-scored for display) by response to chemotherapy: box per group, every tumour as a point.

    The points' vertical jitter is drawn from `np.random.default_rng(seed)`.
    """
    rng = np.random.default_rng(seed)
    order = ["GOOD", "POOR"]
    scores = list(dict.fromkeys(rows["score"]))
    fig, ax = plt.subplots(figsize=(8, 1.1 * len(scores) + 1.4), layout="constrained")
    sns.boxplot(data=rows, x="value", y="score", hue="response", hue_order=order, order=scores, showfliers=False,
                fill=False, palette=PALETTE[:2], linewidth=1, width=0.6, ax=ax, legend=False)
    for i, score in enumerate(scores):
        for j, level in enumerate(order):
            values = rows.loc[(rows["score"] == score) & (rows["response"] == level), "value"]
            offset = -0.15 if j == 0 else 0.15
            ax.scatter(values, i + offset + rng.uniform(-0.06, 0.06, len(values)), s=16, color=PALETTE[j],
                       alpha=0.8, zorder=3, label=f"{level.lower()} response (n = {len(values)})" if i == 0 else None)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_xlabel("score, standardised across the 21 tumours (SD units)")
    ax.set_ylabel("")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=9)
    return fig


def percentile_figure(rows: pd.DataFrame, seed: int) -> plt.Figure:
    """Percentile of each osteosarcoma line among all screened lines, per drug (0 = most sensitive).

    `rows` holds label, drug_class and percentile; the points' jitter comes from `seed`.
    """
    rng = np.random.default_rng(seed)
    order = list(dict.fromkeys(rows["label"]))
    classes = list(dict.fromkeys(rows["drug_class"]))
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(classes)}
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(order) + 1.8), layout="constrained")
    for i, label in enumerate(order):
        part = rows.loc[rows["label"] == label]
        cls = part["drug_class"].iloc[0]
        ax.scatter(part["percentile"], i + rng.uniform(-0.18, 0.18, len(part)), s=14, color=colour[cls], alpha=0.8,
                   label=cls)
        ax.plot([part["percentile"].median()] * 2, [i - 0.3, i + 0.3], color="black", lw=2)
    ax.axvline(50, color="0.4", ls="--", lw=1)
    ax.set_yticks(range(len(order)), order)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(wrap("percentile of the osteosarcoma line among all screened lines (0 = most sensitive; "
                       "bar = median)", 60))
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=9)
    return fig
