"""Weights fingerprints by content: streamed file digests with their cache, model folders,
and the store key of a run with ``--model-path``."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from pytest_ureason.models.fingerprint import (
    clear_digest_memo,
    content_fingerprint,
    digest_cache_dir,
    file_digest,
    model_files,
)


def _model(folder: Path, weights: bytes = b"\x01" * 4096) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "demo"}')
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "tokenizer").mkdir()
    (folder / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    return folder


def _rewrite_keeping_stat(path: Path, data: bytes) -> None:
    """New bytes of the same size, with the old modification time put back."""
    stat = path.stat()
    assert len(data) == stat.st_size
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_file_digest_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one read chunk
    path = tmp_path / "w.bin"
    path.write_bytes(data)
    assert file_digest(path) == hashlib.sha256(data).hexdigest()
    with pytest.raises(OSError):
        file_digest(tmp_path / "missing.bin")


def test_second_digest_reads_the_cache_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"a" * 1000)
    first = file_digest(path)
    assert any(digest_cache_dir().iterdir())  # kept on disk for other processes
    # Same path, size and mtime: the cached digest is returned and the file is not read (the
    # new bytes go unnoticed, which proves it).
    _rewrite_keeping_stat(path, b"b" * 1000)
    assert file_digest(path) == first
    clear_digest_memo()  # a new process: the on-disk cache answers
    assert file_digest(path) == first
    shutil.rmtree(digest_cache_dir())
    clear_digest_memo()
    assert file_digest(path) == hashlib.sha256(b"b" * 1000).hexdigest()
    # A write that moves the modification time is noticed.
    path.write_bytes(b"c" * 1000)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert file_digest(path) == hashlib.sha256(b"c" * 1000).hexdigest()


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("UREASON_DIGEST_CACHE", str(blocker / "digests"))
    path = tmp_path / "w.bin"
    path.write_bytes(b"xyz")
    assert file_digest(path) == hashlib.sha256(b"xyz").hexdigest()


def test_content_fingerprint_follows_content_not_names_or_times(tmp_path: Path) -> None:
    model = _model(tmp_path / "model")
    fp = content_fingerprint(model)
    assert len(fp) == 16
    # The same weights copied elsewhere, under another folder name: the same fingerprint.
    copy = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(model, copy)
    assert content_fingerprint(copy) == fp
    # Touching a file, or adding files that are not weights or configs: unchanged.
    weights = model / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    (model / "README.md").write_text("notes")
    (model / ".cache").mkdir()
    (model / ".cache" / "lock.json").write_text("{}")
    assert content_fingerprint(model) == fp
    assert [p.name for p in model_files(model)] == ["config.json", "model.safetensors", "vocab.txt"]
    # Weights replaced in place, same name and size: a new fingerprint.
    weights.write_bytes(b"\x02" * 4096)
    changed = content_fingerprint(model)
    assert changed != fp
    # So does a tokenizer or config change, or a file moved inside the folder.
    (model / "tokenizer" / "vocab.txt").write_text("a\nc\n")
    assert content_fingerprint(model) not in (fp, changed)
    # A single file is fingerprinted by its bytes; a missing path says so.
    assert content_fingerprint(weights) == hashlib.sha256(b"\x02" * 4096).hexdigest()[:16]
    assert content_fingerprint(tmp_path / "nowhere") == "missing"


def test_the_store_key_follows_the_weights_content(tmp_path: Path) -> None:
    """A run's model fingerprint (and so every store key) changes when weights are replaced in
    place and stays when the same weights are run from another folder."""
    from pytest_ureason.reference.model import ReferenceModel
    from pytest_ureason.run.harness import Harness
    from pytest_ureason.run.store import Store

    model = _model(tmp_path / "weights")
    store = Store(tmp_path / "store")

    def fingerprint(path: Path) -> str:
        return Harness(ReferenceModel(), store, model_path=str(path)).fingerprint

    first = fingerprint(model)
    copy = tmp_path / "copy"
    shutil.copytree(model, copy)
    assert fingerprint(copy) == first
    _rewrite_keeping_stat(model / "model.safetensors", b"\x03" * 4096)
    clear_digest_memo()
    shutil.rmtree(digest_cache_dir())  # as if the digests were taken on another machine
    assert fingerprint(model) != first
