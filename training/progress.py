"""Progress reporting for long steps: timed lines on stderr, silenced by ``--quiet``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Reporter:
    """Prints ``• step ... done (1.2 s)`` lines on stderr; does nothing when quiet."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        # soft_wrap: a long path stays on one line (rich wraps at 80 columns in a pipe)
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message)

    def warn(self, message: str) -> None:
        """A line the user must see (printed even when quiet): something is probably wrong
        with the input although the job went on."""
        self.console.print("[yellow]warning:[/yellow] ", end="")
        self.console.print(message.strip(), markup=False, highlight=False, soft_wrap=True)

    def text(self, text: str) -> None:
        """Print plain text (tables) as is: no markup, no wrapping."""
        if not self.quiet:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None:
        """Progress callback: ``(message)`` or ``(stage, done, total)``; counted stages are
        reported once, when complete, to keep logs short."""
        if done is None:
            self.info(f"  [dim]{message}[/dim]")
        elif done == total:
            self.info(f"  [dim]{message}: {done:,}[/dim]")

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        if self.quiet:
            yield
            return
        start = time.perf_counter()
        with self.console.status(f"{message} ..."):
            yield
        self.console.print(
            f"[green]✓[/green] {message} [dim]({time.perf_counter() - start:.1f} s)[/dim]"
        )
