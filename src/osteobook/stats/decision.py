"""Reading a confidence interval against "no effect" and a clinically important effect.

A CI that excludes no effect shows an effect; a CI that excludes the important effect shows the effect
is smaller than that; a CI that includes both is inconclusive, which is not the same as evidence
against. `classify` applies this rule to any interval; `rate_difference` gives the interval most used
here: the difference between a trial arm's progression-free rate and a benchmark's (Newcombe's hybrid
score interval, method 10 of Newcombe 1998, built from the two Wilson intervals).

For associations (hazard ratios, correlations) `association` applies the same rule in the direction a
claim predicts, with `ASSOCIATION_VERDICTS` as its words, and `detectable_hr` / `detectable_rho` give the
smallest effect a cohort of that size detects with 80% power (Schoenfeld 1983 for Cox models; Fisher's z for
correlations), so a page can say how large an effect a null result could have missed.
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


ASSOCIATION_VERDICTS = {
    "important": "clinically important association shown",
    "gain_uncertain_size": "association shown; whether it is clinically important is not settled",
    "gain_small": "association shown, smaller than clinically important",
    "inconclusive": "inconclusive: no association detected, but the CI includes a clinically important one",
    "against": "evidence against a clinically important association",
    "worse": "association in the opposite direction to the claim",
}
SCALES = ("ratio", "difference")


def association(low: float, high: float, important: float, direction: int = 1, scale: str = "ratio") -> str:
    """A key of `ASSOCIATION_VERDICTS` for an interval read in the claimed `direction` (+1: above the null).

    On the ratio scale (hazard or odds ratios) the null is 1 and `important` is a ratio > 1 (e.g. 1.5), read as
    1/1.5 when the claim predicts a ratio below 1; on the difference scale (correlations, mean differences) the
    null is 0 and `important` > 0 is read as -important when the claim predicts a negative effect.
    """
    if direction not in (1, -1):
        raise ParameterError(f"direction must be 1 or -1, got {direction!r}")
    if scale not in SCALES:
        raise ParameterError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if scale == "ratio":
        if min(low, high, important) <= 0:
            raise ParameterError(f"ratios must be positive, got ({low}, {high}) and important {important}")
        low, high, important = np.log(low), np.log(high), np.log(important)
    low, high = sorted((direction * low, direction * high))
    return classify(float(low), float(high), 0.0, float(important))


def detectable_hr(events: int, alpha: float = 0.05, power: float = 0.8, exposed: float | None = None) -> float:
    """Smallest hazard ratio (> 1) a Cox model on `events` deaths detects (Schoenfeld 1983).

    Per standard deviation of a continuous covariate when `exposed` is None; for a binary split with a fraction
    `exposed` in one group otherwise.
    """
    if events <= 0 or not 0 < alpha < 1 or not 0 < power < 1:
        raise ParameterError(f"need events > 0 and 0 < alpha, power < 1, got {events}, {alpha}, {power}")
    variance = 1.0 if exposed is None else exposed * (1 - exposed)
    if variance <= 0:
        raise ParameterError(f"exposed must lie strictly between 0 and 1, got {exposed}")
    return float(np.exp((norm.ppf(1 - alpha / 2) + norm.ppf(power)) / np.sqrt(events * variance)))


def detectable_rho(n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest correlation a sample of n detects (Fisher's z approximation)."""
    if n <= 3:
        raise ParameterError(f"need n > 3 for a correlation, got {n}")
    return float(np.tanh((norm.ppf(1 - alpha / 2) + norm.ppf(power)) / np.sqrt(n - 3)))


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
