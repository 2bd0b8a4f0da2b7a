"""Curated tables of the exosome chapter: regulatory edges, the review's claims, its miRNAs and the studies.

- `data/exosome_edges.csv`: one row per regulatory edge (regulator -> target) with the cell type that released
  the vesicles in the primary paper, the model, the assay and the sentence it was read in. An edge whose only
  source is the review itself is `unverified` and cites the review's sentence.
- `data/exosome_claims.csv`: one row per claim of review sections 4.3, 5.4 and 6, with the review's sentence.
- `data/exosome_mirnas.csv`: the miRNAs of the network with their miRBase names (an arm the source leaves open
  gets one row per arm).
- `data/exosome_studies.csv`: one row per primary study: donor-cell identity and the vesicle-study items
  (MISEV) seen in the text read.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..errors import DataError
from ..paths import DATA
from .curated import read_table, source_columns

EDGES_FILE = DATA / "exosome_edges.csv"
CLAIMS_FILE = DATA / "exosome_claims.csv"
MIRNAS_FILE = DATA / "exosome_mirnas.csv"
STUDIES_FILE = DATA / "exosome_studies.csv"

MOLECULE_TYPES = ["miRNA", "lncRNA", "circRNA", "peptide", "gene", "cytokine", "pathway", "cell", "vesicle"]
RELATIONS = ["targets", "sponges", "induces", "activates", "stabilises", "encodes"]
EXOSOME_SOURCES = ["CAF", "mesenchymal stem/stromal cell", "tumour cell", "engineered", "not exosomal", "unknown"]
# strongest assay named for the edge in the text read, strongest first
ASSAY_CLASSES = ["reporter assay", "binding assay", "perturbation", "expression change", "not stated"]
CLAIM_TYPES = ["mechanism", "synthesis", "therapeutic"]
SECTIONS = ["4.3", "5.4", "6"]
SEEN = r"^(reported|not seen|not applicable)( \(.+\))?$"
GENE_LIST = r"^[A-Z0-9]+(;[A-Z0-9]+)*$"
UPPER_SNAKE = r"^[A-Z0-9_]+$"

EDGES = pa.DataFrameSchema({
    "edge_id": pa.Column(str, pa.Check.str_matches(UPPER_SNAKE), unique=True),
    "claim_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z]$")),
    "regulator": pa.Column(str),
    "regulator_node": pa.Column(str),
    "regulator_type": pa.Column(str, pa.Check.isin(MOLECULE_TYPES)),
    "regulator_genes": pa.Column(str, pa.Check.str_matches(GENE_LIST), nullable=True),
    "target": pa.Column(str),
    "target_node": pa.Column(str),
    "target_type": pa.Column(str, pa.Check.isin(MOLECULE_TYPES)),
    "target_genes": pa.Column(str, pa.Check.str_matches(GENE_LIST), nullable=True),
    "relation": pa.Column(str, pa.Check.isin(RELATIONS)),
    "exosome_source": pa.Column(str, pa.Check.isin(EXOSOME_SOURCES)),
    "model": pa.Column(str, nullable=True),
    "assay": pa.Column(str, nullable=True),
    "assay_class": pa.Column(str, pa.Check.isin(ASSAY_CLASSES)),
    "osteosarcoma": pa.Column(str, pa.Check.isin(["true", "false"]), nullable=True),  # blank: unknown
    "bibkey": pa.Column(str, nullable=True),
    "doi": pa.Column(str, pa.Check.str_startswith("10."), nullable=True),
    "pmid": pa.Column(str, pa.Check.str_matches(r"^\d{6,9}$"), nullable=True),
    **source_columns(),
}, strict=True, coerce=True)

CLAIMS = pa.DataFrameSchema({
    "claim_id": pa.Column(str, pa.Check.str_matches(r"^[A-Z]$"), unique=True),
    "section": pa.Column(str, pa.Check.isin(SECTIONS)),
    "claim": pa.Column(str),
    "claim_type": pa.Column(str, pa.Check.isin(CLAIM_TYPES)),
    "claimed_donor": pa.Column(str, pa.Check(lambda s: s.str.split(";").map(
        lambda donors: all(d in EXOSOME_SOURCES for d in donors))), nullable=True),
    "discrepancy": pa.Column(str),
    **source_columns(),
}, strict=True, coerce=True)

MIRNAS = pa.DataFrameSchema({
    "mirna_id": pa.Column(str, pa.Check.str_matches(UPPER_SNAKE), unique=True),
    "node": pa.Column(str),
    "mirbase_name": pa.Column(str, pa.Check.str_matches(r"^hsa-(miR|let)-[0-9a-z-]+$"), unique=True),
    "arm_stated": pa.Column(bool),
    "in_review": pa.Column(bool),
    **source_columns(),
}, strict=True, coerce=True)

STUDIES = pa.DataFrameSchema({
    "bibkey": pa.Column(str, unique=True),
    "study": pa.Column(str),
    "donor_cell": pa.Column(str, pa.Check.isin(EXOSOME_SOURCES)),
    "donor_identity": pa.Column(str),
    "text_read": pa.Column(str, pa.Check.isin(["abstract", "abstract and figure legends", "database record"])),
    **{item: pa.Column(str, pa.Check.str_matches(SEEN)) for item in
       ["ev_morphology_markers", "particle_analysis", "negative_markers", "depletion_control", "target_reporter"]},
    "cargo_loading": pa.Column(str),
    "replication": pa.Column(str),
    **source_columns(),
}, strict=True, coerce=True)

# the vesicle-study (MISEV) items of `exosome_studies.csv`, with their labels for readers
MISEV_ITEMS = {"ev_morphology_markers": "vesicle morphology and markers", "particle_analysis": "particle analysis",
               "negative_markers": "negative markers", "depletion_control": "depletion or knockdown control"}


def load_edges(path: Path = EDGES_FILE, include_unverified: bool = False) -> pd.DataFrame:
    """The edge table, validated; every edge names a claim of the claims table. Unverified rows on request.

    `osteosarcoma` is returned as a nullable boolean (missing where no primary paper was found).
    """
    edges = read_table(path, EDGES, include_unverified)
    edges["osteosarcoma"] = edges["osteosarcoma"].map({"true": True, "false": False}).astype("boolean")
    claims = set(load_claims()["claim_id"])
    unknown = sorted(set(edges["claim_id"]) - claims)
    if unknown:
        raise DataError(f"{path.name}: claim_id {unknown} not in {CLAIMS_FILE.name}; claims: {sorted(claims)}")
    return edges


def load_claims(path: Path = CLAIMS_FILE) -> pd.DataFrame:
    """The review's claims (sections 4.3, 5.4, 6), each with its sentence."""
    return read_table(path, CLAIMS)


def load_mirnas(path: Path = MIRNAS_FILE) -> pd.DataFrame:
    """The network's miRNAs and their miRBase names."""
    return read_table(path, MIRNAS)


def load_studies(path: Path = STUDIES_FILE) -> pd.DataFrame:
    """The primary studies behind the edges: donor identity and vesicle-study items seen."""
    return read_table(path, STUDIES)
