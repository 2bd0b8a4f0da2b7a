"""Drug-response figures: where a group of cell lines sits among all screened lines."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..stats.drug_response import drug_label
from .style import PALETTE, plain_log_ticks


def response_figure(response: pd.DataFrame, drugs: list[str], group: set[int] | frozenset[int], seed: int,
                    group_label: str = "osteosarcoma lines") -> plt.Figure:
    """One row per drug: box plot of all other lines' ln IC50 and the group's lines as points jittered
    vertically (the jitter is drawn from `seed`)."""
    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(7, 1.1 * len(drugs) + 1.8))
    for row, drug in enumerate(drugs):
        values = response[drug].dropna()
        inside = values.index.isin(group)
        ax.boxplot(values[~inside], positions=[row], orientation="horizontal", widths=0.5, showfliers=True,
                   flierprops={"marker": ".", "markersize": 3, "markeredgecolor": "0.6"},
                   medianprops={"color": "0.2"}, boxprops={"color": "0.45"}, whiskerprops={"color": "0.45"},
                   capprops={"color": "0.45"})
        jitter = rng.uniform(-0.18, 0.18, inside.sum())
        ax.scatter(values[inside], row + jitter, color=PALETTE[3], s=28, zorder=3, edgecolor="white", lw=0.5,
                   label=group_label if row == 0 else None)
    ax.set_yticks(range(len(drugs)), [drug_label(drug) for drug in drugs])
    ax.invert_yaxis()
    ax.set_xlabel("ln(IC50 / µM)   (lower = more sensitive)")
    top = ax.secondary_xaxis("top", functions=(np.exp, np.log))
    top.set_xlabel("IC50 (µM, log scale)")
    top.set_xscale("log")
    plain_log_ticks(top.xaxis)
    ax.scatter([], [], marker="s", color="0.45", label="all other GDSC2 lines (box: quartiles)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.16), ncol=2)
    return fig
