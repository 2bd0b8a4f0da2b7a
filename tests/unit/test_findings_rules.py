"""The accounting of significant results (engine.findings): what counts, which value decides, and the errors."""
import pytest

from osteobook.engine import findings
from osteobook.errors import ParameterError

RESULTS = {
    "parameters": {"p": 0.001},                                   # never scanned
    "cox": [{"hr": 2.0, "p": 0.01, "ph_p": 0.03},                   # raw p decides (no adjusted value)
            {"hr": 1.1, "p": 0.40, "ph_p": 0.50}],
    "correlations": [{"rho": -0.5, "p": 0.001, "q": 0.004},         # q decides: significant
                     {"rho": 0.2, "p": 0.03, "q": 0.20}],           # p < alpha but q is not: not significant
    "pooled": {"estimate": 0.3, "q": 25.0, "q_p": 0.002},          # Cochran's Q: its p is a model check
    "glmm": {"odds_ratio": 12.8, "p": 0.017, "q": 5.7},            # q > 1 is a Q statistic: the raw p decides
    "pair": {"estimate": 0.1, "q": 0.03, "q_p": 0.86},             # a q beside q_p is Cochran's Q, not a q-value
    "adjusted_only": {"rho": -0.5, "q": 0.001},                    # a q-value without its raw p still counts
    "posterior": {"p_above_0.1": 0.001},                           # a posterior probability, not a test
}


def test_significant_results_with_the_deciding_value():
    found = findings.significant(RESULTS, 0.05)
    assert [f["path"] for f in found] == ["cox/0/p", "cox/0/ph_p", "correlations/0/q", "pooled/q_p",
                                           "glmm/p", "adjusted_only/q"]


def test_alpha_moves_the_line():
    assert [f["path"] for f in findings.significant(RESULTS, 0.005)] == ["correlations/0/q", "pooled/q_p",
                                                                          "adjusted_only/q"]


ENTRIES = ({"match": "cox/*", "what": "Cox models", "shown": "the survival table", "glue": ["cox_text"]},
           {"match": "correlations/*", "what": "correlations", "set_aside": "exploratory"})


def test_account_names_every_unaccounted_result_and_the_file_to_edit():
    with pytest.raises(ParameterError, match=r"3 significant result.*pooled/q_p = 0.002; glmm/p = 0.017; adjusted_only/q.*notebooks/demo.params.yaml"):
        findings.account("demo", RESULTS, ENTRIES, 0.05)
    entries = (*ENTRIES, {"match": "pooled/*", "what": "heterogeneity", "set_aside": "shown in the forest plot"},
               {"match": "glmm/*", "what": "subgroups", "set_aside": "a demonstration"},
               {"match": "adjusted_only/*", "what": "partial correlations", "set_aside": "exploratory"})
    accounted = findings.account("demo", RESULTS, entries, 0.05)
    assert [(a["path"], a["what"]) for a in accounted] == [
        ("cox/0/p", "Cox models"), ("cox/0/ph_p", "Cox models"), ("correlations/0/q", "correlations"),
        ("pooled/q_p", "heterogeneity"), ("glmm/p", "subgroups"), ("adjusted_only/q", "partial correlations")]
    box = findings.findings_box(accounted, 0.05)
    assert "| Cox models | 2 | shown: the survival table |" in box and "| correlations | 1 | set aside: exploratory |" in box


def test_a_chapter_without_declarations_is_not_accounted():
    assert findings.account("demo", RESULTS, None, 0.05) is None and findings.findings_box(None, 0.05) == ""


@pytest.mark.parametrize("entries, message", [
    ({"match": "x"}, "expected a list"),
    ([{"match": "x", "what": "y"}], "entry 1: needs 'match', 'what' and either 'shown'"),
    ([{"match": "x", "what": "y", "shown": "z"}], "with 'glue'"),
    ([{"match": "x", "what": "y", "set_aside": "z", "shown": "w", "glue": []}], "either"),
    ([{"match": "*/*", "what": "y", "set_aside": "z"}], "would cover every result"),
])
def test_bad_declarations_name_the_file_and_entry(entries, message):
    with pytest.raises(ParameterError, match=message):
        findings.check_declarations("demo", entries)
