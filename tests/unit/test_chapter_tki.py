"""osteobook.chapters.tki: `analyse` gives the notebook every glued value, the results file and the tables."""
from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

from osteobook.chapters import tki
from osteobook.engine.params import load_chapter
from osteobook.errors import ParameterError
from osteobook.paths import NOTEBOOKS
from osteobook.prose import Markdown

NOTEBOOK = (NOTEBOOKS / "tki.md").read_text()


def defaults(**overrides) -> dict:
    """The chapter's declared defaults (minus the seed, which only jitters a figure), with overrides."""
    parameters = {**load_chapter("tki").defaults(), **overrides}
    parameters.pop("seed")
    return parameters


@pytest.fixture(scope="module")
def result() -> tki.TkiAnalysis:
    return tki.analyse(**defaults())


def test_every_glue_name_in_the_notebook_is_provided(result):
    roles = set(re.findall(r"\{glue(?::\w+)?\}`([^`:]+)", NOTEBOOK))
    figures = set(re.findall(r"^```\{glue:figure\} (\S+)", NOTEBOOK, flags=re.MULTILINE))
    published = set(re.findall(r"publish_figure\(\"(\w+)\"", NOTEBOOK))
    assert roles and figures
    assert roles - set(result.glue) == set()
    assert figures == published
    assert not published & set(result.glue)


def test_markdown_roles_get_markdown(result):
    for name in re.findall(r"\{glue:md\}`([^`]+)`", NOTEBOOK):
        assert isinstance(result.glue[name], Markdown), name


def test_results_hold_no_parameters(result):
    """The runner writes the resolved parameters itself."""
    assert set(result.results) == {"inputs", "pooled", "methods", "leave_one_out", "subgroups", "benchmark",
                                   "tki_alone_pfs", "hazard_ratios", "gdsc"}


def test_glued_counts_match_the_pooled_inputs(result):
    orr = result.results["inputs"]["orr"]
    assert result.glue["orr_k"] == len(orr["arm_id"]) == 10
    assert result.glue["orr_patients"] == sum(orr["n"])
    assert result.glue["orr_events"] == sum(orr["events"])
    assert result.glue["alone_pfs_k"] == result.results["tki_alone_pfs"]["arms"] == 4


def test_numbers_by_hand(result):
    assert result.glue["xie_orr"] == pytest.approx(16 / 37)  # XIE19_ORR: 16 of 37 responded
    assert result.glue["weeks16_months"] == pytest.approx(16 * 12 / 52.1775)
    assert result.glue["bench_ratio"] == pytest.approx(result.glue["alone_pfs_p"] / 0.12)
    assert result.glue["orr_one_in"] == round(1 / result.glue["orr_p"])
    # SARC024 HR 0.42 (0.21–0.85) and OLIE 0.54 (0.27–1.08), inverse-variance pooled on the log scale
    se = [(math.log(high) - math.log(low)) / (2 * 1.959963984540054) for low, high in [(0.21, 0.85), (0.27, 1.08)]]
    w = [1 / s**2 for s in se]
    log_hr = (w[0] * math.log(0.42) + w[1] * math.log(0.54)) / sum(w)
    assert result.glue["hr_pooled"] == pytest.approx(math.exp(log_hr), rel=1e-9)
    assert result.glue["regobone_reg"] == "17/26"


def test_reader_tables(result):
    arms = tki.arm_table(result)
    assert len(arms) == sum(len(t) for t in result.tables.values())
    assert set(arms["Count"]) <= {"reported", "rate × n"}
    assert len(tki.method_table(result)) == 2 * len(result.methods["orr"])
    assert len(tki.leave_one_out_table(result)) == result.glue["pfs_k"]
    assert len(tki.grid_table(result)) == len(result.grid) == 6
    pooled = tki.hazard_ratio_table(result).loc[("PFS", "Pooled (2 trials, common effect)")]
    assert pooled["HR"] == round(result.glue["hr_pooled"], 2)
    assert list(tki.gdsc_table(result).index) == [label.replace("GDSC ", "") for label in result.gdsc["label"]]
    assert result.claims.shape == (5, 2)
    assert tki.benchmark_band(result) == (0.12, 0.06, 0.19, "Lagmay 2016 benchmark, 12% (6%–19%)")


def test_other_parameters_change_the_analysis(result):
    other = tki.analyse(**defaults(endpoint="orr", transform="freeman-tukey", tau2_method="DL",
                                   subgroup="tki_family"))
    assert other.glue["endpoint_label"] == "objective response"
    assert len(other.leave_one_out) == other.glue["orr_k"]
    assert other.glue["transform_label"] == "Freeman–Tukey double arcsine"
    assert other.results["inputs"] == result.results["inputs"]
    assert other.glue["orr_p"] != result.glue["orr_p"]
    assert "tki_family" in other.subgroups


@pytest.mark.parametrize("name, value", [("endpoint", "os"), ("transform", "probit"), ("subgroup", "drug"),
                                         ("benchmark", "NOPE"), ("landmark_rule", "3 months")])
def test_unknown_choices_are_refused(name, value):
    with pytest.raises(ParameterError, match=name):
        tki.analyse(**defaults(**{name: value}))


def test_label_tables_cover_the_spec_choices():
    spec = load_chapter("tki").parameters
    assert list(tki.TRANSFORM_LABELS) == spec["transform"]["choices"]
    assert list(tki.ENDPOINT_LABELS) == spec["endpoint"]["choices"]
    assert list(tki.SUBGROUPS) == spec["subgroup"]["choices"]


def test_chapter_module_does_not_draw():
    code = ("import sys, osteobook.chapters.tki\n"
            "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', 'osteobook.plots'))))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
