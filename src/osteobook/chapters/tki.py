"""The tyrosine kinase inhibitor (TKI) arms of the curated trial tables, shaped for meta-analysis.

Selects TKI-containing arms, one value per arm and endpoint, and harmonises progression-free rates
reported at different landmarks (16 weeks, 4 months, 18 weeks, ...) by an explicit, named rule.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import benchmark as benchmark_tests
from ..stats import landmarks
from ..stats.meta_analysis import effect_sizes, pool_log_hazard_ratios, pool_proportions
from ..stats.proportions import with_ci

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
    """One progression-free rate per TKI arm under a landmark rule (`stats.landmarks.harmonise`)."""
    return _finish(landmarks.harmonise(tki_arms(evidence), rule, prefer))


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


def harmonisation_grid(evidence: pd.DataFrame, benchmark: pd.Series, regimen: str | None = None,
                       **options) -> pd.DataFrame:
    """Pooled landmark rate and its comparison with `benchmark` under every harmonisation rule.

    `regimen` restricts to 'TKI alone' or 'TKI combination'; `options` go to `pool_proportions`.
    """
    rows = []
    for rule in landmarks.LANDMARK_RULES:
        for prefer in landmarks.ESTIMATOR_PREFERENCES:
            table = landmark_table(evidence, rule, prefer)
            if regimen is not None:
                table = table.loc[table["regimen"] == regimen]
            fit = pool_proportions(table["events"], table["n"], **options)
            rows.append({"rule": rule, "prefer": prefer, "arms": len(table), "patients": int(table["n"].sum()),
                         **fit, **benchmark_tests.pooled_versus(fit, benchmark, options.get("transform", "logit"))})
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
