"""Outputs are replaced in one step, and a link, a pipe or a device is written, never replaced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from splitinfer.sdk._bundle import atomic_path, atomic_write


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"


def test_a_symlink_is_kept_and_its_target_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_a_pipe_is_written_into_not_replaced(tmp_path: Path) -> None:
    # A pipe stands for every path that is not a regular file (/dev/null, /dev/stdout): the test
    # must never touch a real device, which a regression would replace with a file.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that opening it to write never blocks
    try:
        atomic_write(fifo, b"through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
