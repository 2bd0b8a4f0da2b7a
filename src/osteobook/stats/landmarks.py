"""Progression-free rates at a landmark: which reported landmarks count, and one rate per arm.

Trials report landmark PFS at 8, 12 or 16 weeks, 4 or 6 months, as counts or Kaplan–Meier percentages;
the rules here make the choice explicit and named.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets.trials import WEEKS_PER_MONTH
from ..errors import check_choice

FOUR_MONTHS = 4 * WEEKS_PER_MONTH
# name -> (lowest, highest) landmark in weeks accepted as "about 4 months"
LANDMARK_RULES = {
    "16-18 weeks": (16.0, 18.0),
    "4 months only": (17.4, 17.4),
    "12-26 weeks": (12.0, 26.1),
}
COUNT_ESTIMATORS = ("crude", "binomial (missing = failure)")
ESTIMATOR_PREFERENCES = ("kaplan-meier", "binomial")


def near_landmark(rows: pd.DataFrame, weeks: float, tolerance: float) -> pd.DataFrame:
    """Landmark-PFS rows whose landmark lies within `tolerance` weeks of `weeks`."""
    keep = (rows["endpoint"] == "pfs_landmark") & ((rows["landmark_weeks"] - weeks).abs() <= tolerance + 1e-9)
    return rows.loc[keep].reset_index(drop=True)


def harmonise(rows: pd.DataFrame, rule: str = "16-18 weeks", prefer: str = "kaplan-meier") -> pd.DataFrame:
    """One progression-free rate per arm of `rows` under a landmark harmonisation rule.

    Landmarks inside the rule's window are accepted; per arm the landmark nearest 4 months wins, and
    among estimates at that landmark `prefer` picks Kaplan–Meier (or unnamed) over count-based
    ('binomial') estimates or the reverse. Rates reported only as a percentage become an effective
    count round(estimate × n), flagged in `count_source`.
    """
    check_choice("landmark_rule", rule, LANDMARK_RULES)
    check_choice("landmark_estimator", prefer, ESTIMATOR_PREFERENCES)
    low, high = LANDMARK_RULES[rule]
    rows = rows.loc[(rows["endpoint"] == "pfs_landmark") & rows["n"].notna()
                    & rows["landmark_weeks"].between(low - 0.05, high + 0.05)].copy()
    is_count = rows["estimator"].isin(COUNT_ESTIMATORS)
    rows["distance"] = (rows["landmark_weeks"] - FOUR_MONTHS).abs().round(1)
    rows["rank"] = np.where(is_count == (prefer == "binomial"), 0, 1)
    rows = rows.sort_values(["arm_id", "distance", "rank"]).drop_duplicates("arm_id")
    derived = rows["events"].isna()
    rows["count_source"] = np.where(derived, "estimate × n", "reported count")
    rows["events"] = rows["events"].astype("Float64").where(~derived, (rows["estimate"] * rows["n"]).round())
    return rows.drop(columns=["distance", "rank"])
