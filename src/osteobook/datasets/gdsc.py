"""Cell-line drug response from GDSC2 and the curated annotation of its osteosarcoma lines.

`GDSC2_Res.rds` (oncoPredict's training matrix) holds the natural log of the fitted IC50 in
micromolar (GDSC's `LN_IC50`), cell lines (`COSMIC_<id>`) x drugs (`<name>_<GDSC drug id>`).
Lower values mean more sensitive lines. Which lines are osteosarcoma comes from GDSC's own cell-line
annotation, curated with its source in `data/gdsc_osteosarcoma_lines.csv`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pyreadr

from ..errors import DataError
from ..paths import DATA
from .curated import read_table, source_columns

# GDSC2 kinase inhibitors whose GDSC target list includes VEGFR (KDR), the target class of the TKIs
# tested in osteosarcoma trials. Targets as listed in GDSC's screened-compounds table (release 8.2,
# copy in HuangLabUMN/oncoPredict, inst/extdata/screened_compunds_rel_8.2.csv).
VEGFR_TKIS = {
    "Sorafenib_1085": "PDGFR, KIT, VEGFR, RAF",
    "Axitinib_1021": "PDGFR, KIT, VEGFR",
    "Cediranib_1922": "VEGFR, FLT1, FLT2, FLT3, FLT4, KIT, PDGFRB",
    "Foretinib_2040": "MET, KDR, TIE2, VEGFR3/FLT4, RON, PDGFR, FGFR1, EGFR",
}

LINES = pa.DataFrameSchema({
    "cosmic_id": pa.Column(int, pa.Check.ge(1), unique=True),
    "cell_line": pa.Column(str),
    "gdsc_tissue_descriptor_1": pa.Column(str),
    "gdsc_tissue_descriptor_2": pa.Column(str),
    "osteosarcoma": pa.Column(bool),
    **source_columns(),
}, checks=[pa.Check(lambda df: df["osteosarcoma"] == (df["gdsc_tissue_descriptor_2"] == "osteosarcoma"),
                    name="osteosarcoma = GDSC tissue descriptor 2 is 'osteosarcoma'")],
    strict=True, coerce=True)


def load_response(path: str | Path) -> pd.DataFrame:
    """The GDSC2 ln(IC50 / µM) matrix with integer COSMIC ids as the index."""
    matrix = next(iter(pyreadr.read_r(str(path)).values()))
    if not matrix.index.str.startswith("COSMIC_").all():
        raise DataError(f"{path}: expected row names COSMIC_<id>")
    matrix.index = matrix.index.str.removeprefix("COSMIC_").astype(int).rename("cosmic_id")
    return matrix


def load_lines(folder: Path = DATA) -> pd.DataFrame:
    """The curated GDSC cell-line annotations (`data/gdsc_osteosarcoma_lines.csv`), validated."""
    return read_table(folder / "gdsc_osteosarcoma_lines.csv", LINES)
