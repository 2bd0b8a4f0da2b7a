"""Curated adverse events per trial arm (`data/toxicity.csv`) and each trial's own prespecified target
(`data/trial_targets.csv`).

Columns are described in `data/SCHEMA.md`. Both tables are validated on load; a bad row stops with the
file, the CSV line, the column and the rule, and every `arm_id` must name an arm of `trial_arms.csv`.
A row gives a printed count (`events` of `n`), a printed percentage, or both; when both are printed they
must agree to rounding (half a percentage point).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..errors import DataError
from ..paths import DATA
from .curated import read_table, source_columns
from .trials import ENDPOINTS, load_arms, load_outcomes

CATEGORIES = ["grade >=3 adverse events", "serious adverse events", "dose modifications", "discontinuations",
              "treatment-related deaths", "notable events"]
TARGET_KINDS = {"rate at least": "the observed rate must reach the target",
                "one-sided p below": "the one-sided p-value of the primary comparison must fall below the target"}
PERCENT_TOLERANCE = 0.5  # a printed percentage and its printed count agree when they differ by at most this

TOXICITY = pa.DataFrameSchema({
    "toxicity_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9_]+$"), unique=True),
    "arm_id": pa.Column(str),
    "category": pa.Column(str, pa.Check.isin(CATEGORIES)),
    "event": pa.Column(str, pa.Check.str_length(min_value=1)),
    "grade": pa.Column(str, pa.Check.isin(["any", "3", "3-4", ">=3", "5", "serious"])),
    "events": pa.Column("Int64", pa.Check.ge(0), nullable=True),
    "n": pa.Column("Int64", pa.Check.ge(1), nullable=True),
    "percent": pa.Column(float, pa.Check.in_range(0, 100), nullable=True),
    **source_columns(),
}, checks=[
    pa.Check(lambda df: df["events"].notna() | df["percent"].notna(), name="a count or a percentage is given"),
    pa.Check(lambda df: df["events"].isna() | df["n"].notna(), name="a count comes with its denominator n"),
    pa.Check(lambda df: df["events"].isna() | df["n"].isna() | (df["events"] <= df["n"]), name="events <= n"),
    pa.Check(lambda df: df["events"].isna() | df["n"].isna() | df["percent"].isna()
             | ((100 * df["events"] / df["n"] - df["percent"]).abs() <= PERCENT_TOLERANCE + 1e-9),
             name=f"printed percent agrees with events/n (within {PERCENT_TOLERANCE} points)"),
], strict=True, coerce=True)

TARGETS = pa.DataFrameSchema({
    "target_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9_]+$"), unique=True),
    "arm_id": pa.Column(str),
    "trial_id": pa.Column(str),
    "endpoint": pa.Column(str, pa.Check.isin(ENDPOINTS)),
    "landmark_weeks": pa.Column(float, pa.Check.in_range(1, 104), nullable=True),
    "target_kind": pa.Column(str, pa.Check.isin(list(TARGET_KINDS))),
    "target": pa.Column(float, pa.Check.in_range(0, 1)),
    "observed": pa.Column(float, pa.Check.in_range(0, 1)),
    "observed_outcome_id": pa.Column(str, nullable=True),
    **source_columns(),
}, strict=True, coerce=True)


def _check_arms(table: pd.DataFrame, name: str, folder: Path) -> None:
    """Stop at the first row whose arm_id is not in trial_arms.csv (naming the CSV line)."""
    unknown = table.loc[~table["arm_id"].isin(set(load_arms(folder)["arm_id"]))]
    if len(unknown):
        first = unknown.index[0]
        raise DataError(f"{name}: line {first + 2}: column 'arm_id': {unknown.at[first, 'arm_id']!r} is not an arm_id "
                        "in trial_arms.csv")


def load_toxicity(folder: Path = DATA, include_unverified: bool = False) -> pd.DataFrame:
    """Adverse-event rows joined to their arm's trial and regimen labels; unverified rows dropped unless asked for."""
    table = read_table(folder / "toxicity.csv", TOXICITY)
    _check_arms(table, "toxicity.csv", folder)
    if not include_unverified:
        table = table.loc[table["status"] != "unverified"]
    # the trial's own DOI and PMID come with each row, so a reader reaches the paper beside the page read
    arms = load_arms(folder)[["arm_id", "trial_id", "trial_label", "arm_label", "drug_class", "randomised", "doi",
                              "pmid"]]
    return table.merge(arms, on="arm_id", how="left").reset_index(drop=True)


def load_targets(folder: Path = DATA, include_unverified: bool = False) -> pd.DataFrame:
    """Each trial's own prespecified target; `observed_outcome_id` must name a row of trial_outcomes.csv."""
    table = read_table(folder / "trial_targets.csv", TARGETS)
    _check_arms(table, "trial_targets.csv", folder)
    known = set(load_outcomes(folder)["outcome_id"])
    bad = table.loc[table["observed_outcome_id"].notna() & ~table["observed_outcome_id"].isin(known)]
    if len(bad):
        first = bad.index[0]
        raise DataError(f"trial_targets.csv: line {first + 2}: column 'observed_outcome_id': "
                        f"{bad.at[first, 'observed_outcome_id']!r} is not an outcome_id in trial_outcomes.csv")
    if not include_unverified:
        table = table.loc[table["status"] != "unverified"]
    arms = load_arms(folder)[["arm_id", "trial_label", "arm_label", "drug_class", "doi", "pmid"]]
    return table.merge(arms, on="arm_id", how="left").reset_index(drop=True)
