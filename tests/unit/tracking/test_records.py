"""Atomic result files: all or nothing, and readable by others as a plain write would be."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from framework.tracking.records import atomic_file, write_json_atomic


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_files_get_the_mode_of_a_plain_write(umask: int, tmp_path: Path) -> None:
    old = os.umask(umask)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        write_json_atomic(tmp_path / "run.json", {"a": 1})
        with atomic_file(tmp_path / "model.ckpt", "wb") as f:
            f.write(b"\0")
    finally:
        os.umask(old)
    expected = stat.S_IMODE(plain.stat().st_mode)
    assert expected == 0o666 & ~umask
    for name in ("run.json", "model.ckpt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_json_atomic(target, {"status": "running"})
    with pytest.raises(RuntimeError), atomic_file(target) as f:
        f.write('{"status": "fin')
        raise RuntimeError("killed")
    assert target.read_text().startswith("{\n") and "running" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
