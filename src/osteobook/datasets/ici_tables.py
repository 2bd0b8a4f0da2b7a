"""Curated tables of the immune-checkpoint chapter: published gene sets and PD-L1 prognosis anchors.

- `data/ici_gene_sets.csv`: one row per gene of a published immune gene set (the T-cell-inflamed
  expression profile and the preliminary IFN-γ signature of Ayers et al. 2017; Danaher et al.'s
  cytotoxic-cell and macrophage markers), each with the sentence or table cell it was read from.
- `data/ici_anchors.csv`: one row per pooled estimate of a published meta-analysis of PD-L1 (protein,
  by immunohistochemistry) and prognosis in osteosarcoma or sarcoma, with its quote.

Both carry the shared source columns (`data/SCHEMA.md`); rows marked unverified are dropped unless
asked for.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..errors import ParameterError
from ..paths import DATA
from .curated import read_table, source_columns

GENE_SETS_FILE = DATA / "ici_gene_sets.csv"
ANCHORS_FILE = DATA / "ici_anchors.csv"
SOURCES = ["ayers2017", "danaher2017"]
SETS = ["T-cell-inflamed GEP", "IFN-γ (10 genes)", "Cytotoxic cells", "Macrophages"]
MEASURES = ["HR", "RR", "OR"]
POPULATIONS = ["osteosarcoma", "bone sarcoma", "bone and soft-tissue sarcoma"]
OUTCOMES = ["overall survival", "disease-free survival", "event-free survival", "metastasis", "mortality",
            "overall survival rate"]

GENE_SETS = pa.DataFrameSchema({
    "source": pa.Column(str, pa.Check.isin(SOURCES)),
    "set": pa.Column(str, pa.Check.isin(SETS)),
    "gene": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9][A-Z0-9-]*$")),
    "source_symbol": pa.Column(str),
    "weighted_in_source": pa.Column(bool),
    "bibkey": pa.Column(str),
    "doi": pa.Column(str, pa.Check.str_startswith("10.")),
    **source_columns(),
}, unique=["set", "gene"], strict=True, coerce=True)

ANCHORS = pa.DataFrameSchema({
    "anchor_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9_]+$"), unique=True),
    "label": pa.Column(str),
    "population": pa.Column(str, pa.Check.isin(POPULATIONS)),
    "marker": pa.Column(str),
    "outcome": pa.Column(str, pa.Check.isin(OUTCOMES)),
    "measure": pa.Column(str, pa.Check.isin(MEASURES)),
    "estimate": pa.Column(float, pa.Check.gt(0)),
    "ci_low": pa.Column(float, pa.Check.gt(0)),
    "ci_high": pa.Column(float, pa.Check.gt(0)),
    "n_studies": pa.Column("Int64", pa.Check.ge(1)),
    "n_patients": pa.Column("Int64", pa.Check.ge(1)),
    "bibkey": pa.Column(str),
    "doi": pa.Column(str, pa.Check.str_startswith("10."), nullable=True),
    **source_columns(),
}, checks=[pa.Check(lambda df: (df["ci_low"] <= df["estimate"]) & (df["estimate"] <= df["ci_high"]),
                    name="ci_low <= estimate <= ci_high")], strict=True, coerce=True)


def load_gene_sets(path: Path = GENE_SETS_FILE, include_unverified: bool = False) -> pd.DataFrame:
    """The curated gene-set table, validated; unverified rows dropped unless asked for."""
    return read_table(path, GENE_SETS, include_unverified)


def gene_sets(table: pd.DataFrame) -> dict[str, list[str]]:
    """`{set: genes}` in file order."""
    return {name: list(rows["gene"]) for name, rows in table.groupby("set", sort=False)}


def load_anchors(path: Path = ANCHORS_FILE, include_unverified: bool = False,
                 measures: list[str] | None = None) -> pd.DataFrame:
    """The published PD-L1 prognosis estimates, validated; optionally only some effect measures."""
    table = read_table(path, ANCHORS, include_unverified)
    if measures is not None:
        unknown = sorted(set(measures) - set(MEASURES))
        if unknown:
            raise ParameterError(f"unknown effect measure(s) {unknown}; allowed: {MEASURES}")
        table = table.loc[table["measure"].isin(measures)].reset_index(drop=True)
    return table
