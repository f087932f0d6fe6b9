"""The shared progress bar: one redrawn line on a terminal, a line per tenth elsewhere, count, rate, ETA."""

from __future__ import annotations

import io

from segviewer.commands.progress import ProgressBar, format_duration


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_redraws_one_line_with_count_rate_and_eta(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    out = Terminal()
    with ProgressBar("evaluating", 4, stream=out) as bar:
        bar(1)
        line = bar.line()
        bar(4)
    text = out.getvalue()
    assert "1/4" in line and "img/s" in line and "ETA" in line
    assert text.count("\r\033[K") == 2 and text.endswith("\n")  # two draws (the first and the last), one line
    assert "4/4" in text and "in 0:0" in text


def test_log_gets_a_line_per_tenth_and_notes_do_not_tear_it():
    out = io.StringIO()
    bar = ProgressBar("predicting", 100, unit="frames", stream=out)
    for done in range(1, 101):
        bar(done)
    bar.note("segviewer: warning: something")
    lines = out.getvalue().splitlines()
    assert len(lines) == 12 and lines[-2].startswith("predicting  [#") and "100/100" in lines[-2]
    assert lines[-1] == "segviewer: warning: something" and "frames/s" in lines[0]


def test_suffix_shows_extra_figures_such_as_the_loss():
    out = io.StringIO()
    bar = ProgressBar("epoch 3", 10, unit="batches", stream=out)
    bar(5, suffix="loss 0.4321")
    assert out.getvalue().rstrip().endswith("loss 0.4321") and "5/10" in out.getvalue()


def test_unknown_total_counts_without_a_bar():
    out = io.StringIO()
    bar = ProgressBar("reading", None, stream=out)
    bar(100)
    assert "reading  100  " in out.getvalue() and "[" not in out.getvalue()


def test_format_duration():
    assert [format_duration(s) for s in (7, 750, 3723)] == ["0:07", "12:30", "1:02:03"]
