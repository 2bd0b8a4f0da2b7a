"""osteobook.chapters.exosomes and its curated tables: schema, sources, glued names, figure input, verdict rules."""
from __future__ import annotations

import csv
import inspect
import json
import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from osteobook.chapters import exosomes
from osteobook.datasets import exosome_tables
from osteobook.engine.params import load_chapter
from osteobook.engine.results import save_results
from osteobook.errors import DataError
from osteobook.paths import DATA, NOTEBOOKS
from osteobook.plots import network
from osteobook.prose import Markdown

PAGE = (NOTEBOOKS / "exosomes.md").read_text()
SOURCE_COLUMNS = ["source_url", "source_location", "quote", "source_kind", "status", "notes"]


@pytest.fixture(scope="module")
def result() -> exosomes.Exosomes:
    return exosomes.analyse(**{**load_chapter("exosomes").defaults(), "n_permutations": 500})


def raw_rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="") as handle:
        return list(csv.DictReader(handle))


# ---- curated tables ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["exosome_edges.csv", "exosome_claims.csv", "exosome_mirnas.csv",
                                  "exosome_studies.csv"])
def test_every_table_has_the_shared_source_columns(name):
    rows = raw_rows(name)
    assert rows and all(column in rows[0] for column in SOURCE_COLUMNS)


def test_edge_table_validates_and_keeps_unverified_rows_only_on_request():
    everything = exosome_tables.load_edges(include_unverified=True)
    verified = exosome_tables.load_edges()
    assert len(everything) == len(raw_rows("exosome_edges.csv")) == 18
    assert set(everything["status"]) == {"verified", "secondary", "unverified"}
    assert "unverified" not in set(verified["status"])
    assert len(everything) - len(verified) == (everything["status"] == "unverified").sum()


def test_every_edge_has_a_source_with_its_quote():
    for row in raw_rows("exosome_edges.csv"):
        assert row["source_url"].startswith("http"), row["edge_id"]
        assert row["quote"].strip() and row["source_location"].strip(), row["edge_id"]
        if row["status"] == "unverified":  # the review's own sentence is the only source
            assert row["source_kind"] == "secondary" and "doi.org/10.3389/fimmu.2025.1668535" in row["source_url"]


def test_every_quote_of_a_review_claim_is_in_the_review_text():
    """The claims cite the review's sentences; the edge rows whose only source is the review cite the same ones."""
    quotes = {row["claim_id"]: row["quote"] for row in raw_rows("exosome_claims.csv")}
    for row in raw_rows("exosome_edges.csv"):
        if row["status"] == "unverified":
            assert row["quote"] == quotes[row["claim_id"]], row["edge_id"]


def test_a_bad_edge_row_names_the_file_line_and_column(tmp_path):
    rows = raw_rows("exosome_edges.csv")
    rows[2]["exosome_source"] = "fibroblast-ish"
    path = tmp_path / "exosome_edges.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DataError, match=r"line 4\b.*'exosome_source'.*'fibroblast-ish'"):
        exosome_tables.load_edges(path)


def test_every_edge_names_a_claim_and_every_study_a_bib_entry():
    claims = {row["claim_id"] for row in raw_rows("exosome_claims.csv")}
    assert {row["claim_id"] for row in raw_rows("exosome_edges.csv")} <= claims
    bib = (NOTEBOOKS.parent / "book" / "bib" / "exosomes.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib)) | {"cafreview2025"}
    used = {row["bibkey"] for name in ("exosome_edges.csv", "exosome_studies.csv") for row in raw_rows(name)}
    assert used <= keys


# ---- the chapter's contract ----------------------------------------------------------------------

def test_analyse_takes_exactly_the_chapters_parameters():
    assert set(inspect.signature(exosomes.analyse).parameters) == set(load_chapter("exosomes").defaults())


def test_every_glued_name_on_the_page_is_provided(result):
    texts = set(re.findall(r"\{glue(?::text|:md)?\}`([^`:]+)", PAGE))
    figures = set(re.findall(r"```\{glue:figure\} (\S+)", PAGE))
    published = set(re.findall(r'publish_figure\("([^"]+)"', PAGE))
    assert texts and figures
    assert texts - set(result.glue) == set()
    assert figures - published == set()


def test_markdown_roles_get_markdown_and_text_roles_get_plain_values(result):
    for name in re.findall(r"\{glue:md\}`([^`]+)`", PAGE):
        assert isinstance(result.glue[name], Markdown), name
    for name in re.findall(r"\{glue:text\}`([^`:]+)", PAGE):
        assert type(result.glue[name]) in {int, float, str}, name


def test_sections_do_not_overwrite_each_others_glue(result):
    sections = [result.network.glue, result.sequences.glue, result.convergence.glue, result.patients.glue,
                result.claims.glue]
    names = [name for glue in sections for name in glue]
    assert len(names) == len(set(names))


def test_results_are_the_sections_without_parameters(result, tmp_path):
    assert set(result.results) == {"network", "sequences", "convergence", "patients", "claims"}
    written = json.loads(save_results(tmp_path / "exosomes.json", result.results).read_text())
    assert "parameters" not in written
    assert written["patients"]["present"] == result.patients.genes


# ---- the figure and its table --------------------------------------------------------------------

def test_every_arrow_of_the_figure_is_a_row_of_the_table(result):
    figure, table = result.network.figure_edges, result.network.edges
    assert list(figure["number"]) == list(table["number"]) == list(range(1, len(table) + 1))
    assert (figure["regulator_node"] == table["regulator_node"]).all()
    assert (figure["target_node"] == table["target_node"]).all()
    fig = network.network_figure(figure)
    labels = [t.get_text() for t in fig.axes[0].texts]
    for row in figure.itertuples():
        assert any(label.startswith(f"{row.number} ") for label in labels), row.number
    plt.close(fig)


def test_alt_text_agrees_with_the_table(result):
    """The figure's alt text names edge numbers by vesicle source: they must be the table's."""
    edges = result.network.edges.set_index("number")
    by_source = edges.groupby("exosome_source").groups
    assert list(by_source["CAF"]) == [2]
    assert list(by_source["mesenchymal stem/stromal cell"]) == [8, 9, 12, 13, 14]
    assert list(by_source["tumour cell"]) == [3, 4, 5, 6, 7]
    assert list(by_source["engineered"]) == [15, 16] and list(by_source["not exosomal"]) == [18]
    assert list(edges.index[edges["status"] == "unverified"]) == [1, 10, 11, 17]
    assert list(edges.index[edges["target_node"] == exosomes.PI3K_NODE]) == [1, 9]
    assert "Only edge 2, miR-1228 to SCAI" in PAGE and "Only edges 1 and 9 reach" in PAGE


def test_mirtarbase_grades_of_the_mirna_edges(result):
    support = result.network.support.set_index(["mirna", "target"])["grade"].to_dict()
    assert support[("hsa-miR-21-5p", "PIK3R1")] == "strong"
    assert support[("hsa-miR-29c-3p", "MMP2")] == "strong"
    assert support[("hsa-miR-183-5p", "ERG")] == "absent"
    assert support[("hsa-miR-1228-3p", "SCAI")] == support[("hsa-miR-1228-5p", "SCAI")] == "absent"


# ---- the verdict rules ---------------------------------------------------------------------------

def edges_of(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["status", "source_kind", "exosome_source", "bibkey"])


def test_mechanism_verdict_rules():
    caf, msc = "CAF", "mesenchymal stem/stromal cell"
    assert exosomes.mechanism_verdict([caf], edges_of(), {})[0] == "unverified"
    assert exosomes.mechanism_verdict([caf], edges_of(("secondary", "secondary", caf, "x")), {})[0] == "secondary only"
    assert exosomes.mechanism_verdict([caf], edges_of(("verified", "primary", caf, "a")), {}) == (
        "supported", "Supported by 1 study, not replicated")
    assert exosomes.mechanism_verdict([caf], edges_of(("verified", "primary", msc, "a")), {})[0] == "donor mismatch"
    # a paper without vesicles: its donor cell comes from the studies table
    assert exosomes.mechanism_verdict([caf, msc], edges_of(("verified", "primary", "not exosomal", "t")),
                                      {"t": msc})[0] == "partly supported"


@pytest.mark.parametrize(("q", "perm", "loo", "expected"), [
    (0.2, 0.01, 0.01, "not enriched"), (0.01, 0.2, 0.01, "no more than random miRNAs"),
    (0.01, 0.01, 0.3, "carried by one miRNA"), (0.01, 0.01, 0.01, "robust")])
def test_convergence_verdict_rule(q, perm, loo, expected):
    assert exosomes.convergence_verdict(q, perm, loo, 0.05) == expected


def test_synthesis_needs_two_papers_and_a_robust_test():
    assert exosomes.synthesis_verdict(2, "robust")[0] == "supported"
    assert exosomes.synthesis_verdict(1, "robust")[0] == "not supported"
    assert exosomes.synthesis_verdict(3, "carried by one miRNA")[0] == "not supported"


def test_claims_get_the_expected_categories(result):
    categories = result.claims.table.set_index("claim_id")["category"].to_dict()
    assert categories["C"] == "supported" and categories["D"] == "donor mismatch"
    assert categories["K"] == categories["L"] == "preclinical"
    assert categories["B"] == categories["E"] == categories["J"] == "unverified"
    assert categories["H"] == "secondary only" and categories["I"] == "partly supported"


def test_review_mirnas_follow_include_unverified():
    assert "hsa-miR-2861" not in exosomes.review_mirnas(False, "3p")
    assert "hsa-miR-2861" in exosomes.review_mirnas(True, "3p")
    assert "hsa-miR-1228-5p" in exosomes.review_mirnas(False, "5p")
    assert "hsa-miR-29c-3p" not in exosomes.review_mirnas(True, "3p")  # not one of the review's miRNAs
