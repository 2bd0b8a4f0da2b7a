"""Chapter parameters: declared with type, default and allowed values; checked before execution.

Each chapter `notebooks/<name>.md` has a spec `notebooks/<name>.params.yaml`, its single source of truth:

    title: The clinical evidence base
    part: Clinical evidence          # the book part it belongs to (table of contents)
    order: 10                        # position in the book (parts follow their first chapter)
    bibliography: [book/bib/trials.bib]
    data: [registry names the chapter reads]
    parameters:
      ci_method: {type: str, default: exact, choices: {exact: exact (Clopper–Pearson), wilson: Wilson score}}
      landmark_weeks: {type: float, default: 17.4, min: 4, max: 52}

`choices` is a list of allowed values or a mapping from each allowed value to its label for readers.

papermill only warns about unknown names and injects wrong types as given, so every override
passes through `resolve` first.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ParameterError
from ..paths import NOTEBOOKS, PROFILES
from .findings import check_declarations

TYPES = {"str": str, "int": int, "float": float, "bool": bool, "list": list}
BOOK_KEY = "book"  # reserved in profiles (Jupyter Book configuration), so no chapter may take this name


@dataclass(frozen=True)
class Chapter:
    name: str
    title: str
    source: Path
    part: str
    order: int
    bibliography: tuple[str, ...]
    data: tuple[str, ...]
    parameters: dict[str, dict[str, Any]] = field(repr=False)
    findings: tuple[dict[str, Any], ...] | None = field(default=None, repr=False)  # see engine.findings

    def defaults(self) -> dict[str, Any]:
        return {key: spec["default"] for key, spec in self.parameters.items()}

    def label(self, key: str, value: Any) -> str:
        """The readers' label of an allowed value (the value itself when the spec gives none)."""
        choices = self.parameters[key].get("choices", {})
        return str(choices.get(value, value)) if isinstance(choices, dict) else str(value)


def load_chapter(name: str, folder: Path = NOTEBOOKS) -> Chapter:
    if name == BOOK_KEY:
        raise ParameterError(f"{BOOK_KEY!r} is reserved (a profile's Jupyter Book configuration): "
                             "it cannot be a chapter name")
    spec_file = folder / f"{name}.params.yaml"
    if not spec_file.exists():
        raise ParameterError(f"no chapter {name!r}: {spec_file} is missing; chapters: {', '.join(chapter_names(folder))}")
    spec = read_yaml(spec_file)
    missing = [key for key in ("title", "part", "order", "parameters") if key not in spec]
    if missing:
        raise ParameterError(f"{spec_file}: missing key(s) {missing}; a chapter spec needs title, part, order, "
                             "parameters (and optionally bibliography, data)")
    chapter = Chapter(name=name, title=spec["title"], source=folder / f"{name}.md", part=spec["part"],
                      order=int(spec["order"]), bibliography=tuple(spec.get("bibliography", [])),
                      data=tuple(spec.get("data", [])), parameters=spec["parameters"],
                      findings=check_declarations(name, spec.get("findings")))
    for key, param in chapter.parameters.items():  # the spec's own defaults must pass its rules
        if not isinstance(param, dict) or param.get("type") not in TYPES or "default" not in param:
            raise ParameterError(f"{spec_file}: parameter {key!r} needs a 'type' ({', '.join(TYPES)}) and a "
                                 f"'default'; found {param!r}")
        check_value(chapter, key, param["default"])
    return chapter


def chapter_names(folder: Path = NOTEBOOKS) -> list[str]:
    return sorted(p.name.removesuffix(".params.yaml") for p in folder.glob("*.params.yaml"))


def check_value(chapter: Chapter, key: str, value: Any) -> Any:
    """Return `value` converted to the declared type, or raise naming the parameter and its allowed values."""
    if key not in chapter.parameters:
        raise ParameterError(
            f"{chapter.name}: unknown parameter {key!r}; allowed: {', '.join(sorted(chapter.parameters))}")
    spec = chapter.parameters[key]
    kind = TYPES[spec["type"]]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ParameterError(f"{chapter.name}: parameter {key!r} must be {spec['type']}, got {value!r}"
                             f"{_allowed(spec)}")
    if kind is float and not math.isfinite(value):
        raise ParameterError(f"{chapter.name}: parameter {key!r} must be a finite number, got {value!r}{_allowed(spec)}")
    values = value if kind is list else [value]
    for item in values:
        if "choices" in spec and item not in list(spec["choices"]):
            raise ParameterError(f"{chapter.name}: parameter {key!r} = {item!r} is not allowed{_allowed(spec)}")
        if "min" in spec and item < spec["min"] or "max" in spec and item > spec["max"]:
            raise ParameterError(f"{chapter.name}: parameter {key!r} = {item!r} is out of range{_allowed(spec)}")
    return value


def _allowed(spec: dict[str, Any]) -> str:
    if "choices" in spec:
        return f" (allowed: {', '.join(map(repr, spec['choices']))})"
    if "min" in spec or "max" in spec:
        return f" (allowed: {spec.get('min', '-inf')} to {spec.get('max', 'inf')})"
    return ""


def resolve(chapter: Chapter, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults updated with validated overrides."""
    resolved = chapter.defaults()
    resolved.update({key: check_value(chapter, key, value) for key, value in overrides.items()})
    return resolved


def validate(name: str, values: dict[str, Any]) -> Chapter:
    """Check a chapter's own arguments against its spec (so plain papermill runs are checked too).

    `values` holds the spec's parameters that the caller uses (e.g. `locals()` of `analyse`); names the
    spec does not declare are ignored. Returns the chapter spec (for labels).
    """
    chapter = load_chapter(name)
    for key, value in values.items():
        if key in chapter.parameters:
            check_value(chapter, key, value)
    return chapter


def parse_cli_value(text: str) -> Any:
    """`-p name value` values are YAML scalars: 6 -> int, 6.5 -> float, true -> bool, exact -> str."""
    return yaml.safe_load(text)


def read_yaml(path: Path) -> Any:
    """YAML from `path`; a syntax error names the file, line and column."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParameterError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None


SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def check_name(kind: str, name: str) -> str:
    """Variant and profile names become folder names: letters, digits, '_' and '-' only."""
    if not SAFE_NAME.match(name):
        raise ParameterError(f"{kind} name {name!r} is not allowed: use letters, digits, '_' and '-' "
                             "(at most 64 characters, starting with a letter or digit)")
    return name


def load_profile(name: str, folder: Path = PROFILES) -> dict[str, dict[str, Any]]:
    """A named profile: `{chapter: {parameter: value}}`, validated against every chapter's spec.

    The reserved key `book` holds Jupyter Book configuration that is deep-merged into the staged
    `_config.yml` (e.g. `book: {sphinx: {config: {hide_solutions: true}}}` for a student build).
    """
    path = folder / f"{check_name('profile', name)}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ParameterError(f"no profile {name!r} in {folder}; profiles: {', '.join(known)}")
    profile = read_yaml(path) or {}
    if not isinstance(profile, dict) or not isinstance(profile.get(BOOK_KEY, {}), dict):
        raise ParameterError(f"{path}: a profile maps chapter names to {{parameter: value}} and '{BOOK_KEY}' to "
                             "Jupyter Book configuration (a mapping merged into _config.yml)")
    for chapter_name, overrides in chapter_overrides(profile).items():
        resolve(load_chapter(chapter_name), overrides)
    return profile


def chapter_overrides(profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `{chapter: {parameter: value}}` part of a profile (without its `book` configuration)."""
    return {name: overrides or {} for name, overrides in profile.items() if name != BOOK_KEY}


def book_config(profile: dict[str, Any]) -> dict[str, Any]:
    """The Jupyter Book configuration a profile merges into `_config.yml` (empty if none)."""
    return profile.get(BOOK_KEY) or {}


def broadcast(overrides: dict[str, Any], chapters: list[Chapter]) -> dict[str, dict[str, Any]]:
    """`osteobook build -p name value`: each value goes to every chapter that declares `name`, validated there.

    A name that no chapter of the build declares is an error naming the parameters that exist.
    """
    for key in overrides:
        if not any(key in chapter.parameters for chapter in chapters):
            known = sorted({name for chapter in chapters for name in chapter.parameters})
            raise ParameterError(f"no chapter in this build declares parameter {key!r}; parameters: {', '.join(known)}")
    return {chapter.name: {key: check_value(chapter, key, value) for key, value in overrides.items()
                           if key in chapter.parameters}
            for chapter in chapters if any(key in chapter.parameters for key in overrides)}
