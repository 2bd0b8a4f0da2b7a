"""Comparing trial arms with a historical benchmark: per arm, and a pooled rate with a z-test.

A benchmark is represented one way throughout: by default its published estimate and 95% CI (the numbers
the text quotes), with the standard error recovered from the CI on the logit scale; the derived count
(events/n) is the named alternative (`BENCHMARK_REPRESENTATIONS`), so that a sensitivity analysis can
show what the choice changes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError, check_choice
from .decision import classify
from .meta_analysis import effect_sizes
from .proportions import effective_count

BENCHMARK_REPRESENTATIONS = {
    "published": "published estimate and 95% CI (standard error from the CI, logit scale)",
    "count": "derived count events / n",
}


def arm_flags(rows: pd.DataFrame, benchmark: pd.Series) -> pd.DataFrame:
    """Flag arms above the benchmark's upper bound: by point estimate, and with the whole CI above it."""
    upper = float(benchmark["ci_high"])
    return rows.assign(above_upper=rows["rate"] > upper, ci_above_upper=rows["low"] > upper)


def benchmark_rate(benchmark: pd.Series, representation: str = "published") -> float:
    """The benchmark's rate as the chosen representation states it (published estimate, or events/n)."""
    check_choice("benchmark representation", representation, BENCHMARK_REPRESENTATIONS)
    if representation == "count":
        return float(benchmark["events"]) / float(benchmark["n"])
    return float(benchmark["estimate"])


def benchmark_effect(benchmark: pd.Series, transform: str, representation: str = "published") -> tuple[float, float]:
    """The benchmark on the analysis scale: effect size and its variance.

    'published': the effective count whose logit and logit variance are the published estimate and its
    CI's (`proportions.effective_count`), transformed like the arms; 'count': the derived events/n.
    """
    check_choice("benchmark representation", representation, BENCHMARK_REPRESENTATIONS)
    if representation == "count":
        x, n = float(benchmark["events"]), float(benchmark["n"])
    else:
        level = float(benchmark.get("ci_level", 0.95)) if pd.notna(benchmark.get("ci_level", 0.95)) else 0.95
        x, n = (float(v) for v in effective_count(benchmark["estimate"], benchmark["ci_low"], benchmark["ci_high"],
                                                  level))
    y, v = effect_sizes([x], [n], transform)
    return float(y[0]), float(v[0])


def pooled_versus(pooled: dict, benchmark: pd.Series, transform: str,
                  representation: str = "published") -> dict[str, float]:
    """Pooled rate minus the benchmark rate, with a z-test on the transformed scale.

    The benchmark's own uncertainty enters on the same scale, in the representation chosen
    (`BENCHMARK_REPRESENTATIONS`); the difference uses the same representation's rate.
    """
    bench_y, bench_v = benchmark_effect(benchmark, transform, representation)
    z = (pooled["estimate"] - bench_y) / np.sqrt(pooled["se"] ** 2 + bench_v)
    return {"difference": pooled["proportion"] - benchmark_rate(benchmark, representation), "z": float(z),
            "p": float(2 * stats.norm.sf(abs(z))),
            "ci_low_above_benchmark_ci": bool(pooled["proportion_ci_low"] > benchmark["ci_high"]),
            "pi_low_above_benchmark": bool(pooled["proportion_pi_low"] > benchmark["estimate"])}


# ---- thresholds a pooled rate must clear -----------------------------------------------------------------

COG_ACTIVITY_MULTIPLIER = 2.0  # COG 2021: activity = "an EFS improvement of double the upper confidence interval"
CLEARANCE_RULES = {
    "ci_separation": "the pooled 95% CI lies wholly above the benchmark's upper 95% bound",
    "activity_bar": "the pooled 95% CI lies wholly above the activity bar (multiplier × the benchmark's upper bound)",
}


def activity_bar(benchmark: pd.Series, multiplier: float = COG_ACTIVITY_MULTIPLIER) -> float:
    """The rate a drug must exceed to be called active under COG's rule: `multiplier` × the benchmark's upper bound."""
    if not multiplier > 1:
        raise ParameterError(f"the activity multiplier must exceed 1 (the bar lies above the benchmark's upper "
                             f"bound), got {multiplier}")
    return multiplier * float(benchmark["ci_high"])


def clearance(low: float, high: float, benchmark: pd.Series,
              multiplier: float = COG_ACTIVITY_MULTIPLIER) -> dict[str, object]:
    """Where the interval (low, high) of a pooled rate lies against a benchmark's upper bound and its activity bar.

    Both rules of `CLEARANCE_RULES` as booleans, and `decision.classify` with the benchmark's upper bound as
    "no gain" and the activity bar as the "important" gain, so that a CI reaching from below the bar to
    above it reads as "not settled" rather than as a failure or a success.
    """
    upper, bar = float(benchmark["ci_high"]), activity_bar(benchmark, multiplier)
    return {"benchmark_upper": upper, "activity_bar": bar,
            "ci_separation": bool(low > upper), "activity_bar_cleared": bool(low >= bar),
            "verdict": classify(low, high, upper, bar)}
