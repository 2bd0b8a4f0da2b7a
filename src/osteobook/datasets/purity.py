"""ESTIMATE stromal and immune gene lists (Yoshihara et al. 2013), as shipped by the PyPI package tmeimmune.

The registry member `tmeimmune/estimateScore.py` is the package's module source; the two lists are read from
it as literals with `ast` (the module is never imported or executed). Each list has 141 symbols.
"""
from __future__ import annotations

import ast
from pathlib import Path

from ..errors import DataError
from .registry import fetch

ESTIMATE_MEMBER = "tmeimmune/estimateScore.py"
ESTIMATE_SETS = {"EST_stromal": "stromal", "EST_immune": "immune"}
ESTIMATE_SIZE = 141


def read_estimate_sets(path: Path | None = None) -> dict[str, list[str]]:
    """`{'stromal': [...], 'immune': [...]}`: the ESTIMATE signatures, 141 genes each, in the source's order."""
    path = Path(path) if path is not None else fetch(ESTIMATE_MEMBER)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and node.keys and all(
                isinstance(k, ast.Constant) and k.value in ESTIMATE_SETS and isinstance(v, ast.List)
                for k, v in zip(node.keys, node.values, strict=True)):
            sets = {ESTIMATE_SETS[k.value]: [ast.literal_eval(e) for e in v.elts]
                    for k, v in zip(node.keys, node.values, strict=True)}
            break
    else:
        raise DataError(f"{path.name}: no dict literal with the keys {sorted(ESTIMATE_SETS)}")
    for name, genes in sets.items():
        if len(genes) != ESTIMATE_SIZE or len(set(genes)) != ESTIMATE_SIZE:
            raise DataError(f"{path.name}: the ESTIMATE {name} list has {len(genes)} genes "
                            f"({len(set(genes))} distinct), expected {ESTIMATE_SIZE}")
    return sets
