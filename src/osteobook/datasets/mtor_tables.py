"""Curated tables of the mTOR chapter: the core pathway genes, the GDSC2 drugs, and context results.

- `data/mtor_core_genes.csv`: the small signed core set (activators and inhibitors of mTOR signalling),
  each gene with the sentence it was read from.
- `data/mtor_gdsc_drugs.csv`: the GDSC2 matrix columns of mTOR, PI3K, dual PI3K/mTOR, AKT and S6K1
  inhibitors and of the trials' partner drugs, with GDSC's own target annotation.
- `data/mtor_context_results.csv`: results that are not osteosarcoma measurable-disease trial arms
  (mixed bone-sarcoma groups, a maintenance trial of all sarcomas) and trials' pre-specified targets,
  shown beside the osteosarcoma evidence and never pooled with it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..paths import DATA
from .curated import read_table, source_columns

CORE_GENES_FILE = DATA / "mtor_core_genes.csv"
GDSC_DRUGS_FILE = DATA / "mtor_gdsc_drugs.csv"
CONTEXT_FILE = DATA / "mtor_context_results.csv"
ROLES = ["activator", "inhibitor"]
DRUG_CLASSES = ["mTOR (rapalog)", "mTOR kinase (mTORC1 + mTORC2)", "dual PI3K/mTOR", "PI3K", "AKT", "S6K1",
                "trial partner"]
SETTINGS = ["measurable disease", "maintenance"]

CORE_GENES = pa.DataFrameSchema({
    "gene": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9][A-Z0-9-]*$"), unique=True),
    "role": pa.Column(str, pa.Check.isin(ROLES)),
    "component": pa.Column(str),
    **source_columns(),
}, strict=True, coerce=True)

GDSC_DRUGS = pa.DataFrameSchema({
    "column": pa.Column(str, pa.Check.str_matches(r"^[A-Za-z0-9.-]+_\d+$"), unique=True),
    "drug": pa.Column(str),
    "gdsc_id": pa.Column(int, pa.Check.ge(1)),
    "targets": pa.Column(str),
    "target_pathway": pa.Column(str),
    "drug_class": pa.Column(str, pa.Check.isin(DRUG_CLASSES)),
    **source_columns(),
}, checks=[pa.Check(lambda df: df["column"] == df["drug"] + "_" + df["gdsc_id"].astype(str),
                    name="column = <drug>_<gdsc_id> (the GDSC2 matrix's column name)"),
           pa.Check(lambda df: df.apply(lambda r: r["quote"].startswith(f"{r['gdsc_id']},"), axis=1),
                    name="the quoted GDSC row starts with the drug's GDSC id")],
    strict=True, coerce=True)

CONTEXT = pa.DataFrameSchema({
    "result_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9_]+$"), unique=True),
    "trial": pa.Column(str),
    "bibkey": pa.Column(str),
    "population": pa.Column(str),
    "setting": pa.Column(str, pa.Check.isin(SETTINGS)),
    "osteosarcoma_specific": pa.Column(bool),
    "kind": pa.Column(str, pa.Check.isin(["result", "design target"])),
    "endpoint": pa.Column(str, pa.Check.isin(["pfs_landmark", "hr_pfs", "hr_os"])),
    "landmark_weeks": pa.Column(float, pa.Check.in_range(1, 104), nullable=True),
    "events": pa.Column("Int64", pa.Check.ge(0), nullable=True),
    "n": pa.Column("Int64", pa.Check.ge(1), nullable=True),
    "estimate": pa.Column(float, pa.Check.ge(0)),
    "ci_low": pa.Column(float, pa.Check.ge(0), nullable=True),
    "ci_high": pa.Column(float, pa.Check.ge(0), nullable=True),
    **source_columns(),
}, checks=[pa.Check(lambda df: (df["endpoint"] != "pfs_landmark") | df["landmark_weeks"].notna(),
                    name="pfs_landmark rows give landmark_weeks"),
           pa.Check(lambda df: (df["endpoint"] != "pfs_landmark") | (df["estimate"] <= 1),
                    name="proportions are between 0 and 1")],
    strict=True, coerce=True)


def load_core_genes(include_unverified: bool = False, path: Path = CORE_GENES_FILE) -> pd.DataFrame:
    """The signed core set: one row per gene with its role (activator / inhibitor) and source."""
    return read_table(path, CORE_GENES, include_unverified)


def load_gdsc_drugs(path: Path = GDSC_DRUGS_FILE) -> pd.DataFrame:
    """The GDSC2 drugs of the chapter, with GDSC's targets and the chapter's drug class."""
    return read_table(path, GDSC_DRUGS)


def load_context(include_unverified: bool = False, path: Path = CONTEXT_FILE) -> pd.DataFrame:
    """Context results and trial design targets (never pooled with osteosarcoma trial arms)."""
    return read_table(path, CONTEXT, include_unverified)
