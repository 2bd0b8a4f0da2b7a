"""Reader tables from `engine.page.html_table` are reproducible: the same table gives the same HTML."""
import pandas as pd

from osteobook.engine.page import html_table


def test_a_styled_table_gets_an_id_from_its_content_not_a_random_one():
    frame = pd.DataFrame({"arm": ["A", "B"], "rate": ["3/35 = 9%", "5/20 = 25%"]})
    first, second = html_table(frame.style).data, html_table(frame.style).data
    assert first == second
    assert html_table(frame.assign(arm=["A", "C"]).style).data != first


def test_an_id_a_chapter_chose_is_kept():
    frame = pd.DataFrame({"a": [1]})
    assert 'id="T_sof_x"' in html_table(frame.style.set_uuid("sof_x")).data
