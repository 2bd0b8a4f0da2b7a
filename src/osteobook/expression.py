"""Ferroptosis genes in tumour expression data: GEO series matrices, probes to genes, scores, tests.

- `read_series_matrix` parses a GEO series matrix (the `!Sample_characteristics_ch1` header lines
  and the table between `!series_matrix_table_begin` and `..._end`).
- Probe-to-gene mapping comes only from the curated table `data/ferroptosis_genes.csv`, where every
  probe carries its source: a series matrix has no gene symbols, and this book ships no full GPL570
  annotation, so genes without a sourced probe are not scored.
- `ferrdb_classes` reads the FerrDb driver/suppressor list; genes listed on both sides are kept apart,
  because a signed score must decide what to do with them.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyreadr

from .curated import read_table, source_columns
from .paths import DATA

GENES_FILE = DATA / "ferroptosis_genes.csv"
COLLAPSE_METHODS = ("max_mean", "mean")
SCORING_METHODS = ("mean_z", "median_z")
GENE_SETS = {"core_axis": None, "xct_system": "cystine import (system xc-)"}  # None: every curated gene
RESPONSE_COLUMN = "response to preoperative chemotherapy"
HUVOS_COLUMN = "tumor necrosis after preoperative chemotherapy (huvos grade)"

GENES = pa.DataFrameSchema({
    "gene": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9][A-Z0-9-]*$")),
    "axis_step": pa.Column(str),
    "probe_id": pa.Column(str, pa.Check.str_matches(r"^[0-9A-Za-z_-]+_at$"), unique=True),
    "entrez_id": pa.Column(str, pa.Check.str_matches(r"^\d+$")),
    **source_columns(),
}, strict=True, coerce=True)


class ExpressionError(ValueError):
    """An expression file or request is malformed: the message names the file or parameter."""


@dataclass(frozen=True)
class SeriesMatrix:
    """Expression (probes x samples, as given) and sample annotations (samples x characteristics)."""

    expression: pd.DataFrame
    samples: pd.DataFrame


def read_series_matrix(path: str | Path) -> SeriesMatrix:
    """Parse a (gzipped) GEO series matrix; characteristics `key: value` become one column per key."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    characteristics: dict[str, list[str]] = {}
    accessions: list[str] = []
    table: list[list[str]] | None = None
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            fields = [f.strip().strip('"') for f in line.rstrip("\n").split("\t")]
            if fields[0] == "!series_matrix_table_begin":
                table = []
            elif fields[0] == "!series_matrix_table_end":
                break
            elif table is not None:
                table.append(fields)
            elif fields[0] == "!Sample_geo_accession":
                accessions = fields[1:]
            elif fields[0] == "!Sample_characteristics_ch1":
                key = next((v.split(":", 1)[0].strip() for v in fields[1:] if ":" in v), None)
                if key is None:
                    raise ExpressionError(f"{path.name}: a !Sample_characteristics_ch1 line has no 'key: value' entries")
                characteristics[key] = [v.split(":", 1)[1].strip() if ":" in v else "" for v in fields[1:]]
    if not table:
        raise ExpressionError(f"{path.name}: no expression table between !series_matrix_table_begin and _end")
    header, rows = table[0], table[1:]
    if header[1:] != accessions:
        raise ExpressionError(f"{path.name}: table columns {header[1:3]}... do not match !Sample_geo_accession")
    expression = pd.DataFrame([r[1:] for r in rows], index=[r[0] for r in rows], columns=accessions)
    expression = expression.apply(pd.to_numeric, errors="coerce")
    expression.index.name = header[0]
    samples = pd.DataFrame(characteristics, index=accessions)
    return SeriesMatrix(expression=expression, samples=samples)


def load_probe_map(path: Path = GENES_FILE, include_unverified: bool = False,
                   gene_set: str = "core_axis") -> pd.DataFrame:
    """The curated probe-to-gene table, validated, restricted to a gene set and to usable rows."""
    if gene_set not in GENE_SETS:
        raise ExpressionError(f"gene_set {gene_set!r} is not one of {', '.join(GENE_SETS)}")
    table = read_table(path, GENES)
    if not include_unverified:
        table = table[table["status"] != "unverified"]
    if GENE_SETS[gene_set] is not None:
        table = table[table["axis_step"] == GENE_SETS[gene_set]]
    return table.reset_index(drop=True)


def collapse_probes(expression: pd.DataFrame, probe_map: pd.DataFrame, method: str = "max_mean") -> pd.DataFrame:
    """Genes x samples from probes x samples: the probe with the highest mean, or the mean of probes."""
    if method not in COLLAPSE_METHODS:
        raise ExpressionError(f"probe_collapse {method!r} is not one of {', '.join(COLLAPSE_METHODS)}")
    absent = sorted(set(probe_map["probe_id"]) - set(expression.index))
    if absent:
        raise ExpressionError(f"probe(s) {absent} of the probe map are not in the expression table")
    rows = expression.loc[probe_map["probe_id"]]
    genes = probe_map.set_index("probe_id")["gene"]
    if method == "mean":
        return rows.groupby(genes, sort=False).mean()
    best = rows.mean(axis=1).groupby(genes, sort=False).idxmax()
    return rows.loc[best.to_numpy()].set_axis(best.index)


def zscore_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row centred on its mean and divided by its SD (n - 1)."""
    sd = frame.std(axis=1)
    flat = sd.index[~(sd > 0)].tolist()
    if flat:
        raise ExpressionError(f"gene(s) {flat} do not vary across samples: they cannot be z-scored")
    return frame.sub(frame.mean(axis=1), axis=0).div(sd, axis=0)


def gene_set_score(expression: pd.DataFrame, genes: list[str], method: str = "mean_z") -> pd.Series:
    """Per-sample score of a gene set: mean (or median) of the genes' z-scores across samples."""
    if method not in SCORING_METHODS:
        raise ExpressionError(f"scoring_method {method!r} is not one of {', '.join(SCORING_METHODS)}")
    present = [g for g in dict.fromkeys(genes) if g in expression.index]
    if not present:
        raise ExpressionError(f"none of the genes {sorted(genes)[:10]} is in the expression table")
    z = zscore_rows(expression.loc[present])
    return (z.mean() if method == "mean_z" else z.median()).rename(f"{method} of {len(present)} genes")


def read_ferrdb(path: str | Path) -> pd.DataFrame:
    """FerrDb gene list as packaged in ferroviz: columns `gene` and `class` (driver / suppressor)."""
    path = Path(path)
    frames = pyreadr.read_r(path)
    if "ferrdbhs" not in frames:
        raise ExpressionError(f"{path.name}: expected an R object 'ferrdbhs', found {list(frames)}")
    table = frames["ferrdbhs"].rename(columns={"hs.gene": "gene"})
    if list(table.columns) != ["gene", "class"] or not set(table["class"]) <= {"driver", "suppressor"}:
        raise ExpressionError(f"{path.name}: expected columns hs.gene, class with classes driver/suppressor")
    return table.drop_duplicates().reset_index(drop=True)


def ferrdb_classes(table: pd.DataFrame, ambiguous: str = "exclude") -> dict[str, list[str]]:
    """Driver and suppressor genes; genes in both classes dropped ('exclude') or kept in both ('both')."""
    if ambiguous not in ("exclude", "both"):
        raise ExpressionError(f"ambiguous_genes {ambiguous!r} is not one of exclude, both")
    sets = {name: set(table.loc[table["class"] == name, "gene"]) for name in ("driver", "suppressor")}
    both = sets["driver"] & sets["suppressor"]
    if ambiguous == "exclude":
        sets = {name: genes - both for name, genes in sets.items()}
    return {**{name: sorted(genes) for name, genes in sets.items()}, "both": sorted(both)}


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a - b) with the small-sample correction J = 1 - 3/(4(n1+n2) - 9)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n1, n2 = len(a), len(b)
    pooled = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (n1 + n2) - 9)))


def permutation_test(values: pd.Series, groups: pd.Series, first: str, second: str, n_permutations: int,
                     seed: int) -> dict[str, float]:
    """Two-sided permutation test of mean(first) - mean(second), with Hedges' g, its 95% CI and group sizes.

    Labels are shuffled `n_permutations` times with `np.random.default_rng(seed)`; p is the share of
    shuffles with |difference| at least the observed one, counting the observed split (never 0).
    The CI of g uses the large-sample variance (n1 + n2)/(n1 n2) + g^2/(2 (n1 + n2)) (Hedges & Olkin).
    """
    unknown = sorted(set(groups.dropna()) - {first, second})
    if unknown:
        raise ExpressionError(f"groups hold value(s) {unknown}; expected only {first!r} and {second!r}")
    a = values[groups == first].dropna().to_numpy(float)
    b = values[groups == second].dropna().to_numpy(float)
    if len(a) < 2 or len(b) < 2:
        raise ExpressionError(f"need at least 2 samples per group, got {first}: {len(a)}, {second}: {len(b)}")
    observed = a.mean() - b.mean()
    pooled, rng, extreme = np.concatenate([a, b]), np.random.default_rng(seed), 0
    for start in range(0, n_permutations, 50_000):
        shuffled = rng.permuted(np.tile(pooled, (min(50_000, n_permutations - start), 1)), axis=1)
        diffs = shuffled[:, :len(a)].mean(axis=1) - shuffled[:, len(a):].mean(axis=1)
        extreme += int(np.sum(np.abs(diffs) >= abs(observed) - 1e-12))
    g = hedges_g(a, b)
    se = np.sqrt((len(a) + len(b)) / (len(a) * len(b)) + g**2 / (2 * (len(a) + len(b))))
    return {"n_first": len(a), "n_second": len(b), "difference": float(observed), "hedges_g": g,
            "g_ci_low": float(g - 1.959964 * se), "g_ci_high": float(g + 1.959964 * se),
            "p": (1 + extreme) / (1 + n_permutations)}



def response_labels(samples: pd.DataFrame, definition: str = "geo_label") -> pd.Series:
    """GOOD/POOR per sample: the series' own label, or Huvos grade >= 3 (>= 90% necrosis) as GOOD."""
    if definition not in ("geo_label", "huvos"):
        raise ExpressionError(f"response_definition {definition!r} is not one of geo_label, huvos")
    column = RESPONSE_COLUMN if definition == "geo_label" else HUVOS_COLUMN
    if column not in samples:
        raise ExpressionError(f"sample annotations have no {column!r}; columns: {list(samples.columns)}")
    if definition == "geo_label":
        labels = samples[column].str.upper()
    else:
        grade = pd.to_numeric(samples[column].str.extract(r"(\d)\s*$")[0], errors="raise")
        labels = pd.Series(np.where(grade >= 3, "GOOD", "POOR"), index=samples.index)
    bad = sorted(set(labels) - {"GOOD", "POOR"})
    if bad:
        raise ExpressionError(f"column {column!r} holds {bad}; expected GOOD or POOR")
    return labels.rename("response")
