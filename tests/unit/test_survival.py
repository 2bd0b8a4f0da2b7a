"""Cox models, splits and log-rank tests: checks against simulation and against R's survival package."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from osteobook.errors import DataError
from osteobook.plots.survival import plot_forest, plot_km
from osteobook.stats import survival
from tests.r_reference import run_r


@pytest.fixture
def simulated():
    """Exponential times with log hazard ratio 0.7 per unit of x, random censoring, rounded to create ties."""
    rng = np.random.default_rng(7)
    n = 400
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    t = rng.exponential(1 / np.exp(0.7 * x))
    c = rng.exponential(2.0, size=n)
    return pd.DataFrame({"time": np.ceil(np.minimum(t, c) * 20) / 20, "event": (t <= c).astype(int), "x": x, "z": z})


def test_cox_recovers_the_simulated_hazard_ratio(simulated):
    row = survival.cox(simulated, "time", "event", ["x"]).iloc[0]
    assert row["coef"] == pytest.approx(0.7, abs=0.15)
    assert row["ci_low"] < np.exp(0.7) < row["ci_high"]
    assert row["n"] == 400 and row["events"] == simulated["event"].sum()
    assert row["ph_p"] > 0.01  # proportional hazards hold by construction


def test_per_sd_scales_the_coefficient(simulated):
    raw = survival.cox(simulated, "time", "event", ["x"]).iloc[0]
    per_sd = survival.cox(simulated, "time", "event", ["x"], per_sd=["x"]).iloc[0]
    assert per_sd["coef"] == pytest.approx(raw["coef"] * simulated["x"].std(), rel=1e-6)
    assert per_sd["p"] == pytest.approx(raw["p"], rel=1e-6)


@pytest.mark.r
def test_cox_matches_r_survival_with_ties(simulated, tmp_path):
    path = tmp_path / "sim.csv"
    simulated.to_csv(path, index=False)
    ours = survival.cox(simulated, "time", "event", ["x", "z"]).set_index("term")
    r = run_r(f"""
        library(survival)
        d <- read.csv("{path}")
        s <- summary(coxph(Surv(time, event) ~ x + z, data = d))$coefficients
        emit("x", list(coef = s["x", "coef"], se = s["x", "se(coef)"], p = s["x", "Pr(>|z|)"]))
        emit("z", list(coef = s["z", "coef"], se = s["z", "se(coef)"]))
    """)
    assert ours.at["x", "coef"] == pytest.approx(r["x.coef"], abs=1e-6)
    assert ours.at["x", "se"] == pytest.approx(r["x.se"], abs=1e-6)
    assert ours.at["x", "p"] == pytest.approx(r["x.p"], rel=1e-4)
    assert ours.at["z", "coef"] == pytest.approx(r["z.coef"], abs=1e-6)


@pytest.mark.r
def test_logrank_matches_r_survdiff(simulated, tmp_path):
    simulated["group"] = survival.split_high_low(simulated["x"], "median")
    path = tmp_path / "sim.csv"
    simulated.to_csv(path, index=False)
    ours = survival.logrank(simulated, "time", "event", "group")
    r = run_r(f"""
        library(survival)
        d <- read.csv("{path}")
        emit("lr", list(chisq = survdiff(Surv(time, event) ~ group, data = d)$chisq))
    """)
    assert ours["chi2"] == pytest.approx(r["lr.chisq"], rel=1e-6)


def test_split_rules_cut_at_their_quantile():
    values = pd.Series(np.arange(1, 101, dtype=float), name="f")
    assert (survival.split_high_low(values, "median") == "high").sum() == 50
    assert (survival.split_high_low(values, "upper_quartile") == "high").sum() == 25
    with pytest.raises(ValueError, match=r"'split rule' = 'mean' is not allowed"):
        survival.split_high_low(values, "mean")


@pytest.mark.parametrize("change,message", [
    (lambda d: d.drop(columns="event"), r"missing column\(s\) \['event'\]"),
    (lambda d: d.assign(time=-d["time"]), "'time' must be > 0"),
    (lambda d: d.assign(event=d["event"] * 2), "'event' must hold 0 .censored. or 1"),
    (lambda d: d.assign(event=0), "has no events"),
])
def test_bad_survival_data_is_refused_by_name(simulated, change, message):
    with pytest.raises(DataError, match=message):
        survival.cox(change(simulated), "time", "event", ["x"])


def test_constant_covariate_cannot_be_standardised(simulated):
    with pytest.raises(DataError, match="'x' is constant"):
        survival.cox(simulated.assign(x=1.0), "time", "event", ["x"], per_sd=["x"])


def test_logrank_needs_both_groups(simulated):
    with pytest.raises(DataError, match="both 'high' and 'low'"):
        survival.logrank(simulated.assign(group="high"), "time", "event", "group")


def test_plots_draw_without_error(simulated):
    simulated["group"] = survival.split_high_low(simulated["x"], "median")
    fig, (left, right) = plt.subplots(1, 2)
    plot_km(left, survival.kaplan_meier(simulated, "time", "event", "group"), {"low": "#0072B2", "high": "#D55E00"})
    plot_forest(right, survival.univariable_cox(simulated, "time", "event", ["x", "z"]))
    assert len(left.get_lines()) >= 2 and len(right.get_yticks()) == 2
    plt.close(fig)
