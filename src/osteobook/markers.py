"""Marker gene sets (`data/caf_markers.csv`) and their enrichment among single-cell cluster markers.

Enrichment asks, for each single-cell cluster and marker set: are the set's genes over-represented
among the cluster's positive markers? The hypergeometric test needs a gene universe; Seurat's
`FindAllMarkers` output only lists genes that passed its filters, so the universe is every gene
reported for any cluster (a conservative choice: the true tested universe is larger).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from scipy.stats import hypergeom
from statsmodels.stats.multitest import multipletests

from .curated import read_table, source_columns
from .paths import DATA

MARKERS_FILE = DATA / "caf_markers.csv"
CLUSTER_LABELS_FILE = DATA / "wucheng_cluster_labels.csv"
SOURCES = ["elyada2019", "biffi2021", "ohlund2017", "cafreview2025", "danaher2017"]
SETS = ["myCAF", "iCAF", "apCAF", "pan-CAF", "T cells", "CD8 T cells"]
SEURAT_COLUMNS = ["p_val", "avg_log2FC", "pct.1", "pct.2", "p_val_adj", "cluster", "gene"]
# Old symbols still used by the NanoString panel and the single-cell annotation -> current HGNC symbols.
ALIASES = {"IL8": "CXCL8", "CTGF": "CCN2"}

MARKERS = pa.DataFrameSchema({
    "source": pa.Column(str, pa.Check.isin(SOURCES)),
    "set": pa.Column(str, pa.Check.isin(SETS)),
    "gene": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9][A-Z0-9-]*$")),
    "source_symbol": pa.Column(str),
    "bibkey": pa.Column(str),
    "doi": pa.Column(str, pa.Check.str_startswith("10.")),
    "pmid": pa.Column(str, pa.Check.str_matches(r"^\d{6,9}$"), nullable=True),
    **source_columns(),
}, unique=["source", "set", "gene"], strict=True, coerce=True)

CLUSTER_LABELS = pa.DataFrameSchema({
    "cluster": pa.Column(str, unique=True),
    "label": pa.Column(str),
    **source_columns(),
}, strict=True, coerce=True)


class MarkerError(ValueError):
    """A marker table or marker request is malformed."""


def harmonise_symbols(genes) -> pd.Index:
    """Gene symbols with known old names replaced by current HGNC symbols (see `ALIASES`)."""
    return pd.Index([ALIASES.get(gene, gene) for gene in genes])


def load_markers(path: Path = MARKERS_FILE, include_unverified: bool = False) -> pd.DataFrame:
    """The curated marker table, validated; rows with status `unverified` dropped unless asked for."""
    table = read_table(path, MARKERS)
    return table if include_unverified else table.loc[table["status"] != "unverified"].reset_index(drop=True)


def load_cluster_labels(path: Path = CLUSTER_LABELS_FILE) -> pd.Series:
    """The single-cell authors' cell-type label of each cluster."""
    return read_table(path, CLUSTER_LABELS).set_index("cluster")["label"]


def marker_sets(table: pd.DataFrame, source: str, sets: list[str] | None = None) -> dict[str, list[str]]:
    """`{set: genes}` for one source (e.g. 'elyada2019'), in file order."""
    if source not in set(table["source"]):
        raise MarkerError(f"marker source {source!r} is not in the table; sources: {sorted(set(table['source']))}")
    rows = table.loc[table["source"] == source]
    if sets is not None:
        unknown = sorted(set(sets) - set(SETS))
        if unknown:
            raise MarkerError(f"unknown marker set(s) {unknown}; allowed: {SETS}")
        rows = rows.loc[rows["set"].isin(sets)]
    return {name: list(group["gene"]) for name, group in rows.groupby("set", sort=False)}


def read_seurat_markers(path: Path) -> pd.DataFrame:
    """Seurat `FindAllMarkers` output with current gene symbols and string cluster ids."""
    table = pd.read_csv(path, sep=" ", index_col=0)
    missing = [c for c in SEURAT_COLUMNS if c not in table.columns]
    if missing:
        raise MarkerError(f"{Path(path).name}: missing Seurat column(s) {missing}; expected {SEURAT_COLUMNS}")
    table = table.reset_index(drop=True)
    table["cluster"] = table["cluster"].astype(str)
    table["gene"] = harmonise_symbols(table["gene"])
    return table


def enrichment(markers: pd.DataFrame, sets: dict[str, list[str]], max_padj: float = 0.05,
               min_log2fc: float = 0.25) -> pd.DataFrame:
    """Hypergeometric enrichment of each set among each cluster's positive markers, with BH q-values.

    Columns: cluster, set, k (set genes among the cluster's markers), K (set genes in the universe),
    n (cluster markers), N (universe), p_value, q_value (BH over all rows), mean_log2fc (sum of the
    set genes' log2 fold changes in the cluster divided by K, i.e. genes that are not markers count 0),
    genes (the overlap).
    """
    universe = set(markers["gene"])
    selected = markers.loc[(markers["p_val_adj"] < max_padj) & (markers["avg_log2FC"] >= min_log2fc)]
    rows = []
    for cluster, group in selected.groupby("cluster", sort=False):
        fold = dict(zip(group["gene"], group["avg_log2FC"], strict=False))
        for name, genes in sets.items():
            in_universe = sorted(set(genes) & universe)
            overlap = [g for g in in_universe if g in fold]
            rows.append({"cluster": cluster, "set": name, "k": len(overlap), "K": len(in_universe),
                         "n": len(fold), "N": len(universe),
                         "p_value": hypergeom_p(len(overlap), len(universe), len(in_universe), len(fold)),
                         "mean_log2fc": sum(fold[g] for g in overlap) / len(in_universe) if in_universe else np.nan,
                         "genes": ", ".join(overlap)})
    table = pd.DataFrame(rows)
    table["q_value"] = bh(table["p_value"])
    return table.sort_values(["cluster", "set"], key=_natural).reset_index(drop=True)


def hypergeom_p(k: int, N: int, K: int, n: int) -> float:
    """P(X >= k) when drawing n of N genes of which K are in the set."""
    if not 0 <= k <= min(K, n) or K > N or n > N:
        raise MarkerError(f"impossible counts: k={k}, N={N}, K={K}, n={n}")
    return float(hypergeom.sf(k - 1, N, K, n)) if K else 1.0


def bh(p_values) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


def _natural(column: pd.Series) -> pd.Series:
    """Sort key: numeric cluster ids as numbers, other text as is."""
    return column.map(lambda v: int(v) if str(v).isdigit() else v) if column.name == "cluster" else column


def passes(table: pd.DataFrame, score: str, alpha: float, min_mean_log2fc: float) -> pd.Series:
    """Whether each enrichment row counts as enriched: q < alpha ('hypergeometric') or mean log2FC >= threshold."""
    if score == "hypergeometric":
        return table["q_value"] < alpha
    if score == "mean_log2fc":
        return table["mean_log2fc"] >= min_mean_log2fc
    raise MarkerError(f"score must be 'hypergeometric' or 'mean_log2fc', got {score!r}")


def cluster_calls(table: pd.DataFrame, subtypes: list[str], gate: str = "pan-CAF", min_gate: int = 2,
                  score: str = "hypergeometric", alpha: float = 0.05, min_mean_log2fc: float = 0.5) -> pd.DataFrame:
    """Per cluster: is it fibroblast-like (>= `min_gate` genes of the `gate` set among its markers), and which
    subtypes pass; `call` joins the passing subtypes of fibroblast-like clusters ('none' if no subtype passes)."""
    if gate not in set(table["set"]):
        raise MarkerError(f"gate set {gate!r} is not in the enrichment table; sets: {sorted(set(table['set']))}")
    wide = table.assign(passes=passes(table, score, alpha, min_mean_log2fc)).pivot(
        index="cluster", columns="set", values="passes")
    counts = table.loc[table["set"] == gate].set_index("cluster")["k"]
    calls = pd.DataFrame({"gate_k": counts.reindex(wide.index), **{s: wide[s] for s in subtypes if s in wide}})
    calls["fibroblast_like"] = calls["gate_k"] >= min_gate
    passing = calls[[s for s in subtypes if s in calls]].apply(lambda row: " + ".join(row.index[row]) or "none", axis=1)
    calls["call"] = passing.where(calls["fibroblast_like"], "not fibroblast-like")
    return calls.sort_index(key=lambda i: i.map(lambda v: int(v) if str(v).isdigit() else v))
