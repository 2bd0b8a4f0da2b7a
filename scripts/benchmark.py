"""Build-time benchmark: clean build, no-change rebuild, and rebuild after editing one chapter.

Runs in a scratch build folder (OSTEOBOOK_BUILD_ROOT), so the project's own _build is untouched.
Targets (2 cores): a clean build within 45 s, a no-change rebuild within 5% of it, an edited chapter
re-executed alone, and each chapter page at most 1.5 MB with everything it loads (HTML, images, scripts,
styles and fonts a browser with an empty cache fetches for it).
Usage: python scripts/benchmark.py [--chapter evidence] [--output benchmarks/build-times.md]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OSTEOBOOK = Path(sys.executable).with_name("osteobook")


def timed_build(build_root: Path) -> tuple[float, list[str]]:
    """Seconds for one `osteobook build`, and the chapters it executed."""
    env = {**os.environ, "OSTEOBOOK_BUILD_ROOT": str(build_root)}
    start = time.perf_counter()
    run = subprocess.run([str(OSTEOBOOK), "build"], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if run.returncode:
        sys.exit(f"build failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return seconds, re.findall(r"^\[default\] (\S+)\s+done in", run.stderr, flags=re.MULTILINE)


def page_weights(pages: list[Path]) -> dict[str, int]:
    """Bytes a browser with an empty cache fetches for each page (every response body, after fonts load),
    measured in headless Chromium as the browser tests do."""
    from playwright.sync_api import sync_playwright

    weights = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for page_file in pages:
            page = browser.new_page()
            sizes: dict[str, int] = {}
            page.on("requestfinished", lambda request, sizes=sizes: sizes.__setitem__(
                request.url, len(request.response().body())))
            page.goto(page_file.as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            page.wait_for_load_state("networkidle")
            weights[page_file.stem] = sum(sizes.values())
            page.close()
        browser.close()
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chapter", default="evidence", help="chapter to edit for the third build")
    parser.add_argument("--output", type=Path, help="also write the report (markdown) here")
    parser.add_argument("--clean-runs", type=int, default=3, help="clean builds timed (the median is reported)")
    args = parser.parse_args()
    source = ROOT / "notebooks" / f"{args.chapter}.md"
    cleans = []
    for _ in range(args.clean_runs - 1):  # clean builds vary by a few seconds on a shared machine: take the median
        with tempfile.TemporaryDirectory() as scratch:
            cleans.append(timed_build(Path(scratch))[0])
    with tempfile.TemporaryDirectory() as scratch:
        last, executed_clean = timed_build(Path(scratch))
        clean = statistics.median([*cleans, last])
        spread = f" (median of {len(cleans) + 1}: {min(*cleans, last):.1f}–{max(*cleans, last):.1f} s)" if cleans else ""
        pages = sorted((Path(scratch) / "_build" / "html" / "notebooks").glob("*.html"))
        weights = page_weights(pages)
        unchanged, executed_unchanged = timed_build(Path(scratch))
        original = source.read_text()
        try:
            source.write_text(original + "\n<!-- benchmark edit -->\n")
            edited, executed_edited = timed_build(Path(scratch))
        finally:
            source.write_text(original)
    ratio = unchanged / clean
    report = "\n".join([
        f"# Build-time benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)",
        "",
        "| build | seconds | chapters executed |",
        "|---|---:|---|",
        f"| clean{spread} | {clean:.1f} | {', '.join(executed_clean)} |",
        f"| no change | {unchanged:.1f} | {', '.join(executed_unchanged) or 'none'} |",
        f"| `{args.chapter}` edited | {edited:.1f} | {', '.join(executed_edited) or 'none'} |",
        "",
        f"Clean build {clean:.1f} s (target ≤ 45 s): {'met' if clean <= 45 else 'NOT met'}.",
        f"No-change rebuild / clean build = {ratio:.1%} (target ≤ 5%): {'met' if ratio <= 0.05 else 'NOT met'}.",
        f"Edited chapter re-executed alone: {'yes' if executed_edited == [args.chapter] else 'NO'}.",
        "",
        "| chapter page | MB with everything it loads (target ≤ 1.5) |",
        "|---|---:|",
        *(f"| {name} | {size / 1e6:.2f}{'' if size <= 1.5e6 else ' (over)'} |" for name, size in weights.items()),
    ])
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report + "\n")


if __name__ == "__main__":
    main()
