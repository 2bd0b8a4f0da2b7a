"""Other chapters' summary-of-findings tables (one question computed alone) equal the certainty chapter's."""
import pytest

from osteobook.chapters import certainty
from osteobook.engine.params import load_chapter


@pytest.fixture(scope="module")
def full():
    return certainty.analyse(**load_chapter("certainty").defaults())


@pytest.mark.parametrize("question", list(certainty.QUESTIONS))
def test_one_question_alone_gives_the_same_table_and_footnotes(full, question):
    assert certainty.sof_table(question).data.equals(certainty.sof_table(question, full).data)
    assert certainty.sof_footnotes(question) == certainty.sof_footnotes(question, full)


def test_each_chapter_glues_the_footnotes_of_its_own_questions():
    assert set(certainty.sof_glue("tki")) == {"sof_footnotes_tki_response", "sof_footnotes_tki_landmark",
                                              "sof_footnotes_tki_hr"}
    assert set(certainty.sof_glue("mtor")) == {"sof_footnotes_mtor_pfs"}
