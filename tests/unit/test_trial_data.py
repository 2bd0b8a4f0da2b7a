"""Data contract of the curated trial tables (data/trial_arms.csv, trial_outcomes.csv, benchmarks.csv)."""
import re
import shutil

import pandas as pd
import pytest

from osteobook.datasets import toxicity, trials
from osteobook.errors import DataError as CuratedDataError
from osteobook.paths import DATA, ROOT

BIBKEYS = set(re.findall(r"@\w+\{([^,]+),", (ROOT / "book" / "bib" / "trials.bib").read_text()))


@pytest.fixture(scope="module")
def arms():
    return trials.load_arms()


@pytest.fixture(scope="module")
def outcomes():
    return trials.load_outcomes()


def test_tables_load_and_ids_are_unique(arms, outcomes):
    assert arms["arm_id"].is_unique and outcomes["outcome_id"].is_unique
    assert trials.load_benchmarks()["benchmark_id"].is_unique


def test_every_citation_resolves(arms):
    for key in [*arms["bibkey"], *trials.load_benchmarks()["bibkey"]]:
        assert key in BIBKEYS, f"bibkey {key!r} is not in book/bib/trials.bib"


def test_every_value_has_a_source(outcomes):
    assert outcomes[["source_url", "source_location", "quote", "source_kind", "status"]].notna().all().all()


def test_counts_agree_with_reported_rates_or_the_conflict_is_explained(outcomes):
    rows = outcomes.dropna(subset=["events", "n", "estimate"])
    rows = rows.loc[rows["endpoint"].isin(trials.PROPORTION_ENDPOINTS)]
    for row in rows.itertuples():
        if abs(row.events / row.n - row.estimate) > 0.006:  # more than rounding to whole percent
            assert "CONFLICT" in row.notes, f"{row.outcome_id}: {row.events}/{row.n} vs {row.estimate} unexplained"


def test_comparator_arms_exist(arms):
    comparators = arms["comparator_arm_id"].dropna()
    assert set(comparators) <= set(arms["arm_id"])


def test_randomised_trials_have_their_control_arms(arms):
    assert {"SARC024_OS_PLACEBO", "REGOBONE_OS_PLACEBO", "OLIE_IE_CONTROL"} <= set(arms["arm_id"])


def test_unverified_values_are_excluded_by_default(outcomes):
    kept = trials.evidence()
    assert (kept["status"] != "unverified").all() and (kept["status_arm"] != "unverified").all()
    everything = trials.evidence(include_unverified=True, osteosarcoma_only=False, prospective_only=False)
    assert len(everything) == len(outcomes)


def test_an_unverified_arm_gates_its_outcomes(tmp_path):
    """A verified outcome of an arm whose own record is unverified is left out (the arm may not exist as stated)."""
    for name in ("trial_arms.csv", "trial_outcomes.csv", "benchmarks.csv"):
        (tmp_path / name).write_text((DATA / name).read_text())
    arms = (tmp_path / "trial_arms.csv").read_text().splitlines()
    line = next(i for i, row in enumerate(arms) if row.startswith("SARC024_OS_REGORAFENIB,"))
    arms[line] = arms[line].replace(",primary,verified,", ",primary,unverified,")
    (tmp_path / "trial_arms.csv").write_text("\n".join(arms) + "\n")
    assert "SARC024_OS_REGORAFENIB" in set(trials.evidence()["arm_id"])
    assert "SARC024_OS_REGORAFENIB" not in set(trials.evidence(tmp_path)["arm_id"])
    assert "SARC024_OS_REGORAFENIB" in set(trials.evidence(tmp_path, include_unverified=True)["arm_id"])


def test_context_rows_stay_out_of_the_evidence_by_default(outcomes):
    arms = trials.load_arms().set_index("arm_id")
    context = outcomes.loc[outcomes["arm_id"].map(arms["design"]).eq("retrospective series")
                           | ~outcomes["arm_id"].map(arms["osteosarcoma_specific"]).astype(bool)]
    assert {"PP15_SIR_MPFS", "KN051_SOLID_ORR"} <= set(context["outcome_id"])
    assert not set(context["outcome_id"]) & set(trials.evidence(include_unverified=True)["outcome_id"])


def test_lagmay_benchmark_is_as_published():
    lagmay = trials.load_benchmarks().set_index("benchmark_id").loc["LAGMAY2016_EFS4"]
    assert (lagmay["n"], lagmay["estimate"], lagmay["ci_low"], lagmay["ci_high"]) == (96, 0.12, 0.06, 0.19)
    assert lagmay["doi"] == "10.1200/JCO.2015.65.5381"


@pytest.fixture
def broken_copy(tmp_path):
    for name in ("trial_arms.csv", "trial_outcomes.csv", "benchmarks.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def test_bad_value_names_file_line_and_column(broken_copy):
    path = broken_copy / "trial_outcomes.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",orr,", ",response_rate,", 1)
    path.write_text("".join(lines))
    with pytest.raises(CuratedDataError) as err:
        trials.load_outcomes(broken_copy)
    assert "trial_outcomes.csv" in str(err.value) and "line 2" in str(err.value) and "'endpoint'" in str(err.value)


def test_percent_instead_of_proportion_is_caught(broken_copy):
    path = broken_copy / "benchmarks.csv"
    path.write_text(path.read_text().replace(",0.12,0.06,0.19,", ",12,6,19,", 1))
    with pytest.raises(CuratedDataError, match=r"(?s)benchmarks.csv.*line 2: column 'estimate'"):
        trials.load_benchmarks(broken_copy)


def test_outcome_for_unknown_arm_is_caught(broken_copy):
    path = broken_copy / "trial_outcomes.csv"
    path.write_text(path.read_text().replace("GRIGNANI2012_SORAFENIB", "GRIGNANI2012_SORAFENIB_X", 1))
    with pytest.raises(CuratedDataError, match=r"line 2: column 'arm_id'.*not an arm_id"):
        trials.load_outcomes(broken_copy)


# ---- toxicity and prespecified targets (data/toxicity.csv, data/trial_targets.csv) ------------------------



TOXICITY_FILES = ("trial_arms.csv", "trial_outcomes.csv", "benchmarks.csv", "toxicity.csv", "trial_targets.csv")


@pytest.fixture
def tox_copy(tmp_path):
    for name in TOXICITY_FILES:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _edit_line(path, startswith: str, old: str, new: str) -> int:
    """Replace `old` by `new` in the first line starting with `startswith`; return its CSV line number."""
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(startswith))
    assert old in lines[index], (old, lines[index])
    lines[index] = lines[index].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n")
    return index + 1


def test_toxicity_table_loads_with_sources_and_known_arms():
    table = toxicity.load_toxicity(include_unverified=True)
    assert table["toxicity_id"].is_unique
    assert table[["source_url", "source_location", "quote", "source_kind", "status"]].notna().all().all()
    assert set(table["arm_id"]) <= set(trials.load_arms()["arm_id"])
    by_id = table.set_index("toxicity_id")
    assert (by_id.at["S24_REG_G34", "events"], by_id.at["S24_REG_G34", "n"]) == (14, 22)
    assert by_id.at["OLIE_LENIE_PTX", "percent"] == 17.9 and by_id.at["OLIE_IE_PTX", "percent"] == 0
    assert by_id.at["G15_DOSEMOD", "percent"] == 66


@pytest.mark.parametrize(("row", "old", "new", "rule"), [
    ("S24_REG_G34,", ",14,22,64,", ",23,22,64,", "events <= n"),
    ("S24_REG_G34,", ",14,22,64,", ",14,22,70,", "printed percent agrees with events/n"),
    ("S24_REG_G34,", ",grade >=3 adverse events,", ",bad things,", "column 'category': value 'bad things'"),
    ("XIE19_DOSEMOD,", ",25,37,67.57,", ",25,,67.57,", "a count comes with its denominator n"),
    ("G15_DISC,", ",,38,5,", ",,38,,", "a count or a percentage is given"),
    ("APFAO_DISC,", ",primary,verified,", ",primary,checked,", "column 'status': value 'checked'"),
])
def test_bad_toxicity_row_is_rejected_with_its_line(tox_copy, row, old, new, rule):
    line = _edit_line(tox_copy / "toxicity.csv", row, old, new)
    with pytest.raises(CuratedDataError) as err:
        toxicity.load_toxicity(tox_copy)
    message = str(err.value)
    assert message.startswith("toxicity.csv: 1 line(s) with problems"), message
    assert f"line {line}: " in message and rule in message, message


def test_toxicity_row_of_unknown_arm_is_rejected(tox_copy):
    line = _edit_line(tox_copy / "toxicity.csv", "RB_REG_SAE,", "REGOBONE_OS_REGORAFENIB", "REGOBONE_OS_X")
    with pytest.raises(CuratedDataError, match=rf"toxicity.csv: line {line}: column 'arm_id'.*not an arm_id"):
        toxicity.load_toxicity(tox_copy)


def test_unverified_toxicity_rows_are_dropped_unless_asked_for(tox_copy):
    _edit_line(tox_copy / "toxicity.csv", "S24_REG_G34,", ",primary,verified,", ",primary,unverified,")
    assert "S24_REG_G34" not in set(toxicity.load_toxicity(tox_copy)["toxicity_id"])
    assert "S24_REG_G34" in set(toxicity.load_toxicity(tox_copy, include_unverified=True)["toxicity_id"])


def test_targets_link_to_their_observed_outcome(tox_copy):
    targets = toxicity.load_targets(include_unverified=True).set_index("target_id")
    outcomes = trials.load_outcomes().set_index("outcome_id")
    for target_id, row in targets.loc[targets["target_kind"] == "rate at least"].iterrows():
        outcome = outcomes.loc[row["observed_outcome_id"]]
        assert outcome["endpoint"] == row["endpoint"] and outcome["landmark_weeks"] == row["landmark_weeks"]
        printed = outcome["estimate"] if pd.isna(outcome["events"]) else outcome["events"] / outcome["n"]
        assert abs(printed - row["observed"]) < 0.006, target_id  # as printed, to its rounding
    _edit_line(tox_copy / "trial_targets.csv", "G15_PFS6_GOAL,", ",G15_PFS6,", ",G15_PFS9,")
    with pytest.raises(CuratedDataError, match="observed_outcome_id.*G15_PFS9"):
        toxicity.load_targets(tox_copy)


def test_target_as_percent_is_rejected(tox_copy):
    _edit_line(tox_copy / "trial_targets.csv", "APFAO_PFS6_GOAL,", ",0.60,0.509,", ",60,50.9,")
    with pytest.raises(CuratedDataError, match=r"(?s)trial_targets.csv.*line 3: column 'target'"):
        toxicity.load_targets(tox_copy)
