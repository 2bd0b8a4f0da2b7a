"""Tumour expression files: GEO series matrices, curated probe-to-gene maps, FerrDb gene lists.

- `read_series_matrix` parses a GEO series matrix (the `!Sample_characteristics_ch1` header lines
  and the table between `!series_matrix_table_begin` and `..._end`).
- Probe-to-gene mapping comes from the curated table `data/ferroptosis_genes.csv`, where every
  probe carries its source (a series matrix has no gene symbols).
- `ferrdb_classes` reads the FerrDb driver/suppressor list; genes listed on both sides are kept apart,
  because a signed score must decide what to do with them.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyreadr

from ..errors import DataError, check_choice
from ..paths import DATA
from .curated import read_table, source_columns

GENES_FILE = DATA / "ferroptosis_genes.csv"
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


@dataclass(frozen=True)
class SeriesMatrix:
    """Expression (probes x samples, as given) and sample annotations (samples x characteristics)."""

    expression: pd.DataFrame
    samples: pd.DataFrame


def read_series_matrix(path: str | Path) -> SeriesMatrix:
    """Parse a (gzipped) GEO series matrix; characteristics `key: value` become one column per key.

    Parsed once per process while the file is unchanged; every call gets its own copy."""
    path = Path(path)
    stat = path.stat()
    parsed = _parse_series_matrix(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return SeriesMatrix(expression=parsed.expression.copy(), samples=parsed.samples.copy())


@cache
def _parse_series_matrix(name: str, mtime_ns: int, size: int) -> SeriesMatrix:
    path = Path(name)
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
                    raise DataError(f"{path.name}: a !Sample_characteristics_ch1 line has no 'key: value' entries")
                characteristics[key] = [v.split(":", 1)[1].strip() if ":" in v else "" for v in fields[1:]]
    if not table:
        raise DataError(f"{path.name}: no expression table between !series_matrix_table_begin and _end")
    header, rows = table[0], table[1:]
    if header[1:] != accessions:
        raise DataError(f"{path.name}: table columns {header[1:3]}... do not match !Sample_geo_accession")
    expression = pd.DataFrame([r[1:] for r in rows], index=[r[0] for r in rows], columns=accessions)
    expression = expression.apply(pd.to_numeric, errors="coerce")
    expression.index.name = header[0]
    samples = pd.DataFrame(characteristics, index=accessions)
    return SeriesMatrix(expression=expression, samples=samples)


def load_probe_map(path: Path = GENES_FILE, include_unverified: bool = False,
                   gene_set: str = "core_axis") -> pd.DataFrame:
    """The curated probe-to-gene table, validated, restricted to a gene set and to usable rows."""
    check_choice("gene_set", gene_set, GENE_SETS)
    table = read_table(path, GENES, include_unverified)
    if GENE_SETS[gene_set] is not None:
        table = table[table["axis_step"] == GENE_SETS[gene_set]]
    return table.reset_index(drop=True)


def read_ferrdb(path: str | Path) -> pd.DataFrame:
    """FerrDb gene list as packaged in ferroviz: columns `gene` and `class` (driver / suppressor)."""
    path = Path(path)
    frames = pyreadr.read_r(path)
    if "ferrdbhs" not in frames:
        raise DataError(f"{path.name}: expected an R object 'ferrdbhs', found {list(frames)}")
    table = frames["ferrdbhs"].rename(columns={"hs.gene": "gene"})
    if list(table.columns) != ["gene", "class"] or not set(table["class"]) <= {"driver", "suppressor"}:
        raise DataError(f"{path.name}: expected columns hs.gene, class with classes driver/suppressor")
    return table.drop_duplicates().reset_index(drop=True)


def ferrdb_classes(table: pd.DataFrame, ambiguous: str = "exclude") -> dict[str, list[str]]:
    """Driver and suppressor genes; genes in both classes dropped ('exclude') or kept in both ('both')."""
    check_choice("ambiguous_genes", ambiguous, ("exclude", "both"))
    sets = {name: set(table.loc[table["class"] == name, "gene"]) for name in ("driver", "suppressor")}
    both = sets["driver"] & sets["suppressor"]
    if ambiguous == "exclude":
        sets = {name: genes - both for name, genes in sets.items()}
    return {**{name: sorted(genes) for name, genes in sets.items()}, "both": sorted(both)}


def response_labels(samples: pd.DataFrame, definition: str = "geo_label") -> pd.Series:
    """GOOD/POOR per sample: the series' own label, or Huvos grade >= 3 (>= 90% necrosis) as GOOD."""
    check_choice("response_definition", definition, ("geo_label", "huvos"))
    column = RESPONSE_COLUMN if definition == "geo_label" else HUVOS_COLUMN
    if column not in samples:
        raise DataError(f"sample annotations have no {column!r}; columns: {list(samples.columns)}")
    if definition == "geo_label":
        labels = samples[column].str.upper()
    else:
        grade = pd.to_numeric(samples[column].str.extract(r"(\d)\s*$")[0], errors="raise")
        labels = pd.Series(np.where(grade >= 3, "GOOD", "POOR"), index=samples.index)
    bad = sorted(set(labels) - {"GOOD", "POOR"})
    if bad:
        raise DataError(f"column {column!r} holds {bad}; expected GOOD or POOR")
    return labels.rename("response")
