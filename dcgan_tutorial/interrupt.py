"""Ctrl-C as a request: the work in hand (a training step, a batch of sample files) completes first.

``train_gan`` and ``sample.write_samples`` both run under ``StopOnCtrlC``: SIGINT (Ctrl-C, a
notebook's interrupt button) sets ``requested`` and calls ``on_stop``, and the caller stops at
its next safe point. Outside the main thread (a widget's training thread) signals cannot be
caught, and nothing is changed.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable, Optional


class StopOnCtrlC:
    """``with StopOnCtrlC(on_stop) as ctrl_c:`` SIGINT sets ``ctrl_c.requested`` (and calls ``on_stop``)."""

    def __init__(self, on_stop: Optional[Callable[[], None]] = None):
        self.on_stop, self.requested, self.previous = on_stop, False, None

    def __enter__(self) -> "StopOnCtrlC":
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True
        if self.on_stop is not None:
            self.on_stop()

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
