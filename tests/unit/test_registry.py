import shutil

import pytest

from osteobook.datasets import registry
from osteobook.errors import DataError

NAME = "isg_os2/metadata.txt"


def test_every_entry_is_complete():
    for entry in registry.entries().values():
        assert entry.url.startswith("https://"), entry.name
        assert len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0, entry.name
        assert entry.description and entry.provenance and entry.citation, entry.name


def test_fetch_returns_checked_file():
    path = registry.fetch(NAME)
    assert registry.sha256(path) == registry.entries()[NAME].sha256


def _copy_to(tmp_path, monkeypatch):
    original = registry.fetch(NAME)
    target = tmp_path / NAME
    target.parent.mkdir(parents=True)
    shutil.copy(original, target)
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path))
    return target


def test_altered_file_is_refused_with_expected_hash(tmp_path, monkeypatch):
    target = _copy_to(tmp_path, monkeypatch)
    target.write_bytes(target.read_bytes().replace(b"1", b"2", 1))
    with pytest.raises(DataError) as err:
        registry.fetch(NAME)
    assert NAME in str(err.value) and registry.entries()[NAME].sha256 in str(err.value)


def test_truncated_file_is_refused(tmp_path, monkeypatch):
    target = _copy_to(tmp_path, monkeypatch)
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(DataError, match="truncated, altered"):
        registry.fetch(NAME)


def test_missing_file_without_network_names_file_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(registry.pooch, "retrieve", _offline)
    with pytest.raises(DataError) as err:
        registry.fetch(NAME)
    assert NAME in str(err.value) and registry.ENV_VAR in str(err.value)


def test_unknown_name_lists_known_files():
    with pytest.raises(DataError, match="known files: .*isg_os2/metadata.txt"):
        registry.fetch("no/such.file")


def _offline(*args, **kwargs):
    raise ConnectionError("network is unreachable")


def test_relative_cache_dir_is_pinned_for_kernels(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv(registry.ENV_VAR, "../data")
    registry.pin_cache_dir()
    assert registry.os.environ[registry.ENV_VAR] == str((tmp_path / "data").resolve())


def test_a_file_missing_from_a_read_only_data_folder_goes_to_the_user_cache(tmp_path, monkeypatch):
    copies, user_cache = tmp_path / "copies", tmp_path / "user-cache"
    (copies / "isg_os2").mkdir(parents=True)
    (copies / "isg_os2" / "metadata.txt").write_text("a copy")
    copies.chmod(0o555)
    monkeypatch.setenv(registry.ENV_VAR, str(copies))
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    try:
        assert registry._location("isg_os2/metadata.txt") == copies / "isg_os2" / "metadata.txt"
        assert registry._location("tmeimmune/estimateScore.py").is_relative_to(user_cache)
        copies.chmod(0o755)
        assert registry._location("tmeimmune/estimateScore.py") == copies / "tmeimmune" / "estimateScore.py"
    finally:
        copies.chmod(0o755)
