"""GRADE certainty of a pooled answer: a starting level by design, then five domains, each computed by a rule.

Every downgrade is the output of a rule applied to numbers, and carries its rule and a generated
footnote; nothing is typed as a bare verdict. The rules (Guyatt et al. 2011, GRADE guidelines 4-8,
made explicit here so that they can be re-computed and tested):

* **Start.** Randomised comparisons start at high (4); single-arm and observational evidence at low (2).
* **Risk of bias** (`risk_of_bias`). An arm is *of concern* when its overall RoB 2 judgment is high, or
  when at least half of its domains (RoB 2 domains or MINORS items) are `unknown` or at the worst level
  (RoB 2 high, MINORS 0); an arm that was not rated counts as of concern. Rule `weight-majority`: down one
  level when arms of concern carry more than half of the weight. Rule `any-arm` (stricter): down one level
  when any arm is of concern.
* **Inconsistency** (`inconsistency`). Down one level when I² ≥ `I2_SERIOUS` (50%) *and* the spread of the
  results crosses the decision threshold: the 95% prediction interval when k ≥ 3, otherwise the range of
  the arms' own estimates. With one study it is not assessable (no downgrade, said so).
* **Indirectness** (`indirectness`). Each question states its concerns as data, with a reason: a
  historical (non-randomised) comparator, a surrogate endpoint, a population other than the question's.
  Down one level when at least one concern applies (never two: the concerns overlap).
* **Imprecision** (`imprecision`). Down one level when the 95% CI contains the decision threshold; down one
  more when the number of patients is below the optimal information size (OIS; `ois_proportion`,
  `ois_hazard_ratio`), at most two levels.
* **Publication bias** (`publication_bias`). Egger's regression test only when k ≥ `EGGER_MIN_K` (10); down
  one level when its two-sided p < `EGGER_ALPHA` (0.10). With fewer arms: "not assessable, k < 10".

The certainty is the starting level minus all downgrades, never below very low (1).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError, check_choice

START = {"randomised": 4, "single-arm": 2, "observational": 2}
LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
SYMBOLS = {4: "⊕⊕⊕⊕", 3: "⊕⊕⊕◯", 2: "⊕⊕◯◯", 1: "⊕◯◯◯"}
DOMAIN_NAMES = ["risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias"]
ROB_RULES = {"weight-majority": "down one level when arms of concern carry more than half of the weight",
             "any-arm": "down one level when any arm is of concern"}
I2_SERIOUS = 50.0  # percent: heterogeneity at or above this is serious if it also changes the decision
EGGER_MIN_K = 10  # fewer arms cannot test funnel asymmetry with useful power (Sterne et al. 2011)
EGGER_ALPHA = 0.10  # two-sided significance of Egger's intercept test
OIS_ALPHA = 0.05  # two-sided
OIS_POWER = 0.80
ROB2_WORST = "high"
MINORS_WORST = "0"
UNKNOWN = "unknown"
WORDS = {1: "one", 2: "two"}


@dataclass(frozen=True)
class Domain:
    """One GRADE domain: how many levels it takes off, the rule, the numbers it read and its footnote."""

    name: str
    downgrade: int
    rule: str
    inputs: dict[str, Any] = field(default_factory=dict)
    footnote: str = ""
    assessable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Certainty:
    """The rating of one question × outcome."""

    start: int
    design: str
    domains: tuple[Domain, ...]

    @property
    def downgrades(self) -> int:
        return sum(d.downgrade for d in self.domains)

    @property
    def level(self) -> int:
        return max(1, self.start - self.downgrades)

    @property
    def label(self) -> str:
        return LEVELS[self.level]

    @property
    def symbols(self) -> str:
        return SYMBOLS[self.level]

    def as_dict(self) -> dict[str, Any]:
        return {"design": self.design, "start": self.start, "downgrades": self.downgrades, "level": self.level,
                "label": self.label, "symbols": self.symbols, "domains": [d.as_dict() for d in self.domains]}


def starting_level(design: str) -> int:
    """4 (high) for randomised comparisons, 2 (low) for single-arm or observational evidence."""
    check_choice("design", design, START)
    return START[design]


def rate(design: str, domains: list[Domain]) -> Certainty:
    """The certainty after the domains' downgrades (floor: very low)."""
    names = [d.name for d in domains]
    if sorted(names) != sorted(DOMAIN_NAMES):
        raise ParameterError(f"a GRADE rating needs exactly the domains {DOMAIN_NAMES}; got {names}")
    return Certainty(starting_level(design), design, tuple(domains))


# ---- risk of bias ------------------------------------------------------------------------------------

def arm_concern(judgments: pd.Series, tool: str | None) -> dict[str, Any]:
    """Whether one arm's trial is of concern: overall RoB 2 high, or ≥ half its domains unknown / worst.

    `judgments` are the trial's domain judgments (empty or `tool=None` when the trial was not rated).
    """
    if tool is None or len(judgments) == 0:
        return {"tool": "not rated", "domains": 0, "unknown_or_worst": 0, "overall": UNKNOWN, "concern": True}
    worst = ROB2_WORST if tool == "RoB 2" else MINORS_WORST
    bad = int(((judgments == UNKNOWN) | (judgments == worst)).sum())
    overall = rob2_overall(judgments) if tool == "RoB 2" else "not defined (MINORS)"
    concern = bad >= len(judgments) / 2 or overall == ROB2_WORST
    return {"tool": tool, "domains": len(judgments), "unknown_or_worst": bad, "overall": overall,
            "concern": bool(concern)}


def rob2_overall(judgments: pd.Series) -> str:
    """RoB 2 overall judgment: the worst domain, with `unknown` counted as some concerns."""
    order = ["low", "some concerns", ROB2_WORST]
    levels = [order.index("some concerns" if j == UNKNOWN else j) for j in judgments]
    return order[max(levels)]


def risk_of_bias(arms: pd.DataFrame, rule: str = "weight-majority") -> Domain:
    """Risk-of-bias domain from per-arm concerns (`arm_concern`) and their weights (percent or any scale).

    `arms` has columns `label`, `weight`, `concern`, `domains`, `unknown_or_worst`, `tool`.
    """
    check_choice("rob_rule", rule, ROB_RULES)
    weight = arms["weight"].astype(float)
    share = float(weight[arms["concern"]].sum() / weight.sum())
    down = int(share > 0.5) if rule == "weight-majority" else int(bool(arms["concern"].any()))
    of_concern = arms.loc[arms["concern"], "label"].tolist()
    rule_text = (f"an arm is of concern when its RoB 2 overall is high or at least half of its domains are unknown "
                 f"or at the worst level; {ROB_RULES[rule]}")
    listed = ", ".join(of_concern) if of_concern else "none"
    foot = (f"{len(of_concern)} of {len(arms)} arms of concern ({listed}), carrying {share:.0%} of the weight"
            + ("; rated down one level." if down else "; not rated down."))
    return Domain("risk of bias", down, rule_text, {"share_of_concern": share, "rule": rule,
                                                     "arms_of_concern": of_concern, "k": len(arms)}, foot)


# ---- inconsistency -----------------------------------------------------------------------------------

def crosses(low: float, high: float, threshold: float) -> bool:
    """True when the interval [low, high] contains the threshold (closed interval)."""
    return bool(low <= threshold <= high)


def inconsistency(k: int, i2: float, pi_low: float, pi_high: float, estimates, threshold: float,
                  scale: str = "{:.0%}") -> Domain:
    """Inconsistency: serious when I² ≥ 50% and the spread (PI if k ≥ 3, else the arms' range) crosses the
    decision threshold."""
    rule = (f"rated down one level when I² ≥ {I2_SERIOUS:.0f}% and the spread of results (95% prediction interval "
            "when k ≥ 3, else the range of the arms' estimates) crosses the decision threshold")
    if k < 2:
        return Domain("inconsistency", 0, rule, {"k": k}, "One study: inconsistency is not assessable; not rated "
                      "down.", assessable=False)
    values = np.asarray(estimates, dtype=float)
    use_pi = k >= 3 and np.isfinite(pi_low) and np.isfinite(pi_high)
    low, high = (float(pi_low), float(pi_high)) if use_pi else (float(values.min()), float(values.max()))
    spread = "95% prediction interval" if use_pi else "range of the arms' estimates"
    serious = bool(i2 >= I2_SERIOUS and crosses(low, high, threshold))
    foot = (f"I² = {i2:.0f}%; {spread} {scale.format(low)} to {scale.format(high)}, which "
            f"{'crosses' if crosses(low, high, threshold) else 'does not cross'} the threshold of "
            f"{scale.format(threshold)}" + ("; rated down one level." if serious else "; not rated down."))
    return Domain("inconsistency", int(serious), rule, {"k": k, "i2": float(i2), "spread_low": low,
                                                        "spread_high": high, "spread": spread,
                                                        "threshold": threshold}, foot)


# ---- indirectness ------------------------------------------------------------------------------------

INDIRECTNESS_KINDS = ("comparator", "surrogate endpoint", "population", "intervention")


def indirectness(concerns: list[dict[str, str]]) -> Domain:
    """Indirectness from stated concerns (`kind` in INDIRECTNESS_KINDS, `reason`): one level if any applies."""
    for concern in concerns:
        check_choice("indirectness kind", concern["kind"], INDIRECTNESS_KINDS)
        if not concern.get("reason"):
            raise ParameterError(f"indirectness concern {concern['kind']!r} has no reason")
    down = int(len(concerns) > 0)
    foot = ("; ".join(f"{c['kind']}: {c['reason']}" for c in concerns) + "; rated down one level."
            if concerns else "No indirectness concern stated; not rated down.")
    return Domain("indirectness", down, "rated down one level when at least one concern applies (never two: the "
                  "concerns overlap)", {"concerns": [dict(c) for c in concerns]}, foot)


# ---- imprecision -------------------------------------------------------------------------------------

def ois_proportion(p0: float, p1: float, alpha: float = OIS_ALPHA, power: float = OIS_POWER) -> int:
    """Patients a single-arm study needs to tell a true rate `p1` from `p0` (one-sample binomial, normal
    approximation, two-sided `alpha`, `power`)."""
    if not (0 < p0 < 1 and 0 < p1 < 1) or p0 == p1:
        raise ParameterError(f"OIS needs two different rates in (0, 1); got {p0}, {p1}")
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    n = ((za * np.sqrt(p0 * (1 - p0)) + zb * np.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2
    return int(np.ceil(n))


def ois_hazard_ratio(hr: float, alpha: float = OIS_ALPHA, power: float = OIS_POWER, allocation: float = 0.5) -> int:
    """Events a two-arm trial needs to detect `hr` (Schoenfeld 1983), with `allocation` the share in one arm."""
    if hr <= 0 or hr == 1:
        raise ParameterError(f"OIS needs a hazard ratio other than 1; got {hr}")
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return int(np.ceil((za + zb) ** 2 / (allocation * (1 - allocation) * np.log(hr) ** 2)))


def imprecision(ci_low: float, ci_high: float, threshold: float, n: float, ois: int, ois_unit: str = "patients",
                scale: str = "{:.0%}") -> Domain:
    """Imprecision: one level if the CI contains the threshold, one more if n < OIS (at most two)."""
    crossing = crosses(ci_low, ci_high, threshold)
    short = bool(n < ois)
    down = int(crossing) + int(short)
    foot = (f"95% CI {scale.format(ci_low)} to {scale.format(ci_high)} "
            f"{'contains' if crossing else 'excludes'} the decision threshold {scale.format(threshold)}; "
            f"{int(n)} patients {'below' if short else 'reach'} the optimal information size of {ois} {ois_unit}"
            + (f"; rated down {WORDS[down]} level{'s' if down > 1 else ''}." if down else "; not rated down."))
    return Domain("imprecision", down, "rated down one level when the 95% CI contains the decision threshold and one "
                  "more when the number of patients is below the optimal information size (two-sided α = "
                  f"{OIS_ALPHA}, power {OIS_POWER:.0%})",
                  {"ci_low": float(ci_low), "ci_high": float(ci_high), "threshold": float(threshold), "n": float(n),
                   "ois": int(ois), "ois_unit": ois_unit, "crosses": crossing, "below_ois": short}, foot)


# ---- publication bias --------------------------------------------------------------------------------

def egger_test(yi, vi) -> dict[str, float]:
    """Egger's regression: standardised effect yi/se on precision 1/se; the intercept's two-sided t-test."""
    yi, se = np.asarray(yi, dtype=float), np.sqrt(np.asarray(vi, dtype=float))
    fit = stats.linregress(1 / se, yi / se)
    k = len(yi)
    t = fit.intercept / fit.intercept_stderr
    return {"intercept": float(fit.intercept), "se": float(fit.intercept_stderr), "t": float(t),
            "df": k - 2, "p": float(2 * stats.t.sf(abs(t), k - 2))}


def publication_bias(yi, vi) -> Domain:
    """Egger's test when k ≥ 10 (down one level if p < 0.10); otherwise not assessable."""
    k = len(yi)
    rule = (f"Egger's regression test only when k ≥ {EGGER_MIN_K}; rated down one level when its two-sided "
            f"p < {EGGER_ALPHA}")
    if k < EGGER_MIN_K:
        return Domain("publication bias", 0, rule, {"k": k},
                      f"Not assessable, k = {k} < {EGGER_MIN_K}; not rated down (undetected, not excluded).",
                      assessable=False)
    egger = egger_test(yi, vi)
    down = int(egger["p"] < EGGER_ALPHA)
    return Domain("publication bias", down, rule, {"k": k, **egger},
                  f"Egger's test p = {egger['p']:.3f} (k = {k})" + ("; rated down one level." if down
                                                                   else "; not rated down."))
