"""Comparing trial arms with a historical benchmark: per arm, and a pooled rate with a z-test."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .meta_analysis import effect_sizes


def arm_flags(rows: pd.DataFrame, benchmark: pd.Series) -> pd.DataFrame:
    """Flag arms above the benchmark's upper bound: by point estimate, and with the whole CI above it."""
    upper = float(benchmark["ci_high"])
    return rows.assign(above_upper=rows["rate"] > upper, ci_above_upper=rows["low"] > upper)


def pooled_versus(pooled: dict, benchmark: pd.Series, transform: str) -> dict[str, float]:
    """Pooled rate minus the benchmark rate, with a z-test on the transformed scale.

    The benchmark's own uncertainty enters through its count (events/n) on the same scale.
    """
    bench_y, bench_v = effect_sizes([benchmark["events"]], [benchmark["n"]], transform)
    z = (pooled["estimate"] - bench_y[0]) / np.sqrt(pooled["se"] ** 2 + bench_v[0])
    return {"difference": pooled["proportion"] - float(benchmark["estimate"]), "z": float(z),
            "p": float(2 * stats.norm.sf(abs(z))),
            "ci_low_above_benchmark_ci": bool(pooled["proportion_ci_low"] > benchmark["ci_high"]),
            "pi_low_above_benchmark": bool(pooled["proportion_pi_low"] > benchmark["estimate"])}
