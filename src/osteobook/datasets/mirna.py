"""miRNA data: miRTarBase interactions, miRBase mature sequences, exosome-enriched sequences."""
from __future__ import annotations

import gzip

import pandas as pd

from .curated import require_columns
from .registry import fetch

MIRTARBASE = "mirtarbase/hsa_MTI.csv"
MIRBASE = "mirbase/mature.fa.gz"
EXOSOMAL = "exosomal_mirna/exosomal_seq.fa"
MIRTARBASE_COLUMNS = {"miRTarBase ID": "mirt_id", "miRNA": "mirna", "Target Gene": "target",
                      "Experiments": "experiments", "Support Type": "support_type", "References (PMID)": "pmid"}


def mirtarbase(mirnas: list[str] | None = None) -> pd.DataFrame:
    """Human miRNA-target interactions (one row per MIRT id x experiment record), optionally for some miRNAs."""
    path = fetch(MIRTARBASE)
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    require_columns(table, MIRTARBASE_COLUMNS, path.name)
    table = table[list(MIRTARBASE_COLUMNS)].rename(columns=MIRTARBASE_COLUMNS)
    return table if mirnas is None else table.loc[table["mirna"].isin(mirnas)].reset_index(drop=True)


def _fasta(lines) -> dict[str, str]:
    records, name = {}, None
    for line in lines:
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            records[name] = ""
        elif name is not None:
            records[name] += line
    return records


def mature_sequences(species: str = "hsa") -> dict[str, str]:
    """miRBase mature sequences of one species (RNA alphabet), by name (e.g. `hsa-miR-21-5p`)."""
    with gzip.open(fetch(MIRBASE), "rt") as handle:
        return {name: seq for name, seq in _fasta(handle).items() if name.startswith(f"{species}-")}


def exosomal_sequences() -> dict[str, str]:
    """The 348 exosome-enriched miRNA sequences of admirepred (ids E_1 …; the file gives no names)."""
    with open(fetch(EXOSOMAL)) as handle:
        return _fasta(handle)
