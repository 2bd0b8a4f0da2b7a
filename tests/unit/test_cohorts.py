"""Cohort loaders: sample-id harmonisation, value checks and the real registry files."""
import pandas as pd
import pyreadr
import pytest

from osteobook.datasets import cohorts
from osteobook.datasets.registry import fetch
from osteobook.errors import DataError


@pytest.mark.parametrize("raw", ["TARGET.40.PASUUH.01A", "TARGET-40-PASUUH-01A", "TARGET_40_PASUUH_01A",
                                 " TARGET-40-PASUUH-01A "])
def test_sample_ids_map_to_the_gdc_form(raw):
    assert cohorts.target_sample_id(raw) == "TARGET-40-PASUUH-01A"


@pytest.mark.parametrize("raw", ["TARGET-40-PASUUH", "TCGA-40-PASUUH-01A", "TARGET-40-PASUU-01A", ""])
def test_malformed_sample_ids_are_refused(raw):
    with pytest.raises(DataError, match="is not a TARGET sample id"):
        cohorts.target_sample_id(raw)


def test_value_check_names_file_column_values_and_allowed():
    frame = pd.DataFrame({"OS": [0, 1, 2, None]})
    with pytest.raises(DataError) as err:
        cohorts.require_values(frame, "OS", [0, 1], "survival.tsv")
    assert str(err.value) == "survival.tsv: column 'OS' has value(s) [2.0]; allowed: [0, 1]"


def test_column_check_names_missing_and_present_columns():
    message = r"clinical.tsv: missing column\(s\) \['sample'\]; columns present: \['id'\]"
    with pytest.raises(DataError, match=message):
        cohorts.require_columns(pd.DataFrame({"id": [1]}), ["sample"], "clinical.tsv")


def test_target_join_matches_85_of_88_tumours():
    joined, matching = cohorts.join_target()
    assert matching["survival"].n_left == 88 and matching["survival"].n_matched == 85
    assert matching["survival"].unmatched == ["TARGET-40-0A4I4E-01A", "TARGET-40-PAKUZU-01A", "TARGET-40-PAPFLB-01A"]
    assert matching["clinical"].n_matched == 88
    assert len(joined) == 85 and joined.index.is_unique
    assert set(joined["os_event"]) == {0, 1}
    assert joined["metastasis_at_diagnosis"].dtype == "boolean"


def test_fractions_that_do_not_sum_to_one_are_refused(tmp_path):
    frame = next(iter(pyreadr.read_r(fetch(cohorts.TARGET_FRACTIONS)).values())).head(3).copy()
    frame.iloc[1, 0] += 0.5
    path = tmp_path / "fractions.rds"
    pyreadr.write_rds(path, frame.reset_index(names="sample").set_index("sample"))
    with pytest.raises(DataError, match="do not sum to 1"):
        cohorts.read_target_fractions(path)


def test_isg_os2_loads_with_stripped_columns_and_current_symbols():
    expression, metadata = cohorts.read_isg_os2()
    assert expression.shape == (770, 62)
    assert list(expression.columns) == list(metadata.index)
    assert "HistologicResponse" in metadata.columns and "Serum_alkaline_phosphatase" in metadata.columns
    assert "CXCL8" in expression.index and "IL8" not in expression.index
    assert set(metadata["PgP_Status"]) == {"Positive", "Negative"}


def test_isg_os2_with_mismatched_patients_is_refused(tmp_path, monkeypatch):
    original = fetch(cohorts.ISG_METADATA)
    edited = tmp_path / "metadata.txt"
    edited.write_text(original.read_text().replace("Pt_62\t", "Pt_99\t"))
    real_fetch = cohorts.fetch
    monkeypatch.setattr(cohorts, "fetch", lambda name: edited if name == cohorts.ISG_METADATA else real_fetch(name))
    message = r"only in Norm_count_table.txt: \['Pt_62'\]; only in metadata.txt: \['Pt_99'\]"
    with pytest.raises(DataError, match=message):
        cohorts.read_isg_os2()


def test_isg_os2_with_unknown_category_is_refused(tmp_path, monkeypatch):
    original = fetch(cohorts.ISG_METADATA)
    edited = tmp_path / "metadata.txt"
    edited.write_text(original.read_text().replace("\tNegative\t", "\tNeg\t", 1))
    real_fetch = cohorts.fetch
    monkeypatch.setattr(cohorts, "fetch", lambda name: edited if name == cohorts.ISG_METADATA else real_fetch(name))
    message = r"metadata.txt: column 'PgP_Status' has value\(s\) \['Neg'\]; allowed"
    with pytest.raises(DataError, match=message):
        cohorts.read_isg_os2()
