"""Progress of long runs (import, provisioning, migrations): a bar on a terminal, a line every few
seconds otherwise (CI logs, systemd journals)."""

import sys
import time

from tqdm import tqdm


class Progress:
    # The run shown last, so that an interrupted command can say how far it got.
    latest: "Progress | None" = None

    def __init__(self, total: int, description: str, stream=None, every_seconds: float = 5.0):
        Progress.latest = self
        self.total = total
        self.description = description
        self.stream = stream or sys.stderr
        self.every_seconds = every_seconds
        self.done = 0
        self.started = time.monotonic()
        self._last_line = self.started
        self._bar = (
            tqdm(total=total, desc=description, unit="schema", file=self.stream)
            if self.stream.isatty()
            else None
        )

    def update(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
            return
        now = time.monotonic()
        if now - self._last_line >= self.every_seconds or self.done >= self.total:
            self._last_line = now
            elapsed = now - self.started
            self.stream.write(
                f"{self.description}: {self.done}/{self.total} "
                f"({100 * self.done / max(self.total, 1):.0f}%, {elapsed:.0f} s)\n"
            )
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NoProgress:
    def update(self, count: int = 1) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass
