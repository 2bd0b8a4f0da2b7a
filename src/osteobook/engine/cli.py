"""`osteobook`: fetch data, execute chapters, build the book.

    osteobook fetch                         fetch and check every registry file
    osteobook run evidence -p ci_method wilson
    osteobook build [--profile NAME] [-p NAME VALUE ...] [--jobs N] [--force]

`build -p name value` sets `name` in every chapter that declares it and builds a one-off variant book
into _build/profiles/<variant>/_build/html (variant named after the overrides unless --variant is given).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys

from ..datasets import registry
from ..errors import OsteobookError
from . import execute, render
from .params import (
    BOOK_KEY,
    broadcast,
    chapter_names,
    chapter_overrides,
    check_name,
    load_chapter,
    load_profile,
    parse_cli_value,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osteobook", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="fetch and check every registry file")
    run = commands.add_parser("run", help="execute one chapter (not rendered)")
    run.add_argument("chapter", choices=chapter_names())
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    run.add_argument("--variant", default="cli", help="output folder name under _build/executed (default: cli)")
    build = commands.add_parser("build", help="execute every chapter and render the HTML book")
    build.add_argument("--profile", help="named parameter profile in profiles/ (builds into its own folder)")
    build.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="set NAME in every chapter that declares it: a one-off variant book")
    build.add_argument("--variant", help="folder name of a one-off variant (default: named after the -p values)")
    # one kernel more than cores: kernels spend part of their start-up waiting, and a clean build is 3 s faster
    build.add_argument("--jobs", type=int, default=(os.cpu_count() or 1) + 1,
                       help="chapters executed at once (default: one more than the cores)")
    build.add_argument("--force", action="store_true", help="re-execute even if inputs are unchanged")
    build.add_argument("--no-html", action="store_true", help="execute only")
    build.add_argument("--chapters", type=lambda text: text.split(","), default=chapter_names(),
                       help="comma-separated chapters to include (default: all)")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            for name, path in registry.fetch_all().items():
                print(f"ok  {name}  ({path})")
        elif args.command == "run":
            overrides = {name: parse_cli_value(value) for name, value in args.parameter}
            job = execute.make_job(load_chapter(args.chapter), overrides, check_name("variant", args.variant))
            execute.run_all([job], workers=1, force=True)
            print(f"executed notebook: {job.executed}\nresults: {job.results}")
        else:
            _build(args)
    except OsteobookError as err:
        print(f"osteobook: {err}", file=sys.stderr)
        return 2
    return 0


def _build(args: argparse.Namespace) -> None:
    profile = load_profile(args.profile) if args.profile else {}
    chapters = [load_chapter(name) for name in args.chapters]
    overrides = {name: parse_cli_value(value) for name, value in args.parameter}
    if overrides:
        profile = _with_overrides(profile, broadcast(overrides, chapters))
    if args.variant and (not overrides or args.variant == "default"):
        raise OsteobookError("--variant names a one-off build with -p NAME VALUE (not 'default'); "
                             "use --profile for a profile")
    variant = check_name("variant", args.variant) if args.variant else (
        _variant_name(args.profile, overrides) if overrides else args.profile or "default")
    registry.fetch_all()
    per_chapter = chapter_overrides(profile)
    jobs = [execute.make_job(chapter, per_chapter.get(chapter.name, {}), variant) for chapter in chapters]
    execute.run_all(jobs, workers=args.jobs, force=args.force)
    if not args.no_html:
        staged, changed = render.stage(variant, {job.chapter.name: job.executed for job in jobs}, profile)
        print(f"HTML: {render.build_html(variant, staged, changed)}")


def _with_overrides(profile: dict, overrides: dict[str, dict]) -> dict:
    """The profile with `build -p` values on top, chapter by chapter (its `book` configuration kept)."""
    merged = {name: dict(values) for name, values in chapter_overrides(profile).items()}
    for chapter, values in overrides.items():
        merged.setdefault(chapter, {}).update(values)
    return {**({BOOK_KEY: profile[BOOK_KEY]} if BOOK_KEY in profile else {}), **merged}


def _variant_name(profile: str | None, overrides: dict) -> str:
    """A folder name for a one-off build: the profile and the -p values (a hash if that is too long)."""
    text = "-".join([*([profile] if profile else []), *(f"{key}-{value}" for key, value in sorted(overrides.items()))])
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")
    if len(name) > 64 or not name:
        digest = hashlib.sha256(json.dumps([profile, overrides], sort_keys=True, default=str).encode()).hexdigest()
        name = f"variant-{digest[:12]}"
    return check_name("variant", name)


if __name__ == "__main__":
    sys.exit(main())
