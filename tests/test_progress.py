"""Progress on stderr: a bar drawn in place on a terminal; in a log (CI, a file, a pipe) a plain
line every interval once the work has run that long, and nothing for work that ends sooner."""

from __future__ import annotations

import io
import time

from splitinfer.converters._progress import progress


class Log(io.StringIO):
    """A stream that is not a terminal, as a CI job's log."""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def slow_work(bar, steps: int, pause: float) -> None:
    for _ in range(steps):
        time.sleep(pause)
        bar.update(1)
    bar.close()


def test_in_a_log_long_work_prints_plain_lines_with_its_counts_and_the_final_one() -> None:
    log = Log()
    bar = progress(total=40, desc="label minilm", unit="case", stream=log, log_interval=0.2)
    bar.set_postfix_str("slice 1")  # a new postfix alone draws nothing in a log
    slow_work(bar, 40, 0.02)  # 0.8 s: about four lines, not one per update
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and all(lines)
    assert 2 <= len(lines) <= 20, lines
    assert all(line.startswith("label minilm: ") for line in lines)
    assert lines[-1].startswith("label minilm: 40/40 [")
    assert len(set(lines)) == len(lines)  # the final count is not drawn twice


def test_in_a_log_work_shorter_than_the_interval_prints_nothing() -> None:
    log = Log()
    for _ in progress(range(5), desc="eval", unit="case", stream=log, log_interval=60):
        pass
    assert log.getvalue() == ""


def test_on_a_terminal_the_bar_is_drawn_in_place() -> None:
    terminal = Terminal()
    for _ in progress(range(3), desc="eval", unit="case", stream=terminal):
        pass
    text = terminal.getvalue()
    assert "\r" in text and "eval: 100%" in text and "3/3" in text


def test_disabled_progress_prints_nothing_anywhere() -> None:
    terminal = Terminal()
    bar = progress(total=3, desc="convert", unit="stage", enabled=False, stream=terminal, log_interval=0)
    slow_work(bar, 3, 0.01)
    assert terminal.getvalue() == ""
