import jupytext
import papermill
import pytest

from osteobook.engine.params import (
    ParameterError,
    chapter_names,
    check_value,
    load_chapter,
    load_profile,
    parse_cli_value,
    resolve,
)


@pytest.fixture
def evidence():
    return load_chapter("evidence")


def test_unknown_name_lists_allowed(evidence):
    with pytest.raises(ParameterError, match=r"unknown parameter 'landmark_months'.*allowed: .*ci_method"):
        resolve(evidence, {"landmark_months": 6})


def test_wrong_type_names_parameter(evidence):
    with pytest.raises(ParameterError, match=r"'include_unverified' must be bool"):
        resolve(evidence, {"include_unverified": "yes"})


def test_choice_outside_allowed_values(evidence):
    with pytest.raises(ParameterError, match=r"'ci_method' = 'wald' is not allowed \(allowed: 'exact', 'wilson'\)"):
        resolve(evidence, {"ci_method": "wald"})


def test_range_is_enforced(evidence):
    with pytest.raises(ParameterError, match=r"out of range \(allowed: 0.0 to 10.0\)"):
        resolve(evidence, {"landmark_tolerance_weeks": 11.0})


def test_int_is_accepted_for_float(evidence):
    assert check_value(evidence, "landmark_tolerance_weeks", 3) == 3.0


def test_cli_values_are_yaml_scalars():
    assert parse_cli_value("6") == 6 and parse_cli_value("true") is True and parse_cli_value("wilson") == "wilson"


def test_unknown_profile_lists_profiles():
    with pytest.raises(ParameterError, match="no profile 'nope'"):
        load_profile("nope")


@pytest.mark.parametrize("name", chapter_names())
def test_parameters_cell_matches_spec(name):
    """The notebook's own `parameters` cell (used in Jupyter) holds the spec defaults."""
    chapter = load_chapter(name)
    notebook = jupytext.read(chapter.source)
    cell_defaults = {key: eval(info["default"]) for key, info in
                     papermill.inspect_notebook(notebook).items() if key != "results_path"}
    assert cell_defaults == chapter.defaults()


@pytest.mark.parametrize("name", chapter_names())
def test_spec_is_complete(name):
    chapter = load_chapter(name)
    assert "seed" in chapter.parameters
    for key, spec in chapter.parameters.items():
        assert spec.get("help"), f"{name}.{key} has no help text"
