"""MSigDB Hallmark gene sets (v7.5.1, gene symbols; Liberzon et al. 2015, CC BY 4.0)."""
from __future__ import annotations

from ..errors import DataError
from .registry import fetch

HALLMARK = "genesets/h.all.v7.5.1.symbols.gmt"


def hallmark() -> dict[str, list[str]]:
    """`{set name without the HALLMARK_ prefix: genes}` in file order, e.g. `MTORC1_SIGNALING`."""
    path = fetch(HALLMARK)
    sets = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split("\t")
        if len(fields) < 3 or not fields[1].startswith("http"):
            raise DataError(f"{path.name}: line {number} is not 'name<TAB>url<TAB>genes...' (GMT format)")
        sets[fields[0].removeprefix("HALLMARK_")] = [gene for gene in fields[2:] if gene]  # rows are padded with empty fields
    return sets
