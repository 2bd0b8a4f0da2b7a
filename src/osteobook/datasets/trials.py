"""The curated trial evidence (`data/trial_arms.csv`, `trial_outcomes.csv`, `benchmarks.csv`).

Columns are described in `data/SCHEMA.md`. Every table is validated on load; a bad value stops
with the file, the CSV line, the column and what is allowed.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..errors import DataError
from ..paths import DATA
from .curated import read_table, source_columns

DRUG_CLASSES = ["TKI", "TKI + chemotherapy", "TKI + mTOR inhibitor", "TKI + ICI", "mTOR inhibitor",
                "mTOR inhibitor + chemotherapy", "ICI", "ICI + chemotherapy", "ICI + TKI", "control"]
ENDPOINTS = ["orr", "pfs_landmark", "median_pfs", "median_os", "hr_pfs", "hr_os"]
PROPORTION_ENDPOINTS = ["orr", "pfs_landmark"]
DESIGNS = ["prospective trial", "retrospective series"]
WEEKS_PER_MONTH = 52.1775 / 12


ARMS = pa.DataFrameSchema({
    "arm_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9_]+$"), unique=True),
    "trial_id": pa.Column(str),
    "trial_label": pa.Column(str),
    "arm_label": pa.Column(str),
    "agents": pa.Column(str),
    "drug_class": pa.Column(str, pa.Check.isin(DRUG_CLASSES)),
    "tki_family": pa.Column(str, pa.Check.isin(["multi-target VEGFR", "other", "none"])),
    "phase": pa.Column(str),
    "design": pa.Column(str, pa.Check.isin(DESIGNS)),
    "randomised": pa.Column(bool),
    "comparator_arm_id": pa.Column(str, nullable=True),
    "population": pa.Column(str),
    "min_age_years": pa.Column("Int64", pa.Check.in_range(0, 99), nullable=True),
    "nct": pa.Column(str, pa.Check.str_matches(r"^NCT\d{8}"), nullable=True),
    "n_enrolled": pa.Column("Int64", pa.Check.ge(1), nullable=True),
    "osteosarcoma_specific": pa.Column(bool),
    "bibkey": pa.Column(str),
    "doi": pa.Column(str, pa.Check.str_startswith("10."), nullable=True),
    "pmid": pa.Column(str, pa.Check.str_matches(r"^\d{6,9}$"), nullable=True),
    **source_columns(),
}, strict=True, coerce=True)

OUTCOMES = pa.DataFrameSchema({
    "outcome_id": pa.Column(str, unique=True),
    "arm_id": pa.Column(str),
    "endpoint": pa.Column(str, pa.Check.isin(ENDPOINTS)),
    "landmark_weeks": pa.Column(float, pa.Check.in_range(1, 104), nullable=True),
    "landmark_label": pa.Column(str, nullable=True),
    "estimator": pa.Column(str, pa.Check.isin(["crude", "kaplan-meier", "binomial (missing = failure)",
                                                "cox", "reported"])),
    "events": pa.Column("Int64", pa.Check.ge(0), nullable=True),
    "n": pa.Column("Int64", pa.Check.ge(1), nullable=True),
    "estimate": pa.Column(float, pa.Check.ge(0), nullable=True),
    "ci_low": pa.Column(float, pa.Check.ge(0), nullable=True),
    "ci_high": pa.Column(float, pa.Check.ge(0), nullable=True),
    "ci_level": pa.Column(float, pa.Check.in_range(0.5, 0.999), nullable=True),
    **source_columns(),
}, checks=[
    pa.Check(lambda df: df["events"].isna() | df["n"].isna() | (df["events"] <= df["n"]),
             element_wise=False, name="events <= n"),
    pa.Check(lambda df: ~df["endpoint"].isin(PROPORTION_ENDPOINTS) | df["estimate"].isna()
             | (df["estimate"] <= 1), name="proportions are between 0 and 1 (0.44, not 44)"),
    pa.Check(lambda df: (df["endpoint"] != "pfs_landmark") | df["landmark_weeks"].notna(),
             name="pfs_landmark rows give landmark_weeks"),
    pa.Check(lambda df: df["ci_low"].isna() | df["estimate"].isna() | (df["ci_low"] <= df["estimate"] + 1e-9),
             name="ci_low <= estimate"),
    pa.Check(lambda df: df["ci_high"].isna() | df["estimate"].isna() | (df["estimate"] <= df["ci_high"] + 1e-9),
             name="estimate <= ci_high"),
], strict=True, coerce=True)

BENCHMARKS = pa.DataFrameSchema({
    "benchmark_id": pa.Column(str, unique=True),
    "label": pa.Column(str),
    "endpoint": pa.Column(str),
    "landmark_weeks": pa.Column(float, pa.Check.in_range(1, 104)),
    "events": pa.Column("Int64", pa.Check.ge(0), nullable=True),
    "n": pa.Column("Int64", pa.Check.ge(1)),
    "estimate": pa.Column(float, pa.Check.in_range(0, 1)),
    "ci_low": pa.Column(float, pa.Check.in_range(0, 1)),
    "ci_high": pa.Column(float, pa.Check.in_range(0, 1)),
    "bibkey": pa.Column(str),
    "doi": pa.Column(str, pa.Check.str_startswith("10."), nullable=True),
    "pmid": pa.Column(str, pa.Check.str_matches(r"^\d{6,9}$"), nullable=True),
    **source_columns(),
}, strict=True, coerce=True)


def load_arms(folder: Path = DATA) -> pd.DataFrame:
    return read_table(folder / "trial_arms.csv", ARMS)


def load_outcomes(folder: Path = DATA, include_unverified: bool = True) -> pd.DataFrame:
    """Outcome rows, each checked to name an arm that exists in trial_arms.csv."""
    outcomes = read_table(folder / "trial_outcomes.csv", OUTCOMES)
    known = set(load_arms(folder)["arm_id"])
    unknown = outcomes.loc[~outcomes["arm_id"].isin(known)]
    if len(unknown):
        first = unknown.index[0]
        raise DataError(f"trial_outcomes.csv: line {first + 2}: column 'arm_id': "
                        f"{unknown.at[first, 'arm_id']!r} is not an arm_id in trial_arms.csv")
    return outcomes if include_unverified else outcomes.loc[outcomes["status"] != "unverified"]


def load_benchmarks(folder: Path = DATA) -> pd.DataFrame:
    return read_table(folder / "benchmarks.csv", BENCHMARKS)


def evidence(folder: Path = DATA, include_unverified: bool = False, osteosarcoma_only: bool = True,
             prospective_only: bool = True) -> pd.DataFrame:
    """Outcomes joined to their arms: the trial evidence the book pools and compares.

    Unverified values are dropped unless asked for, and so are all values of an arm whose own record
    is unverified. By default only osteosarcoma-specific results of prospective trials are kept:
    results of mixed-tumour cohorts and retrospective series are context, never pooled.
    """
    table = load_outcomes(folder, include_unverified).merge(load_arms(folder), on="arm_id", suffixes=("", "_arm"))
    keep = pd.Series(True, index=table.index)
    if not include_unverified:
        keep &= table["status_arm"] != "unverified"
    if osteosarcoma_only:
        keep &= table["osteosarcoma_specific"]
    if prospective_only:
        keep &= table["design"] == "prospective trial"
    return table.loc[keep].reset_index(drop=True)
