"""The proportional-hazards score test of `stats.survival.cox_zph` against R `survival::cox.zph` (≥ 3.0).

Tolerance: 1e-8 on chi-square and p (both sides fit the same Cox model to ~1e-8 and the test is a closed form
at the fitted coefficients). lifelines' approximation (`ph_p_approx`, what cox.zph computed before survival
3.0) is reported beside it and differs by more than that, which is why the score test replaced it.
"""
import numpy as np
import pandas as pd
import pytest

from osteobook.stats import survival
from tests.r_reference import run_r


@pytest.fixture(scope="module")
def data():
    """Exponential times, a continuous and a binary covariate, one effect that fades with time (non-PH), ties."""
    rng = np.random.default_rng(11)
    n = 240
    x = rng.normal(size=n)
    z = rng.binomial(1, 0.4, size=n).astype(float)
    t = rng.exponential(1 / np.exp(0.6 * x))
    t = np.where(z == 1, rng.exponential(0.5, size=n) ** 1.8, t)  # z changes the hazard's shape: PH fails
    c = rng.exponential(2.5, size=n)
    return pd.DataFrame({"time": np.ceil(np.minimum(t, c) * 20) / 20 + 0.05, "event": (t <= c).astype(int),
                         "x": x, "z": z})


@pytest.fixture(scope="module")
def r_zph(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("zph") / "data.csv"
    data.to_csv(path, index=False)
    lines = ["library(survival)", f'd <- read.csv("{path}")',
             "f2 <- coxph(Surv(time, event) ~ x + z, data = d)", "f1 <- coxph(Surv(time, event) ~ x, data = d)"]
    for transform in survival.ZPH_TRANSFORMS:
        lines.append(f'z2 <- cox.zph(f2, transform = "{transform}")$table; z1 <- cox.zph(f1, transform = "{transform}")$table')
        lines.append(f'emit("{transform}", list(x = z2["x", "chisq"], z = z2["z", "chisq"], g = z2["GLOBAL", "chisq"], '
                     f'xp = z2["x", "p"], zp = z2["z", "p"], gp = z2["GLOBAL", "p"], one = z1["x", "chisq"]))')
    return run_r("\n".join(lines))


@pytest.mark.r
@pytest.mark.parametrize("transform", survival.ZPH_TRANSFORMS)
def test_score_test_matches_cox_zph(data, r_zph, transform):
    fit = survival.cox(data, "time", "event", ["x", "z"])
    ours = survival.cox_zph(data, "time", "event", ["x", "z"], fit["coef"], transform).set_index("term")
    assert ours.at["x", "chisq"] == pytest.approx(r_zph[f"{transform}.x"], rel=1e-8, abs=1e-10)
    assert ours.at["z", "chisq"] == pytest.approx(r_zph[f"{transform}.z"], rel=1e-8, abs=1e-10)
    assert ours.at["GLOBAL", "chisq"] == pytest.approx(r_zph[f"{transform}.g"], rel=1e-8, abs=1e-10)
    assert ours.at["GLOBAL", "p"] == pytest.approx(r_zph[f"{transform}.gp"], rel=1e-6, abs=1e-12)
    assert ours.at["GLOBAL", "df"] == 2
    single = survival.cox(data, "time", "event", ["x"])
    one = survival.cox_zph(data, "time", "event", ["x"], single["coef"], transform).set_index("term")
    assert one.at["x", "chisq"] == pytest.approx(r_zph[f"{transform}.one"], rel=1e-8, abs=1e-10)
    assert one.at["GLOBAL", "chisq"] == pytest.approx(one.at["x", "chisq"], rel=1e-12)  # one term: the same test


@pytest.mark.r
def test_cox_reports_the_score_test_and_the_old_approximation(data, r_zph):
    rows = survival.cox(data, "time", "event", ["x", "z"]).set_index("term")
    assert rows.at["x", "ph_p"] == pytest.approx(r_zph["km.xp"], rel=1e-6)
    assert rows.at["z", "ph_p"] == pytest.approx(r_zph["km.zp"], rel=1e-6)
    assert rows.at["z", "ph_p"] < 0.05  # the simulated non-proportional effect is detected
    assert list(rows["ph_global_p"]) == pytest.approx([r_zph["km.gp"]] * 2, rel=1e-6)
    assert rows["ph_p_approx"].notna().all() and (rows["ph_p_approx"] != rows["ph_p"]).all()


def test_km_time_transform_is_left_continuous():
    """g(t) = 1 − S(t−): 0 before the first event, and the KM just before each time (ties share it)."""
    times = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    events = np.array([True, True, False, True, False])
    g = survival._time_transform(times, events, "km")
    # S: 4/5 after t=1, 4/5 * 3/4 = 3/5 after t=2, 3/5 * 1/2 = 3/10 after t=3
    assert g == pytest.approx([0.0, 0.2, 0.2, 0.4, 0.7])
