"""Two executions with the same parameters give byte-identical results files."""
import pytest

from osteobook.engine import execute
from osteobook.engine.params import chapter_names, load_chapter
from osteobook.paths import results_path

pytestmark = pytest.mark.book


@pytest.mark.parametrize("name", chapter_names())
def test_rerun_reproduces_results(name):
    built = results_path(name, "default")
    if not built.exists():
        pytest.fail(f"{built} is missing: run `make book` first")
    job = execute.make_job(load_chapter(name), {}, "determinism")
    execute.run(job)
    assert job.results.read_bytes() == built.read_bytes(), f"{name}: a re-run changed its results"
