"""Print the built book to PDF for offline and classroom use: one PDF per page, and the whole book in one file.

    python scripts/print_pdf.py                      # the default book -> _build/html/pdf/
    python scripts/print_pdf.py --variant student    # a profile build -> _build/profiles/student/_build/html/pdf/

Each page of the table of contents is printed by headless Chromium (through Playwright, as in the browser
tests) with the theme's print styles: A4, backgrounds on, page numbers in the footer. The pages are then joined
into `osteosarcoma-evidence-book.pdf` with Ghostscript when it is installed (`apt-get install ghostscript`);
without it only the per-page PDFs are written. The PDFs belong to the HTML they were printed from: a re-render of
the book replaces the HTML folder, so run `make pdf` after `make book` (a copy stays in `_build/pdf/<variant>/`).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from osteobook.engine.render import html_dir
from osteobook.paths import variant_dir

BOOK_PDF = "osteosarcoma-evidence-book.pdf"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]
# Print-only adjustments: the article uses the page width, code wraps instead of scrolling, wide tables shrink.
PRINT_CSS = """@media print {
  .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header, .bd-header-article, .prev-next-area,
  .bd-footer, .bd-footer-article, .bd-footer-content, details.hide.above-input,
  button.toggle-button { display: none !important; }
  .bd-page-width, .bd-main .bd-content .bd-article-container, .bd-article { max-width: 100% !important; }
  .bd-container, .bd-main, .bd-content { padding: 0 !important; margin: 0 !important; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  table { font-size: 80% !important; }
  .parameters-box table { font-size: 72% !important; }
  .parameters-box code, table code { overflow-wrap: normal !important; word-break: normal !important; }
  figure, img, svg, tr { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
}"""
FOOTER = ('<div style="font-size:8px;width:100%;padding:0 15mm;display:flex;justify-content:space-between;'
          'color:#555"><span class="title"></span><span><span class="pageNumber"></span> / '
          '<span class="totalPages"></span></span></div>')


def pages(variant: str) -> list[str]:
    """Documents in reading order, from the staged table of contents."""
    toc = yaml.safe_load((variant_dir("stage", variant) / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


def print_pages(html: Path, docs: list[str], out: Path, browser=None) -> list[Path]:
    """Print each document to `out/<doc with / as ->.pdf` (with a Playwright browser, or a headless Chromium)."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as driver:
            chromium = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            try:
                return print_pages(html, docs, out, chromium)
            finally:
                chromium.close()
    printed = []
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    for doc in docs:
        source = html / f"{doc}.html"
        if not source.exists():
            raise SystemExit(f"{source} is missing: build the book first (make book)")
        page.goto(source.as_uri(), wait_until="load")
        page.add_style_tag(content=PRINT_CSS)
        page.emulate_media(media="print")
        page.evaluate("document.fonts.ready")
        target = out / f"{doc.replace('/', '-')}.pdf"
        page.pdf(path=str(target), format="A4", print_background=True, display_header_footer=True,
                 header_template="<span></span>", footer_template=FOOTER,
                 margin={"top": "15mm", "bottom": "18mm", "left": "15mm", "right": "15mm"})
        printed.append(target)
        print(f"printed {doc} -> {target}", file=sys.stderr)
    page.close()
    return printed


def join(parts: list[Path], target: Path) -> bool:
    """One PDF from the pages, with Ghostscript (figures stay vector; images are not downsampled)."""
    gs = shutil.which("gs")
    if gs is None:
        print("Ghostscript (gs) not found: wrote the per-page PDFs only", file=sys.stderr)
        return False
    subprocess.run([gs, "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite", "-dAutoRotatePages=/None",
                    "-dDownsampleColorImages=false", "-dDownsampleGrayImages=false", "-dDownsampleMonoImages=false",
                    f"-sOutputFile={target}", *map(str, parts)], check=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="default", help="default, or a profile/variant name")
    args = parser.parse_args(argv)
    html = html_dir(args.variant)
    work = variant_dir("pdf", args.variant)  # printed here, then copied next to the pages they were printed from
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    printed = print_pages(html, pages(args.variant), work)
    join(printed, work / BOOK_PDF)
    shutil.copytree(work, html / "pdf", dirs_exist_ok=True)
    print(f"PDFs: {html / 'pdf'} (book: {BOOK_PDF}; kept in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
