"""The Co et al. ROS model: equation, steady states, folds, CAF scenarios and bad inputs."""
import math

import numpy as np
import pandas as pd
import pytest

from osteobook.datasets import model_parameters
from osteobook.errors import DataError as CuratedDataError
from osteobook.models import ros as rm
from tests.r_reference import run_r


@pytest.fixture(scope="module")
def p():
    return rm.RosParameters.from_values(model_parameters.load())


def test_table_gives_the_published_values(p):
    assert p == rm.RosParameters(c=0.1, kd=0.26, kf=1.2, k_nox=1, n_nox=3, kg=1.5, k_gsh=2, n_gsh=3, s_max=10, e_half=3)


def test_table_errors_name_the_file_and_the_problem(tmp_path):
    table = pd.read_csv(model_parameters.PARAMETER_TABLE, dtype=str)
    table.loc[table["parameter"] == "kg", "status"] = "unverified"
    table.to_csv(tmp_path / "params.csv", index=False)
    with pytest.raises(ValueError, match=r"(?s)params.csv.*'kg'"):
        model_parameters.load(tmp_path / "params.csv")
    assert model_parameters.load(tmp_path / "params.csv", include_unverified=True)["kg"] == 1.5
    table.loc[0, "value"] = "-1"
    table.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(CuratedDataError, match=r"(?s)bad.csv.*line 2.*'value'"):
        model_parameters.load(tmp_path / "bad.csv")


def test_rate_is_the_written_equation(p):
    x, s = 1.7, 2.0
    by_hand = 0.1 - 0.26 * x + 1.2 * x**3 / (x**3 + 1) - x * 1.5 / (1 + s) * 8 / (x**3 + 8)
    assert rm.rate(x, 1 / (1 + s), p) == pytest.approx(by_hand, abs=1e-14)


def test_rate_slope_matches_finite_differences(p):
    for x in (0.2, 1.0, 3.5):
        h = 1e-6
        numeric = (rm.rate(x + h, 0.3, p) - rm.rate(x - h, 0.3, p)) / (2 * h)
        assert rm.rate_slope(x, 0.3, p) == pytest.approx(numeric, rel=1e-6)


def test_stress_map_and_its_inverse(p):
    e = np.array([0.0, 0.15, 2.5, 40.0])
    assert rm.erastin_for_stress(rm.stress(e, p), p) == pytest.approx(e)
    assert rm.erastin_for_stress(p.s_max, p) == np.inf
    with pytest.raises(ValueError, match="erastin"):
        rm.stress(-1.0, p)


def test_without_erastin_there_is_one_low_state(p):
    states = rm.steady_states(1.0, p)
    assert len(states) == 1 and states[0] < 0.1
    assert rm.rate_slope(states[0], 1.0, p) < 0


def test_folds_satisfy_both_conditions(p):
    for fold in rm.fold_points(p):
        assert abs(rm.rate(fold.x, fold.m, p)) < 1e-12
        assert abs(rm.rate_slope(fold.x, fold.m, p)) < 1e-9
    collapse, onset = rm.fold_points(p)
    assert collapse.x < onset.x and collapse.m < onset.m


def test_three_states_inside_the_window_one_outside(p):
    t = rm.thresholds(p)
    for dose, expected in ((t["erastin_onset"] * 0.9, 1), (2.5, 3), (t["erastin_collapse"] * 1.1, 1)):
        assert len(rm.steady_states(float(rm.erastin_multiplier(dose, p)), p)) == expected


@pytest.mark.parametrize("scenario", rm.SCENARIOS)
def test_scenarios_agree_without_caf_and_invert(scenario, p):
    s = np.array([0.0, 1.0, 7.5])
    assert rm.multiplier(s, 0.0, scenario) == pytest.approx(1 / (1 + s))
    for a in (0.0, 0.05, 0.2):
        m = float(rm.multiplier(4.0, a, scenario))
        assert rm.stress_for_multiplier(m, a, scenario) == pytest.approx(4.0)
    assert rm.thresholds(p, 0.0, scenario) == pytest.approx(rm.thresholds(p, 0.0, "bypass"))


def test_bad_caf_inputs_name_the_parameter_and_choices(p):
    with pytest.raises(ValueError, match=r"'caf_scenario' = 'paracrine' is not allowed \(allowed: 'capacity', 'stress', 'bypass'\)"):
        rm.multiplier(1.0, 0.1, "paracrine")
    with pytest.raises(ValueError, match=r"caf support must be in \[0, 1\)"):
        rm.thresholds(p, 1.2, "stress")
    with pytest.raises(ValueError, match="'fold' = 'middle' is not allowed"):
        rm.critical_caf(p, "bypass", "middle")


def test_critical_caf_is_where_the_threshold_leaves_reach(p):
    for scenario in rm.SCENARIOS:
        a = rm.critical_caf(p, scenario, "collapse")
        assert rm.thresholds(p, a * 0.99, scenario)["reachable_collapse"]
        assert not rm.thresholds(p, min(a * 1.01, 0.999), scenario)["reachable_collapse"]
    collapse, _ = rm.fold_points(p)
    assert rm.critical_caf(p, "bypass") == pytest.approx(((1 + p.s_max) * collapse.m - 1) / p.s_max)
    assert math.isnan(rm.critical_caf(p, "capacity", "onset"))


def test_integration_settles_on_the_branch_it_starts_in(p):
    low, middle, high = rm.steady_states(float(rm.erastin_multiplier(2.5, p)), p)
    assert rm.simulate(middle - 0.02, 2.5, p).y[0, -1] == pytest.approx(low, abs=1e-6)
    assert rm.simulate(middle + 0.02, 2.5, p).y[0, -1] == pytest.approx(high, abs=1e-6)


def test_grid_count_matches_closed_form_thresholds(p):
    erastin, caf = np.array([0.2, 1.0, 5.0, 30.0]), np.array([0.0, 0.01, 0.1])
    counts = rm.regions(erastin, caf, p, "bypass")
    for i, a in enumerate(caf):
        t = rm.thresholds(p, a, "bypass")
        expected = [3 if t["erastin_onset"] < e < t["erastin_collapse"] else 1 for e in erastin]
        assert counts[i].tolist() == expected


@pytest.mark.r
def test_steady_states_agree_with_r_uniroot(p):
    code = ("f <- function(x) 0.1 - 0.26*x + 1.2*x^3/(x^3+1) - x*1.5/(1+10*2.5/5.5)*8/(x^3+8);"
            "g <- seq(1e-6, 5, length.out = 20001); v <- f(g); i <- which(v[-1]*v[-length(v)] < 0);"
            "r <- sapply(i, function(k) uniroot(f, c(g[k], g[k+1]), tol = 1e-12)$root);"
            "emit('root', setNames(as.list(r), seq_along(r)))")
    r_roots = list(run_r(code).values())
    assert rm.steady_states(float(rm.erastin_multiplier(2.5, p)), p) == pytest.approx(r_roots, abs=1e-8)


def test_batch_folds_agree_with_the_scalar_fold_search(p):
    # The vectorised search (grid + bisection) against `fold_points` (grid + brentq) for a few parameter sets.
    from dataclasses import replace

    kg = np.array([1.2, 1.5, 1.8])
    s_max = np.array([8.0, 10.0, 20.0])
    batch = rm.batch_critical_bypass({"kg": kg, "s_max": s_max}, p)
    for i, (g, s) in enumerate(zip(kg, s_max, strict=True)):
        changed = replace(p, kg=g, s_max=s)
        collapse, onset = rm.fold_points(changed)
        assert batch.loc[i, "m_collapse"] == pytest.approx(collapse.m, abs=1e-10)
        assert batch.loc[i, "m_onset"] == pytest.approx(onset.m, abs=1e-10)
        assert batch.loc[i, "crit_collapse"] == pytest.approx(rm.critical_caf(changed, "bypass", "collapse"), abs=1e-9)
        assert batch.loc[i, "crit_onset"] == pytest.approx(rm.critical_caf(changed, "bypass", "onset"), abs=1e-9)
    assert batch["bistable"].all()


def test_batch_marks_a_monostable_set_and_clips_the_bypass(p):
    # Without positive feedback there is no fold: the set is not bistable and its folds are missing.
    batch = rm.batch_folds({"kf": np.array([0.0, 1.2])}, p)
    assert list(batch["bistable"]) == [False, True] and math.isnan(batch.loc[0, "m_collapse"])
    assert rm.bypass_for_multiplier(np.array([0.05, 0.5, np.nan]), np.array([10.0, 10.0, 10.0])) == pytest.approx(
        [0.0, (11 * 0.5 - 1) / 10, np.nan], nan_ok=True)


def test_latin_hypercube_stays_in_the_ranges_and_follows_the_seed(p):
    ranges = model_parameters.load_ranges()
    a, b = rm.latin_hypercube(p, ranges, 20, 1), rm.latin_hypercube(p, ranges, 20, 1)
    pd.testing.assert_frame_equal(a, b)
    assert not rm.latin_hypercube(p, ranges, 20, 2)["kg"].equals(a["kg"])
    for row in ranges.itertuples():
        assert a[row.parameter].between(row.low, row.high).all()
        # one draw in each of the 20 equal strata: the Latin-hypercube property
        strata = np.floor((a[row.parameter] - row.low) / (row.high - row.low) * 20).astype(int)
        assert sorted(strata) == list(range(20))
    with pytest.raises(ValueError, match="at least 2"):
        rm.latin_hypercube(p, ranges, 1, 1)


def test_fold_points_table_is_the_authors_values():
    assert model_parameters.load_fold_points() == {"onset": 1.15412476, "collapse": 7.9640262}
