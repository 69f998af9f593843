"""A stop signal as a request: the work in hand (a training step, a batch of sample files)
completes first.

``train_gan`` and ``sample.write_samples`` both run under ``StopOnSignal``. The first of
Ctrl-C (SIGINT, a notebook's interrupt button), SIGTERM (a batch scheduler, ``docker stop``,
``kill``) or SIGHUP (a closed terminal) sets ``requested`` and ``signum`` and calls
``on_stop(signum)``; the caller stops at its next safe point, and the command line exits
with ``exit_status(signum)``. A second signal gets the handler that was there before:
Ctrl-C raises ``KeyboardInterrupt``, SIGTERM ends the process at once. A signal that was
ignored (SIGHUP under ``nohup``) stays ignored. Outside the main thread (a widget's
training thread) signals cannot be caught, and nothing is changed.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable, Optional

# Ctrl-C, and what a batch scheduler, `docker stop`, `kill` or a closed terminal sends
# (Windows has no SIGHUP)
STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if hasattr(signal, name)
)


def exit_status(stop_signal: Optional[int]) -> int:
    """The exit status of a command a signal stopped cleanly.

    0 for none or Ctrl-C (the person asked), else 128 + the signal's number (SIGTERM
    143, SIGHUP 129), as a shell reports a process that signal ended.
    """
    return 0 if stop_signal in (None, signal.SIGINT) else 128 + stop_signal


class StopOnSignal:
    """``with StopOnSignal(on_stop) as stop:`` the first stop signal sets ``stop.requested``
    and ``stop.signum`` (and calls ``on_stop(signum)``); a second one is not caught."""

    def __init__(self, on_stop: Optional[Callable[[int], None]] = None):
        self.on_stop, self.requested, self.signum = on_stop, False, None
        self.previous: dict = {}  # signal -> the handler it had before

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if not self.requested:
            self.requested, self.signum = True, signum
            if self.on_stop is not None:
                self.on_stop(signum)
            return
        # a second signal: what would have happened without us
        previous = self.previous.get(signum)
        self.__exit__()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.raise_signal(signum)

    def __exit__(self, *exc) -> None:
        for signum, previous in self.previous.items():
            # None: a handler set outside Python; the default stands in for it
            signal.signal(
                signum, signal.SIG_DFL if previous is None else previous
            )
        self.previous = {}
