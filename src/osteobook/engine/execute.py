"""Execute chapters with papermill: validated parameters, a content cache, parallel workers.

A chapter is re-executed only when its inputs change: the notebook source, its resolved
parameters, the registry checksums of the data it reads, the curated tables in `data/`, or the
package code. A failing chapter stops with its name, cell and traceback; its previous executed
notebook (and so the last good HTML) is left untouched.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import papermill

from ..datasets import registry
from ..errors import ChapterFailed
from ..paths import DATA, ROOT, results_path, variant_dir
from .params import Chapter, resolve
from .results import load_results, save_results

KERNEL = "python3"


@dataclass(frozen=True)
class Job:
    chapter: Chapter
    parameters: dict[str, Any]
    variant: str

    @property
    def executed(self) -> Path:
        return variant_dir("executed", self.variant) / f"{self.chapter.name}.ipynb"

    @property
    def key_file(self) -> Path:
        return self.executed.with_suffix(".key")

    @property
    def results(self) -> Path:
        return results_path(self.chapter.name, self.variant)


def make_job(chapter: Chapter, overrides: dict[str, Any], variant: str) -> Job:
    return Job(chapter, resolve(chapter, overrides), variant)


def input_key(job: Job) -> str:
    """Hash of everything that can change a chapter's output."""
    digest = hashlib.sha256()
    digest.update(job.chapter.source.read_bytes())
    digest.update(json.dumps(job.parameters, sort_keys=True).encode())
    known = registry.entries()
    for name in job.chapter.data:
        digest.update(f"{name}={known[name].sha256}".encode())
    for path in sorted(_tracked_inputs()):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _tracked_inputs() -> list[Path]:
    package = Path(__file__).parent
    return [*package.rglob("*.py"), *(p for p in DATA.rglob("*") if p.is_file())]


def is_current(job: Job) -> bool:
    return (job.executed.exists() and job.results.exists() and job.key_file.exists()
            and job.key_file.read_text() == input_key(job))


def run(job: Job) -> float:
    """Execute one chapter; return seconds taken. Writes the executed notebook only on success."""
    start = time.perf_counter()
    registry.pin_cache_dir()
    notebook = jupytext.read(job.chapter.source)
    notebook.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    job.results.parent.mkdir(parents=True, exist_ok=True)
    job.executed.parent.mkdir(parents=True, exist_ok=True)
    scratch = job.executed.with_suffix(".running.ipynb")
    # The kernel runs in the executed notebook's folder (so nbval can re-run it in place); the results
    # path is relative to it, so the rendered page shows no local path.
    parameters = {**job.parameters, "results_path": os.path.relpath(job.results, job.executed.parent)}
    try:
        papermill.execute_notebook(notebook, str(scratch), parameters=parameters, kernel_name=KERNEL,
                                   cwd=str(job.executed.parent), progress_bar=False, log_output=False)
    except papermill.PapermillExecutionError as err:
        failed = variant_dir("failed", job.variant) / job.executed.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        scratch.replace(failed)
        raise ChapterFailed(
            f"chapter {job.chapter.name!r} ({job.variant}) failed in cell {err.cell_index} "
            f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
            f"{''.join(err.traceback)}\nThe executed notebook with the error is at {failed}; "
            f"the previous good output was kept."
        ) from None
    if not job.results.exists():
        raise ChapterFailed(f"chapter {job.chapter.name!r} ran but wrote no results file {job.results}")
    save_results(job.results, {**load_results(job.results), "parameters": job.parameters})
    scratch.replace(job.executed)
    job.key_file.write_text(input_key(job))
    return time.perf_counter() - start


def reuse_default(job: Job) -> bool:
    """Copy the default book's outputs when this variant runs the chapter with the same inputs."""
    default = Job(job.chapter, job.parameters, "default")
    if job.variant == "default" or not is_current(default) or default.key_file.read_text() != input_key(job):
        return False
    for source, target in ((default.executed, job.executed), (default.results, job.results),
                           (default.key_file, job.key_file)):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return True


def run_all(jobs: list[Job], workers: int = os.cpu_count() or 1, force: bool = False) -> dict[str, str]:
    """Run the jobs that are not current, `workers` at a time, printing progress. Returns states."""
    states = {job.chapter.name: "cached" for job in jobs}
    pending = [job for job in jobs if force or not (is_current(job) or reuse_default(job))]
    for job in jobs:
        if job not in pending:
            _report(job, "cached (inputs unchanged)")
    if not pending:
        return states
    failures = []
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(pending)))) as pool:
        started = {pool.submit(run, job): (job, time.perf_counter()) for job in pending}
        for job in pending:
            _report(job, "running")
        waiting = set(started)
        while waiting:
            done, waiting = wait(waiting, timeout=30, return_when=FIRST_COMPLETED)
            for future in done:
                job, t0 = started[future]
                try:
                    _report(job, f"done in {future.result():.1f} s")
                    states[job.chapter.name] = "executed"
                except ChapterFailed as err:
                    _report(job, f"FAILED after {time.perf_counter() - t0:.1f} s")
                    states[job.chapter.name] = "failed"
                    failures.append(str(err))
            for future in waiting:
                job, t0 = started[future]
                _report(job, f"still running ({time.perf_counter() - t0:.0f} s)")
    if failures:
        raise ChapterFailed("\n\n".join(failures))
    return states


def _report(job: Job, state: str) -> None:
    print(f"[{job.variant}] {job.chapter.name:<14} {state}", file=sys.stderr, flush=True)
