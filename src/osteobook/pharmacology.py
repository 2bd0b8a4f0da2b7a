"""Cell-line drug response from GDSC2: where osteosarcoma lines sit among all screened lines.

`GDSC2_Res.rds` (oncoPredict's training matrix) holds the natural log of the fitted IC50 in
micromolar (GDSC's `LN_IC50`), cell lines (`COSMIC_<id>`) x drugs (`<name>_<GDSC drug id>`).
Lower values mean more sensitive lines. Which lines are osteosarcoma comes from GDSC's own cell-line
annotation, curated with its source in `data/gdsc_osteosarcoma_lines.csv`.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyreadr
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .curated import read_table, source_columns
from .figures import PALETTE
from .paths import DATA

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
        raise ValueError(f"{path}: expected row names COSMIC_<id>")
    matrix.index = matrix.index.str.removeprefix("COSMIC_").astype(int).rename("cosmic_id")
    return matrix


def load_lines(folder: Path = DATA) -> pd.DataFrame:
    """The curated GDSC cell-line annotations (`data/gdsc_osteosarcoma_lines.csv`), validated."""
    return read_table(folder / "gdsc_osteosarcoma_lines.csv", LINES)


def drug_label(column: str) -> str:
    """'Sorafenib_1085' -> 'Sorafenib (GDSC 1085)'."""
    name, _, drug_id = column.rpartition("_")
    return f"{name} (GDSC {drug_id})"


def compare_lines(values: pd.Series, group: set[int]) -> dict[str, float]:
    """Rank comparison of one drug's ln IC50 in `group` lines versus all other screened lines.

    Returns the Mann–Whitney U test (two-sided), the probability that a group line has the higher
    ln IC50 (ties count half; 0.5 = no difference, above 0.5 = group more resistant), the rank-biserial
    correlation 2·P − 1, and the Hodges–Lehmann shift (median of all pairwise differences) in ln units.
    """
    values = values.dropna()
    inside = values[values.index.isin(group)].to_numpy()
    outside = values[~values.index.isin(group)].to_numpy()
    if len(inside) == 0 or len(outside) == 0:
        raise ValueError("both groups need at least one screened line")
    u, p = stats.mannwhitneyu(inside, outside, alternative="two-sided", method="asymptotic")
    prob = u / (len(inside) * len(outside))
    return {"n_group": len(inside), "n_other": len(outside), "median_group": float(np.median(inside)),
            "median_other": float(np.median(outside)), "u": float(u), "p": float(p),
            "prob_group_higher": float(prob), "rank_biserial": float(2 * prob - 1),
            "hodges_lehmann": float(np.median(np.subtract.outer(inside, outside)))}


def screened(response: pd.DataFrame, drugs: list[str], group: set[int]) -> pd.DataFrame:
    """How many lines, and how many `group` lines, have a value for each drug."""
    return pd.DataFrame([{"drug": drug, "label": drug_label(drug), "n_lines": int(response[drug].notna().sum()),
                          "n_group": int(response[drug].dropna().index.isin(group).sum())} for drug in drugs])


def compare_drugs(response: pd.DataFrame, drugs: list[str], group: set[int], min_group: int = 3) -> pd.DataFrame:
    """`compare_lines` for each drug with at least `min_group` group lines screened; Holm-adjusted p-values."""
    counts = screened(response, drugs, group)
    kept = counts.loc[counts["n_group"] >= min_group, "drug"]
    table = pd.DataFrame([{"drug": drug, "label": drug_label(drug), **compare_lines(response[drug], group)}
                          for drug in kept])
    table["p_holm"] = multipletests(table["p"], method="holm")[1]
    return table


def percentiles(values: pd.Series, group: set[int]) -> pd.Series:
    """Percentile rank (0–100, mid-rank for ties) of each group line among all lines screened with the drug."""
    values = values.dropna()
    ranks = values.rank(method="average")
    return ((ranks - 0.5) / len(values) * 100)[values.index.isin(group)]


def response_figure(response: pd.DataFrame, drugs: list[str], group: set[int], rng: np.random.Generator,
                    group_label: str = "osteosarcoma lines") -> plt.Figure:
    """One row per drug: box plot of all other lines' ln IC50 and the group's lines as jittered points."""
    fig, ax = plt.subplots(figsize=(7, 1.1 * len(drugs) + 1.8))
    for row, drug in enumerate(drugs):
        values = response[drug].dropna()
        inside = values.index.isin(group)
        ax.boxplot(values[~inside], positions=[row], vert=False, widths=0.5, showfliers=True,
                   flierprops={"marker": ".", "markersize": 3, "markeredgecolor": "0.6"},
                   medianprops={"color": "0.2"}, boxprops={"color": "0.45"}, whiskerprops={"color": "0.45"},
                   capprops={"color": "0.45"})
        jitter = rng.uniform(-0.18, 0.18, inside.sum())
        ax.scatter(values[inside], row + jitter, color=PALETTE[3], s=28, zorder=3, edgecolor="white", lw=0.5,
                   label=group_label if row == 0 else None)
    ax.set_yticks(range(len(drugs)), [drug_label(drug) for drug in drugs])
    ax.invert_yaxis()
    ax.set_xlabel("ln(IC50 / µM)   (lower = more sensitive)")
    top = ax.secondary_xaxis("top", functions=(np.exp, np.log))
    top.set_xlabel("IC50 (µM, log scale)")
    top.set_xscale("log")
    ax.scatter([], [], marker="s", color="0.45", label="all other GDSC2 lines (box: quartiles)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.16), ncol=2)
    return fig
