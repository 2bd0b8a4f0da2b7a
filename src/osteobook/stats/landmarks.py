"""Progression-free rates at a landmark: which reported landmarks count, and one rate per arm.

Trials report landmark PFS at 8, 12 or 16 weeks, 4 or 6 months, as counts or Kaplan–Meier percentages;
the rules here make the choice explicit and named. A Kaplan–Meier rate is not a count: censored patients
make its variance larger than p(1 − p)/n. Where the source reports its CI, the rate enters a pooled
analysis with the variance recovered from that CI on the logit scale (`LANDMARK_VARIANCES`
'reported-ci'); the older representation, an effective count round(rate × n) over the full n, is kept
as a named alternative ('effective-count') for sensitivity analyses.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets.trials import WEEKS_PER_MONTH
from ..errors import check_choice
from .proportions import effective_count

FOUR_MONTHS = 4 * WEEKS_PER_MONTH
# name -> (lowest, highest) landmark in weeks accepted as "about 4 months"
LANDMARK_RULES = {
    "16-18 weeks": (16.0, 18.0),
    "4 months only": (17.4, 17.4),
    "12-26 weeks": (12.0, 26.1),
}
COUNT_ESTIMATORS = ("crude", "binomial (missing = failure)")
ESTIMATOR_PREFERENCES = ("kaplan-meier", "binomial")
# how a rate reported without counts enters a pooled analysis
LANDMARK_VARIANCES = {
    "reported-ci": "variance recovered from the reported CI on the logit scale (rate × n where no CI is reported)",
    "effective-count": "effective count round(rate × n) over the full n",
}
# A landmark value defined by best response (complete or partial response or stable disease) is a clinical
# benefit rate, not a progression-free rate: it is listed, never compared or pooled as PFS.
CLINICAL_BENEFIT = r"clinical benefit.*CR\s*\+\s*PR\s*\+\s*SD"


def is_clinical_benefit(rows: pd.DataFrame) -> pd.Series:
    """Landmark rows whose label defines a response-based clinical benefit rate (CR + PR + SD)."""
    labels = rows["landmark_label"] if "landmark_label" in rows else pd.Series("", index=rows.index)
    return labels.astype("string").fillna("").str.contains(CLINICAL_BENEFIT, case=False, regex=True).astype(bool)


def near_landmark(rows: pd.DataFrame, weeks: float, tolerance: float) -> pd.DataFrame:
    """Progression-free landmark rows whose landmark lies within `tolerance` weeks of `weeks`.

    Clinical benefit rates (`is_clinical_benefit`) are not progression-free rates and are left out.
    """
    keep = ((rows["endpoint"] == "pfs_landmark") & ((rows["landmark_weeks"] - weeks).abs() <= tolerance + 1e-9)
            & ~is_clinical_benefit(rows))
    return rows.loc[keep].reset_index(drop=True)


def harmonise(rows: pd.DataFrame, rule: str = "16-18 weeks", prefer: str = "kaplan-meier",
              variance: str = "effective-count") -> pd.DataFrame:
    """One progression-free rate per arm of `rows` under a landmark harmonisation rule.

    Landmarks inside the rule's window are accepted; per arm the landmark nearest 4 months wins, and
    among estimates at that landmark `prefer` picks Kaplan–Meier (or unnamed) over count-based
    ('binomial') estimates or the reverse. Clinical benefit rates are never taken. Rates reported
    without counts become counts by `variance` (`LANDMARK_VARIANCES`): with 'reported-ci', a rate with a
    usable CI becomes the effective (non-integer) count whose logit variance is the CI's
    (`proportions.effective_count`); otherwise, and always with 'effective-count', round(rate × n).
    `count_source` says which ('reported count', 'reported CI', 'estimate × n'); `reported_n` keeps the
    trial's own denominator.
    """
    check_choice("landmark_rule", rule, LANDMARK_RULES)
    check_choice("landmark_estimator", prefer, ESTIMATOR_PREFERENCES)
    check_choice("landmark_variance", variance, LANDMARK_VARIANCES)
    low, high = LANDMARK_RULES[rule]
    rows = rows.loc[(rows["endpoint"] == "pfs_landmark") & rows["n"].notna() & ~is_clinical_benefit(rows)
                    & rows["landmark_weeks"].between(low - 0.05, high + 0.05)].copy()
    is_count = rows["estimator"].isin(COUNT_ESTIMATORS)
    rows["distance"] = (rows["landmark_weeks"] - FOUR_MONTHS).abs().round(1)
    rows["rank"] = np.where(is_count == (prefer == "binomial"), 0, 1)
    rows = rows.sort_values(["arm_id", "distance", "rank"]).drop_duplicates("arm_id")
    derived = rows["events"].isna().to_numpy()
    estimate, n = rows["estimate"].astype(float).to_numpy(), rows["n"].astype(float).to_numpy()
    x_eff, n_eff = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    if variance == "reported-ci" and len(rows):
        level = rows["ci_level"].astype(float).fillna(0.95) if "ci_level" in rows else 0.95
        x_eff, n_eff = effective_count(estimate, rows["ci_low"].astype(float), rows["ci_high"].astype(float), level)
    from_ci = derived & np.isfinite(n_eff)
    rows["count_source"] = np.select([from_ci, derived], ["reported CI", "estimate × n"], "reported count")
    rows["reported_n"] = rows["n"].astype(int)
    counted = rows["events"].astype(float).to_numpy()
    events = np.where(from_ci, x_eff, np.where(derived, np.round(estimate * n), counted))
    if from_ci.any():  # effective counts are not whole numbers
        rows["events"], rows["n"] = events, np.where(from_ci, n_eff, n)
    else:
        rows["events"] = pd.array(events, dtype="Float64")
    return rows.drop(columns=["distance", "rank"])


def one_per_arm(rows: pd.DataFrame, prefer: str = "kaplan-meier", weeks: float = FOUR_MONTHS) -> pd.DataFrame:
    """One landmark estimate per arm (`arm_id`): the landmark nearest `weeks`, then the `prefer`red estimator.

    Where a trial reports a Kaplan–Meier and a binomial rate for the same patients, counting both would
    count the arm twice; this keeps one (Kaplan–Meier by default, the estimator of the benchmarks).
    """
    check_choice("landmark_estimator", prefer, ESTIMATOR_PREFERENCES)
    is_count = rows["estimator"].isin(COUNT_ESTIMATORS)
    ranked = rows.assign(_distance=(rows["landmark_weeks"] - weeks).abs().round(1),
                         _rank=np.where(is_count == (prefer == "binomial"), 0, 1))
    return (ranked.sort_values(["arm_id", "_distance", "_rank"], kind="stable").drop_duplicates("arm_id")
            .drop(columns=["_distance", "_rank"]).reset_index(drop=True))
