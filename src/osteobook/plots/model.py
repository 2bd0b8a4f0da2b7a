"""Figures of the ROS/ferroptosis model: steady-state curves with the bistable window."""
from __future__ import annotations

import numpy as np
import pandas as pd


def plot_steady_states(ax, curve: pd.DataFrame, folds: dict[str, float], color: str = "black") -> None:
    """Steady-state ROS against erastin (log axis): stable solid, unstable dashed, bistable window shaded."""
    stable = curve["stable"].to_numpy()
    pieces = np.split(np.arange(len(curve)), np.flatnonzero(np.diff(stable.astype(int))) + 1)
    for idx in pieces:
        ax.plot(curve["erastin"].iloc[idx], curve["x"].iloc[idx], color=color, lw=1.8,
                ls="-" if stable[idx[0]] else "--")
    ax.axvspan(folds["onset"], folds["collapse"], color="#F0E442", alpha=0.25, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("Erastin (µM)")
    ax.set_ylabel("Steady-state ROS (A.U.)")
