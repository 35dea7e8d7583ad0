"""A module's state on disk, written behind the requests that change it.

A mutation only marks the state dirty (O(1)). A background task writes the whole state at
most once per `interval` while it is dirty, and the app writes it once more on shutdown, so a
burst of mutations costs one write however many services there are. What a hard kill loses is
at most the last `interval` of changes; the emulator is a development tool, and a journal
(O(1) per mutation, but compaction and replay) is not worth that second.

Writing is atomic (a temporary file renamed over the old one), so a crash mid-write leaves
the previous state. The snapshot and the write happen on the event loop, which is what keeps
them consistent with the requests mutating the same objects."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class StateFile:
    def __init__(self, path: Path, snapshot: Callable[[], Any], interval: float = 1.0) -> None:
        self.path, self.snapshot, self.interval = path, snapshot, interval
        self.writes = 0  # how many times the file was written (tests count them)
        # A plain flag, not an asyncio.Event: tests mutate stores from threads other than the
        # loop's, and setting a bool is safe from anywhere.
        self._dirty = False

    def read(self) -> Any | None:
        """The state last written, or None when there is none yet."""
        if not self.path.exists():
            return None
        text = self.path.read_text()
        return json.loads(text) if text.strip() else None

    def mark_dirty(self) -> None:
        self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    def flush(self) -> bool:
        """Write the state if it changed since the last write; True if it wrote."""
        if not self._dirty:
            return False
        # Cleared before the snapshot: a change made while writing marks it dirty again.
        self._dirty = False
        try:
            self._write(json.dumps(self.snapshot(), separators=(",", ":")))
        except BaseException:
            self._dirty = True  # the next flush tries again
            raise
        self.writes += 1
        return True

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def run(self) -> None:
        """Flush every `interval` while dirty, until cancelled (the app then flushes once more)."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.flush()
            except (OSError, TypeError, ValueError):
                # A full disk must not stop the emulator serving; the state stays dirty.
                log.exception("writing %s failed; trying again in %ss", self.path, self.interval)
