"""Marker gene sets (`data/caf_markers.csv`), single-cell cluster labels and Seurat marker tables."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..errors import ParameterError
from ..paths import DATA
from .curated import read_table, require_columns, source_columns

MARKERS_FILE = DATA / "caf_markers.csv"
CLUSTER_LABELS_FILE = DATA / "wucheng_cluster_labels.csv"
SOURCES = ["elyada2019", "biffi2021", "ohlund2017", "cafreview2025", "danaher2017",
           "wuchengscos", "osteoblast2013", "omatsu2021"]
# The data authors' own labels (source wuchengscos) and the book's identity sets, used to argue what a cluster is.
AUTHOR_SETS = ["Osteoblasts", "Chondroblastic", "Osteoclast", "TIL", "Myeloid", "MSC", "Endothelial cell", "B cell"]
IDENTITY_SETS = ["osteoblast", "CAR stroma"]
SETS = ["myCAF", "iCAF", "apCAF", "pan-CAF", "T cells", "CD8 T cells", *AUTHOR_SETS, *IDENTITY_SETS]
SEURAT_COLUMNS = ["p_val", "avg_log2FC", "pct.1", "pct.2", "p_val_adj", "cluster", "gene"]
# Old symbols still used by the NanoString panel and the single-cell annotation -> current HGNC symbols.
ALIASES = {"IL8": "CXCL8", "CTGF": "CCN2"}

MARKERS = pa.DataFrameSchema({
    "source": pa.Column(str, pa.Check.isin(SOURCES)),
    "set": pa.Column(str, pa.Check.isin(SETS)),
    "gene": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9][A-Z0-9-]*$")),
    "source_symbol": pa.Column(str),
    "bibkey": pa.Column(str),
    "doi": pa.Column(str, pa.Check.str_startswith("10."), nullable=True),  # none for the data authors' script
    "pmid": pa.Column(str, pa.Check.str_matches(r"^\d{6,9}$"), nullable=True),
    **source_columns(),
}, unique=["source", "set", "gene"], strict=True, coerce=True)

CLUSTER_LABELS = pa.DataFrameSchema({
    "cluster": pa.Column(str, unique=True),
    "label": pa.Column(str),
    **source_columns(),
}, strict=True, coerce=True)



def harmonise_symbols(genes) -> pd.Index:
    """Gene symbols with known old names replaced by current HGNC symbols (see `ALIASES`)."""
    return pd.Index([ALIASES.get(gene, gene) for gene in genes])


def load_markers(path: Path = MARKERS_FILE, include_unverified: bool = False) -> pd.DataFrame:
    """The curated marker table, validated; rows with status `unverified` dropped unless asked for."""
    return read_table(path, MARKERS, include_unverified)


def load_cluster_labels(path: Path = CLUSTER_LABELS_FILE) -> pd.Series:
    """The single-cell authors' cell-type label of each cluster."""
    return read_table(path, CLUSTER_LABELS).set_index("cluster")["label"]


def marker_sets(table: pd.DataFrame, source: str, sets: list[str] | None = None) -> dict[str, list[str]]:
    """`{set: genes}` for one source (e.g. 'elyada2019'), in file order."""
    if source not in set(table["source"]):
        raise ParameterError(f"marker source {source!r} is not in the table; sources: {sorted(set(table['source']))}")
    rows = table.loc[table["source"] == source]
    if sets is not None:
        unknown = sorted(set(sets) - set(SETS))
        if unknown:
            raise ParameterError(f"unknown marker set(s) {unknown}; allowed: {SETS}")
        rows = rows.loc[rows["set"].isin(sets)]
    return {name: list(group["gene"]) for name, group in rows.groupby("set", sort=False)}


def read_seurat_markers(path: Path) -> pd.DataFrame:
    """Seurat `FindAllMarkers` output with current gene symbols and string cluster ids."""
    table = pd.read_csv(path, sep=" ", index_col=0)
    require_columns(table, SEURAT_COLUMNS, Path(path).name)
    table = table.reset_index(drop=True)
    table["cluster"] = table["cluster"].astype(str)
    table["gene"] = harmonise_symbols(table["gene"])
    return table
