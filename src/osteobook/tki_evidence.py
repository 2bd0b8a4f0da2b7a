"""The tyrosine kinase inhibitor (TKI) arms of the curated trial tables, shaped for meta-analysis.

Selects TKI-containing arms, one value per arm and endpoint, and harmonises progression-free rates
reported at different landmarks (16 weeks, 4 months, 18 weeks, ...) by an explicit, named rule.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .meta_analysis import effect_sizes, pool_log_hazard_ratios, pool_proportions
from .proportions import with_ci
from .trials import WEEKS_PER_MONTH

FOUR_MONTHS = 4 * WEEKS_PER_MONTH
# name -> (lowest, highest) landmark in weeks accepted as "about 4 months"
LANDMARK_RULES = {
    "16-18 weeks": (16.0, 18.0),
    "4 months only": (17.4, 17.4),
    "12-26 weeks": (12.0, 26.1),
}
COUNT_ESTIMATORS = ("crude", "binomial (missing = failure)")
ESTIMATOR_PREFERENCES = ("kaplan-meier", "binomial")
SUBGROUPS = {"regimen": "TKI alone vs TKI combination", "tki_family": "multi-target VEGFR TKI vs other TKI"}


def tki_arms(evidence: pd.DataFrame) -> pd.DataFrame:
    """Rows of arms whose regimen contains a TKI, with a `regimen` column (alone / combination)."""
    arms = evidence.loc[evidence["drug_class"].str.contains("TKI")].copy()
    arms["regimen"] = np.where(arms["drug_class"] == "TKI", "TKI alone", "TKI combination")
    return arms


def response_table(evidence: pd.DataFrame) -> pd.DataFrame:
    """Objective responses (events/n) of the TKI arms, one row per arm, with exact 95% CIs."""
    rows = tki_arms(evidence)
    rows = rows.loc[(rows["endpoint"] == "orr") & rows["events"].notna() & rows["n"].notna()]
    return _finish(rows.assign(count_source="reported count"))


def landmark_table(evidence: pd.DataFrame, rule: str = "16-18 weeks",
                   prefer: str = "kaplan-meier") -> pd.DataFrame:
    """One progression-free rate per TKI arm under a landmark harmonisation rule.

    Landmarks inside the rule's window are accepted; per arm the landmark nearest 4 months wins, and
    among estimates at that landmark `prefer` picks Kaplan–Meier (or unnamed) over count-based
    ('binomial') estimates or the reverse. Rates reported only as a percentage become an effective
    count round(estimate × n), flagged in `count_source`.
    """
    if rule not in LANDMARK_RULES:
        raise ValueError(f"rule must be one of {sorted(LANDMARK_RULES)}, got {rule!r}")
    if prefer not in ESTIMATOR_PREFERENCES:
        raise ValueError(f"prefer must be one of {ESTIMATOR_PREFERENCES}, got {prefer!r}")
    low, high = LANDMARK_RULES[rule]
    rows = tki_arms(evidence)
    rows = rows.loc[(rows["endpoint"] == "pfs_landmark") & rows["n"].notna()
                    & rows["landmark_weeks"].between(low - 0.05, high + 0.05)].copy()
    is_count = rows["estimator"].isin(COUNT_ESTIMATORS)
    rows["distance"] = (rows["landmark_weeks"] - FOUR_MONTHS).abs().round(1)
    rows["rank"] = np.where(is_count == (prefer == "binomial"), 0, 1)
    rows = rows.sort_values(["arm_id", "distance", "rank"]).drop_duplicates("arm_id")
    derived = rows["events"].isna()
    rows["count_source"] = np.where(derived, "estimate × n", "reported count")
    rows["events"] = rows["events"].astype("Float64").where(~derived, (rows["estimate"] * rows["n"]).round())
    return _finish(rows.drop(columns=["distance", "rank"]))


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    """Integer counts, a readable label, exact CIs, in a stable order."""
    rows = rows.assign(events=rows["events"].astype(int), n=rows["n"].astype(int), label=short_labels(rows))
    return with_ci(rows.sort_values(["regimen", "trial_label"]).reset_index(drop=True))


def short_labels(rows: pd.DataFrame) -> pd.Series:
    """'Grignani 2015: sorafenib + everolimus', 'OLIE: lenvatinib + IE' (trial name, then the arm's agents)."""
    trial = rows["trial_label"].str.extract(r"^(\S+(?: \d{4})?)", expand=False)
    arm = (rows["arm_label"].str.replace("ifosfamide + etoposide", "IE", regex=False)
           .str.replace(r"\s*\(.*\)$", "", regex=True))
    return trial + ": " + arm


def add_weights(table: pd.DataFrame, transform: str, tau2: float) -> pd.DataFrame:
    """Random-effects weights (percent) of each row: 1/(v_i + tau²), normalised."""
    _, vi = effect_sizes(table["events"], table["n"], transform)
    w = 1 / (vi + tau2)
    return table.assign(weight=100 * w / w.sum())


def versus_benchmark(pooled: dict, benchmark: pd.Series, transform: str) -> dict[str, float]:
    """Pooled rate minus the benchmark rate, with a z-test on the transformed scale.

    The benchmark's own uncertainty enters through its count (events/n) on the same scale.
    """
    bench_y, bench_v = effect_sizes([benchmark["events"]], [benchmark["n"]], transform)
    z = (pooled["estimate"] - bench_y[0]) / np.sqrt(pooled["se"] ** 2 + bench_v[0])
    return {"difference": pooled["proportion"] - float(benchmark["estimate"]), "z": float(z),
            "p": float(2 * stats.norm.sf(abs(z))),
            "ci_low_above_benchmark_ci": bool(pooled["proportion_ci_low"] > benchmark["ci_high"]),
            "pi_low_above_benchmark": bool(pooled["proportion_pi_low"] > benchmark["estimate"])}


def harmonisation_grid(evidence: pd.DataFrame, benchmark: pd.Series, regimen: str | None = None,
                       **options) -> pd.DataFrame:
    """Pooled landmark rate and its comparison with `benchmark` under every harmonisation rule.

    `regimen` restricts to 'TKI alone' or 'TKI combination'; `options` go to `pool_proportions`.
    """
    rows = []
    for rule in LANDMARK_RULES:
        for prefer in ESTIMATOR_PREFERENCES:
            table = landmark_table(evidence, rule, prefer)
            if regimen is not None:
                table = table.loc[table["regimen"] == regimen]
            fit = pool_proportions(table["events"], table["n"], **options)
            rows.append({"rule": rule, "prefer": prefer, "arms": len(table), "patients": int(table["n"].sum()),
                         **fit, **versus_benchmark(fit, benchmark, options.get("transform", "logit"))})
    return pd.DataFrame(rows)


def hazard_ratios(evidence: pd.DataFrame) -> pd.DataFrame:
    """Hazard ratios reported for randomised TKI arms (PFS and OS), with whether a CI is available."""
    rows = tki_arms(evidence)
    rows = rows.loc[rows["endpoint"].isin(["hr_pfs", "hr_os"])].copy()
    rows["has_ci"] = rows["ci_low"].notna() & rows["ci_high"].notna()
    return rows.sort_values(["endpoint", "trial_label"]).reset_index(drop=True)


def pool_hazard_ratios(hrs: pd.DataFrame) -> dict[str, dict]:
    """Common-effect pooled HR per endpoint where at least two trials report an HR with its CI."""
    pooled = {}
    for endpoint, part in hrs.loc[hrs["has_ci"]].groupby("endpoint"):
        if len(part) >= 2:
            pooled[endpoint] = pool_log_hazard_ratios(part["estimate"], part["ci_low"], part["ci_high"],
                                                      float(part["ci_level"].fillna(0.95).iloc[0]))
    return pooled
