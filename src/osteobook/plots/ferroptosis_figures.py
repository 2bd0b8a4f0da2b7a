"""Figures of the ferroptosis chapter's patient data: scores by response, per-gene effects, hazard ratios."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .style import PALETTE
from .survival import plot_forest


def response_figure(score: pd.Series, response: pd.Series, per_gene: pd.DataFrame,
                    order: tuple[str, str] = ("GOOD", "POOR")) -> plt.Figure:
    """**a** the score per tumour by response group (swarm, bar at the mean); **b** Hedges' g with its 95% CI
    per gene (`per_gene`: hedges_g, g_ci_low, g_ci_high, p, p_holm; one row per gene, top to bottom)."""
    fig, (ax, ax_g) = plt.subplots(1, 2, figsize=(8, 5.2), gridspec_kw={"width_ratios": [1, 1.3]})
    frame = pd.DataFrame({"score": score, "response": response})
    sns.swarmplot(frame, x="response", y="score", hue="response", order=list(order), hue_order=list(order),
                  palette=[PALETTE[0], PALETTE[3]], size=6, alpha=0.8, legend=False, ax=ax)
    means = frame.groupby("response")["score"].mean().reindex(order)
    ax.hlines(means, np.arange(2) - 0.25, np.arange(2) + 0.25, color="black", lw=2)
    ax.set_xticks(range(2), [f"{label}\n(n = {(response == label).sum()})" for label in order])
    ax.set_xlim(-0.6, 1.6)
    ax.set_xlabel("Response to preoperative chemotherapy")
    ax.set_ylabel("Defence-gene score (mean z, SD units)")
    ax.set_title("a  Score by response (bar: mean)", loc="left")
    y = np.arange(len(per_gene))[::-1]
    ax_g.axvline(0, color="0.5", lw=1)
    ax_g.errorbar(per_gene["hedges_g"], y, xerr=[per_gene["hedges_g"] - per_gene["g_ci_low"],
                  per_gene["g_ci_high"] - per_gene["hedges_g"]], fmt="o", color=PALETTE[0], capsize=3)
    ax_g.set_yticks(y, [f"{gene}\np = {row['p']:.3f}, Holm {row['p_holm']:.2f}" for gene, row in per_gene.iterrows()])
    ax_g.set_xlabel("Hedges' g (95% CI), poor minus good")
    ax_g.set_title("b  Per gene", loc="left")
    fig.tight_layout()
    return fig


def survival_figure(cox: pd.DataFrame) -> plt.Figure:
    """Hazard ratios of death per SD (columns hr, ci_low, ci_high, label), one row per model."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    plot_forest(ax, cox, label="label")
    ax.set_xticks([0.5, 0.75, 1, 1.5, 2], ["0.5", "0.75", "1", "1.5", "2"])
    ax.minorticks_off()
    ax.set_xlabel("Hazard ratio of death per SD (95% CI), adjusted for cohort")
    return fig
