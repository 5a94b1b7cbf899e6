"""Progress of a batch job: a rich bar on a terminal, plain periodic lines otherwise.

Logs and CI capture stdout; a bar redrawn with carriage returns is noise there,
so without a terminal a line is printed every few seconds instead.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

ORDER = ("remove", "escalate", "label", "require_disclosure", "none", "error", "skipped")
_STYLE = {
    "remove": "bold white on red",
    "escalate": "bold red",
    "label": "yellow",
    "require_disclosure": "magenta",
    "none": "green",
    "error": "red",
    "skipped": "red",
}


# at this width and below, the bar and the elapsed time give way to the essentials
NARROW = 100
# label, "100000/100000", "999.9/s", "ETA", "0:00:00" and the spaces between them
ESSENTIALS_WIDTH = 46


def bar_columns(label: str, width: int) -> list[ProgressColumn]:
    """The bar's columns for a terminal `width` wide: count, rate and ETA always fit.

    Those three never wrap; the action counts come last and are cut with an
    ellipsis when the line is full, so on 80 columns or less the essentials stay.
    """
    essentials: list[ProgressColumn] = [
        MofNCompleteColumn(table_column=Column(no_wrap=True)),
        TextColumn("{task.fields[rate]:.1f}/s", table_column=Column(no_wrap=True)),
        TextColumn("ETA", table_column=Column(no_wrap=True)),
        TimeRemainingColumn(table_column=Column(no_wrap=True)),
    ]
    if width <= NARROW:
        # what the essentials leave (they take ~45 columns at 10^5 files); rich would
        # otherwise squeeze every column alike and cut the count first
        room = width - ESSENTIALS_WIDTH
        columns: list[ProgressColumn] = [TextColumn(f"[bold]{label}[/]"), *essentials]
        if room >= 8:
            columns.append(_counts(Column(no_wrap=True, overflow="ellipsis", max_width=room)))
        return columns
    return [
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        *essentials,
        TimeElapsedColumn(),
        _counts(Column(no_wrap=True, overflow="ellipsis")),
    ]


def _counts(column: Column) -> TextColumn:
    return TextColumn("{task.fields[counts]}", table_column=column)


def _bucket(row: dict[str, Any]) -> str:
    return row.get("action") or row.get("status") or "error"


class BatchProgress:
    """The `progress` callback of `run_job`; use as a context manager."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        plain: bool | None = None,
        every=5.0,
        label: str = "batch",
    ):
        self.stream = stream or sys.stdout
        self.label = label
        self.plain = (not self.stream.isatty()) if plain is None else plain
        self.every = every
        self.counts: Counter[str] = Counter()
        self.total = 0
        self.already = 0
        self.seen = 0
        self.job = ""
        self._started = time.monotonic()
        self._last_line = 0.0
        self._bar: Progress | None = None
        self._task = None

    def __enter__(self) -> BatchProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, event: str, payload: dict[str, Any]) -> None:
        if event == "start":
            self.total, self.already, self.job = payload["total"], payload["done"], payload["job"]
            self._started = time.monotonic()
            if self.plain:
                self._line(force=True)
            else:
                self._start_bar()
        elif event == "file":
            self.seen += 1
            self.counts[_bucket(payload["row"])] += 1
            if self.plain:
                self._line()
            else:
                self._update_bar()
        elif event == "end":
            if self.plain:
                self._line(force=True)
            elif self._bar is not None:
                self._update_bar()
                self._bar.stop()
                self._bar = None

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.seen / elapsed if elapsed > 0 else 0.0

    def counts_text(self, markup: bool = False) -> str:
        parts = []
        for name in ORDER:
            if self.counts.get(name):
                text = f"{name} {self.counts[name]}"
                parts.append(f"[{_STYLE[name]}]{text}[/]" if markup else text)
        return ", ".join(parts) or "-"

    def _line(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_line < self.every:
            return
        self._last_line = now
        done = self.already + self.seen
        pct = 100.0 * done / self.total if self.total else 100.0
        left = self.total - done
        eta = f"{left / self.rate:.0f}s" if self.rate > 0 and left > 0 else "-"
        self.stream.write(
            f"batch {self.job}: {done}/{self.total} files ({pct:.0f}%), "
            f"{self.rate:.1f} files/s, ETA {eta} | {self.counts_text()}\n"
        )
        self.stream.flush()

    def _start_bar(self) -> None:
        console = Console(file=self.stream)
        self._bar = Progress(
            *bar_columns(self.label, console.width),
            console=console,
            refresh_per_second=4,
            # only the bar's own stream goes above it: a scan's JSON rows on stdout
            # stay on stdout while the bar is drawn on stderr
            redirect_stdout=self.stream is sys.stdout,
            redirect_stderr=self.stream is sys.stderr,
        )
        self._task = self._bar.add_task(
            "batch", total=self.total, completed=self.already, rate=0.0, counts="-"
        )
        self._bar.start()

    def _update_bar(self) -> None:
        if self._bar is None or self._task is None:
            return
        self._bar.update(
            self._task,
            completed=self.already + self.seen,
            rate=self.rate,
            counts=self.counts_text(markup=True),
        )
