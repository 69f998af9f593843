"""Widget messages handled between training steps, on the kernel's main thread.

A Jupyter kernel handles one message at a time. While a cell (or a button's callback) trains in
the foreground, a click on Stop is a message waiting in line behind it. ``WidgetMessages`` is a
``Callback`` that, every time the loop logs, takes the messages waiting on the kernel's shell
channel and handles the widget ones (comm messages: a click, a slider moved) at once, on this
thread; every other request (a cell run meanwhile) is put back and runs after training, in the
order it came. No thread is started: every widget update stays on the main thread, which is
the only thread whose updates Colab shows.

Outside a kernel (a script, the tests) it does nothing. It knows two kernel designs: ipykernel
5 and 6 read the shell channel in the main thread (``do_one_iteration`` handles one message),
ipykernel 7 reads it in a thread of its own and passes each message to the main thread
through an in-process socket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Optional

from ..callbacks import Callback

COMM_TYPES = {"comm_open", "comm_msg", "comm_close"}
log = logging.getLogger(__name__)


def _kernel() -> Any:
    """The ipykernel kernel this code runs in, or None (plain Python, a test)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None)


def _finish(awaitable) -> None:
    """Run a coroutine that does not wait for anything (a comm handler) to its end, right here."""
    if not asyncio.iscoroutine(awaitable):
        return  # ipykernel 5: a tornado future, already run up to its end
    try:
        awaitable.send(None)
    except StopIteration:
        return
    awaitable.close()
    log.warning(
        "a widget message handler waited for something; it was not finished"
    )


class WidgetMessages(Callback):
    """Handle waiting widget messages at every log of ``train_gan`` (use it as a context manager).

    ``handled`` counts the widget messages handled, ``deferred`` the other requests put back.
    """

    def __init__(self, kernel: Any = "auto", max_messages: int = 50):
        self.kernel = _kernel() if kernel == "auto" else kernel
        self.max_messages = max_messages
        self.handled = 0
        self.deferred: list = []
        self._restore: Optional[Callable[[], None]] = None

    # -- the context: intercept other requests while training, run them afterwards ----------

    def __enter__(self) -> "WidgetMessages":
        k = self.kernel
        if (
            k is not None
            and not self._threaded_shell()
            and hasattr(k, "do_one_iteration")
        ):
            handlers = k.shell_handlers
            original = handlers["execute_request"]

            def later(
                stream, ident, parent
            ):  # a cell run during training: keep it for afterwards
                self.deferred.append((stream, ident, parent))

            handlers["execute_request"] = later
            self._restore = lambda: handlers.__setitem__(
                "execute_request", original
            )
        return self

    def __exit__(self, *exc) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
        if self.deferred:
            deferred, self.deferred = self.deferred, []
            asyncio.ensure_future(self._replay(deferred))

    async def _replay(self, deferred: list) -> None:
        k = self.kernel
        for item in deferred:
            if (
                self._threaded_shell()
            ):  # ipykernel 7: the raw message, back through the main shell
                await k.shell_main(None, item)
            else:  # ipykernel 5/6: the execute request that was intercepted
                stream, ident, parent = item
                k.set_parent(ident, parent)
                result = k.execute_request(stream, ident, parent)
                if asyncio.iscoroutine(result) or isinstance(
                    result, asyncio.Future
                ):
                    await result
                try:
                    k._publish_status("idle", "shell")  # ipykernel 6
                except TypeError:
                    k._publish_status("idle")  # ipykernel 5

    # -- the callback ------------------------------------------------------------------------

    def on_log(self, state, records) -> None:
        self.poll()

    def on_sample(self, state, images) -> None:
        self.poll()

    def poll(self) -> int:
        """Handle the widget messages waiting now; returns how many were handled."""
        k = self.kernel
        if k is None:
            return 0
        parent = self._parent()
        try:
            n = (
                self._poll_threaded()
                if self._threaded_shell()
                else self._poll_main()
            )
        finally:
            # output goes on to the cell (or callback) that is training
            self._set_parent(parent)
        self.handled += n
        return n

    def _threaded_shell(self) -> bool:
        return (
            bool(getattr(self.kernel, "_supports_kernel_subshells", False))
            and getattr(self.kernel, "shell_channel_thread", None) is not None
        )

    def _parent(self):
        """The request the kernel is answering now (its output goes there): (ident, parent header)."""
        k = self.kernel
        if hasattr(k, "_get_shell_context_var"):  # ipykernel 7
            return k._get_shell_context_var(k._shell_parent_ident), k.get_parent(
                "shell"
            )
        ident = getattr(k, "_parent_ident", None)
        # ipykernel 6 keeps one per channel
        ident = ident.get("shell") if isinstance(ident, dict) else ident
        parent = (
            k.get_parent("shell")
            if hasattr(k, "get_parent")
            else getattr(k, "_parent_header", None)
        )
        return ident, parent

    def _set_parent(self, saved) -> None:
        ident, parent = saved
        if parent is not None:
            # the shell channel (ipykernel 5 knows no other)
            self.kernel.set_parent(ident, parent)

    def _poll_main(self) -> int:
        """ipykernel 5/6: ``do_one_iteration`` handles one message (execute requests are intercepted)."""
        k, n = self.kernel, 0
        queue = getattr(k, "msg_queue", None)
        for _ in range(self.max_messages):
            # reads the shell socket, handles at most one message
            _finish(k.do_one_iteration())
            n += 1
            if queue is None or queue.qsize() == 0:
                break
        return n

    def _poll_threaded(self) -> int:
        """ipykernel 7: read the main shell's in-process socket; comm messages now, the rest later."""
        import zmq

        k, n = self.kernel, 0
        socket = (
            k.shell_channel_thread.manager.get_shell_channel_to_subshell_pair(
                None
            ).to_socket
        )
        for _ in range(self.max_messages):
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            try:
                _, rest = k.session.feed_identities(frames, copy=False)
                msg_type = k.session.deserialize(rest, content=False, copy=False)[
                    "header"
                ]["msg_type"]
            except (
                Exception
            ):  # not a message we can read: let the kernel deal with it later
                msg_type = None
            if msg_type in COMM_TYPES:
                _finish(
                    k.dispatch_shell(frames, subshell_id=None, concurrent=True)
                )
                n += 1
            else:
                self.deferred.append(frames)
        return n
