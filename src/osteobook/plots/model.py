"""Figures of the ROS/ferroptosis model: steady-state diagrams, hysteresis and CAF-support regions."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .style import PALETTE, plain_log_ticks

BISTABLE = "#F0E442"


def plot_steady_states(ax: Axes, curve: pd.DataFrame, folds: dict[str, float], color: str = "black") -> None:
    """Steady-state ROS against erastin (log axis): stable solid, unstable dashed, bistable window shaded."""
    stable = curve["stable"].to_numpy()
    pieces = np.split(np.arange(len(curve)), np.flatnonzero(np.diff(stable.astype(int))) + 1)
    for idx in pieces:
        ax.plot(curve["erastin"].iloc[idx], curve["x"].iloc[idx], color=color, lw=1.8,
                ls="-" if stable[idx[0]] else "--")
    ax.axvspan(folds["onset"], folds["collapse"], color=BISTABLE, alpha=0.25, lw=0)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("Erastin (µM)")
    ax.set_ylabel("Steady-state ROS (A.U.)")


def steady_state_figure(curve: pd.DataFrame, folds: pd.DataFrame, sweep: pd.DataFrame, dose: float,
                        states: np.ndarray, time_courses: pd.DataFrame) -> plt.Figure:
    """**a** the steady-state diagram with its folds (rows onset/collapse: x, erastin) and the sweep's end
    points (erastin, up, down), marking the `states` at `dose`; **b** four time courses at `dose`
    (start, t, ros), one colour per run in the order given."""
    fig, (ax, ax_t) = plt.subplots(2, 1, figsize=(8, 8.5), gridspec_kw={"height_ratios": [1.4, 1]})
    plot_steady_states(ax, curve, folds["erastin"].to_dict())
    ax.plot(sweep["erastin"], sweep["up"], "^", ms=5, color=PALETTE[0], label="sweep up (solve_ivp)")
    ax.plot(sweep["erastin"], sweep["down"], "v", ms=6, mfc="none", color=PALETTE[3], label="sweep down (solve_ivp)")
    ax.plot(folds["erastin"], folds["x"], "o", ms=8, mfc="white", mec="black", ls="none", zorder=5)
    ax.axvline(dose, color="0.5", lw=0.8)
    ax.plot([dose] * len(states), states, "o", ms=5, color="0.3")
    ax.set_xlim(sweep["erastin"].min(), sweep["erastin"].max())
    ax.set_title("a  Steady states (solid stable, dashed unstable, yellow bistable)", loc="left")
    ax.legend(loc="center left")
    for color, (start, run) in zip([PALETTE[0], PALETTE[5], PALETTE[1], PALETTE[3]],
                                   time_courses.groupby("start", sort=False), strict=True):
        ax_t.plot(run["t"], run["ros"], color=color, label=f"start at x = {start:.2f}")
    ax_t.set_xlabel("Time (model units)")
    ax_t.set_ylabel("ROS (A.U.)")
    ax_t.set_title(f"b  Time courses at {dose:g} µM erastin", loc="left")
    ax_t.legend(loc="center right")
    fig.tight_layout()
    return fig


def caf_figure(curves: pd.DataFrame, scenario: str, levels: list[float], erastin_range: tuple[float, float],
               caf_max: float) -> plt.Figure:
    """**a** Regions (low ROS, bistable, high ROS) on the erastin x CAF-support plane for one scenario, with the
    tabulated `levels` dotted; **b** the fraction of xCT blocked for ferroptosis against support, per scenario.

    `curves` has a row per scenario and support level: caf_support, erastin_onset, erastin_collapse,
    inhibition_collapse (infinite doses are clipped to the axis).
    """
    low, high = erastin_range
    fig, (ax, ax_b) = plt.subplots(2, 1, figsize=(8, 9.5))
    lines = curves[curves["scenario"] == scenario]
    support = lines["caf_support"]
    onset, collapse = lines["erastin_onset"].clip(upper=high), lines["erastin_collapse"].clip(upper=high)
    ax.fill_betweenx(support, low, onset, color=PALETTE[5], alpha=0.35, lw=0, label="low ROS only: survives")
    ax.fill_betweenx(support, onset, collapse, color=BISTABLE, alpha=0.45, lw=0, label="bistable: primed")
    ax.fill_betweenx(support, collapse, high, color=PALETTE[3], alpha=0.35, lw=0, label="high ROS only: ferroptosis")
    ax.plot(onset, support, color="black", lw=1.2)
    ax.plot(collapse, support, color="black", lw=1.2)
    for a in levels:
        if a <= caf_max:
            ax.axhline(a, color="0.35", lw=0.6, ls=":")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_yscale("symlog", linthresh=0.01, linscale=0.6)  # stretches the small supports where thresholds move most
    ticks = [t for t in [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5] if t <= caf_max]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlim(low, high)
    ax.set_ylim(0, caf_max)
    ax.set_xlabel("Erastin (µM)")
    ax.set_ylabel("CAF support a (fraction, symlog axis)")
    ax.set_title(f"a  Regions, '{scenario}' scenario", loc="left")
    ax.legend(loc="upper left", frameon=True)
    for color, (name, rows) in zip(PALETTE, curves.groupby("scenario", sort=False), strict=False):
        ax_b.plot(rows["caf_support"], rows["inhibition_collapse"].clip(upper=1.5), color=color, lw=2, label=name)
    ax_b.axhline(1, color="black", lw=1, ls="--")
    ax_b.text(caf_max, 1.02, "complete block of xCT", ha="right", va="bottom")
    ax_b.set_xlim(0, caf_max)
    ax_b.set_ylim(0, 1.5)
    ax_b.set_xlabel("CAF support a (fraction)")
    ax_b.set_ylabel("Fraction of xCT blocked for ferroptosis")
    ax_b.set_title("b  xCT inhibition needed (capped at 1.5)", loc="left")
    ax_b.legend(title="scenario", loc="lower right")
    fig.tight_layout()
    return fig


def sensitivity_figure(oat_summary: pd.DataFrame, draws: pd.DataFrame, base: dict[str, float],
                       band: dict[str, dict[str, float]]) -> plt.Figure:
    """**a** one-at-a-time ranges of the critical bypass for collapse (filled) and priming (open) per parameter
    (`oat_summary`: collapse_min/max, onset_min/max; index parameter), the authors' values as ticks (`base`:
    collapse, onset); **b** histograms of both over the bistable Latin-hypercube draws (`draws`: crit_collapse,
    crit_onset, bistable) with the 5-95% bands of `band` (collapse/onset: p5, median, p95) as shaded spans."""
    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(8, 4.2), gridspec_kw={"width_ratios": [1, 1.2]})
    y = np.arange(len(oat_summary))[::-1]
    for offset, (kind, color, fill) in zip((0.15, -0.15), (("collapse", PALETTE[3], True),
                                                            ("onset", PALETTE[0], False)), strict=True):
        lo, hi = 100 * oat_summary[f"{kind}_min"], 100 * oat_summary[f"{kind}_max"]
        ax.hlines(y + offset, lo, hi, color=color, lw=5 if fill else 2)
        ax.axvline(100 * base[kind], color=color, lw=1, ls=":")
    ax.set_yticks(y, oat_summary.index)
    ax.set_xlabel("Critical bypass a (% of clearance)")
    ax.set_title("a  One at a time (colours as in b)", loc="left")
    kept = draws[draws["bistable"]]
    bins = np.linspace(0, 100, 51)
    for kind, color in (("collapse", PALETTE[3]), ("onset", PALETTE[0])):
        ax_h.hist(100 * kept[f"crit_{kind}"], bins=bins, color=color, alpha=0.6,
                  label="ferroptosis (collapse)" if kind == "collapse" else "priming (bistability)")
        ax_h.axvspan(100 * band[kind]["p5"], 100 * band[kind]["p95"], color=color, alpha=0.12, lw=0)
        ax_h.axvline(100 * band[kind]["median"], color=color, lw=1.5)
    ax_h.set_xlabel("Critical bypass a (% of clearance)")
    ax_h.set_ylabel("Parameter sets")
    ax_h.set_title(f"b  Latin hypercube ({len(kept)} bistable sets)", loc="left")
    ax_h.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig
