"""GSE21257 genome-wide: 53 pre-treatment osteosarcoma biopsies (Buddingh et al. 2011), joined to survival.

lionessR documents its data as GEO GSE42352 (Kuijjer et al., GPL10295); its 53 biopsies are the 53 GSE21257
tumours, as the one-to-one expression match below shows. `OSdata.RData` holds `exp`, the 10,000 most
variable genes x 53 biopsies (log2 Illumina,
columns named by biopsy code such as `L1016`) and `targets`, metastasis within 5 years (yes/no). It
carries no survival. The survival rows in `lqz_autophagy/clinical.txt` are keyed by GSM accession, and
the 53 GSE21257 columns of `lqz_autophagy/merge.txt` hold the same tumours' expression of 193 genes.
`join_survival` matches each biopsy to the GSM column it correlates with best over the shared genes
(Spearman, so the two files' different scales do not matter), reports the best and second-best
correlation, and refuses a match that is not one-to-one.
"""
from __future__ import annotations

import pandas as pd
import pyreadr

from ..errors import DataError
from . import autophagy
from .registry import fetch

OSDATA = "gse21257_lionessr/OSdata.RData"
METASTASIS = {"yes": True, "no": False}


def read_expression() -> tuple[pd.DataFrame, pd.Series]:
    """Expression (genes x biopsies) and 5-year metastasis (True/False) per biopsy."""
    path = fetch(OSDATA)
    objects = pyreadr.read_r(path)
    if not {"exp", "targets"} <= set(objects):
        raise DataError(f"{path.name}: expected R objects 'exp' and 'targets', found {sorted(objects)}")
    expression, targets = objects["exp"], objects["targets"]
    bad = sorted(set(targets["mets"].astype(str)) - set(METASTASIS))
    if bad:
        raise DataError(f"{path.name}: targets column 'mets' has {bad}; allowed: {sorted(METASTASIS)}")
    if list(targets["sample"].astype(str)) != list(expression.columns):
        raise DataError(f"{path.name}: targets$sample does not list the columns of exp in order")
    expression.index.name = "gene"
    return expression, targets.assign(sample=targets["sample"].astype(str)).set_index("sample")["mets"].astype(str).map(METASTASIS).astype(bool).rename("metastasis")


def match_biopsies(expression: pd.DataFrame, merged: pd.DataFrame) -> pd.DataFrame:
    """Per biopsy: the best-correlated GSM column of `merged` over the shared genes, and the runner-up."""
    gsm = [c for c in merged.columns if c.startswith("GSM")]
    shared = expression.index.intersection(merged.index)
    if len(shared) < 20:
        raise DataError(f"only {len(shared)} genes shared between {OSDATA} and {autophagy.MATRIX}: cannot match")
    ranks = pd.concat([expression.loc[shared], merged.loc[shared, gsm]], axis=1).rank()
    correlation = ranks.corr().loc[expression.columns, gsm]
    order = correlation.apply(lambda row: row.sort_values(ascending=False).index[:2].tolist(), axis=1)
    return pd.DataFrame({
        "gsm": [o[0] for o in order], "r_best": [correlation.at[b, o[0]] for b, o in order.items()],
        "second_gsm": [o[1] for o in order], "r_second": [correlation.at[b, o[1]] for b, o in order.items()],
        "n_genes": len(shared),
    }, index=expression.columns.rename("biopsy"))


def join_survival() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Expression, the match table with survival (`futime` days, `fustate`) and metastasis per biopsy.

    Raises when two biopsies match the same GSM column or a matched GSM has no survival row.
    """
    expression, metastasis = read_expression()
    matches = match_biopsies(expression, autophagy.read_matrix())
    repeated = matches["gsm"][matches["gsm"].duplicated(keep=False)]
    if len(repeated):
        raise DataError(f"biopsy-to-GSM match is not one-to-one: {repeated.to_dict()}")
    clinical = autophagy.read_clinical(pd.Index(matches["gsm"]))
    if clinical["futime"].isna().any():
        raise DataError(f"matched GSM ids without a survival row in {autophagy.CLINICAL}: "
                        f"{list(clinical.index[clinical['futime'].isna()])}")
    table = matches.join(clinical.set_axis(matches.index)).join(metastasis)
    return expression, table, metastasis
