"""Reading a confidence interval against "no effect" and a clinically important effect.

A CI that excludes no effect shows an effect; a CI that excludes the important effect shows the effect
is smaller than that; a CI that includes both is inconclusive, which is not the same as evidence
against. `classify` applies this rule to any interval; `rate_difference` gives the interval most used
here: the difference between a trial arm's progression-free rate and a benchmark's (Newcombe's hybrid
score interval, method 10 of Newcombe 1998, built from the two Wilson intervals).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ..errors import ParameterError

VERDICTS = {
    "important": "clinically important gain shown",
    "gain_uncertain_size": "gain shown; whether it is clinically important is not settled",
    "gain_small": "gain shown, smaller than clinically important",
    "inconclusive": "inconclusive: the CI includes no gain and a clinically important gain",
    "against": "evidence against a clinically important gain",
    "worse": "worse than the comparison",
}


def classify(low: float, high: float, null: float, important: float) -> str:
    """A key of `VERDICTS` for the interval (low, high), with `important` > `null` the relevant gain."""
    if not important > null:
        raise ParameterError(f"the important effect ({important}) must exceed the null ({null})")
    if high < null:
        return "worse"
    if low >= important:
        return "important"
    if low > null:
        return "gain_uncertain_size" if high >= important else "gain_small"
    return "inconclusive" if high >= important else "against"


def wilson(events: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of events/n (events may be a non-integer effective count)."""
    if n <= 0 or not 0 <= events <= n:
        raise ParameterError(f"need 0 <= events <= n and n > 0, got {events}/{n}")
    z, p = norm.ppf(1 - (1 - level) / 2), events / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return float(centre - half), float(centre + half)


def rate_difference(events1: float, n1: float, events2: float, n2: float, level: float = 0.95) -> dict[str, float]:
    """p1 - p2 with Newcombe's hybrid score CI (from the Wilson intervals of both proportions)."""
    p1, p2 = events1 / n1, events2 / n2
    l1, u1 = wilson(events1, n1, level)
    l2, u2 = wilson(events2, n2, level)
    d = p1 - p2
    return {"p1": p1, "p2": p2, "difference": d,
            "ci_low": d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            "ci_high": d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)}
