"""The layout of a run folder, in one place: what ``python -m dcgan_tutorial train --out RUN_DIR`` writes.

RUN_DIR/checkpoint.pt            the latest checkpoint (written atomically)
RUN_DIR/checkpoints/step_*.pt    the last few checkpoints (``--keep``)
RUN_DIR/progress/step_*.png      the fixed-noise grid every ``sample_every`` steps
RUN_DIR/losses.png               the loss and D-output curves
RUN_DIR/training.gif             the fixed-noise grids as an animation
RUN_DIR/history.json             the curves' numbers
RUN_DIR/best_generator.pt        with --fid-every: the generator of the lowest FID so far (a generator file)
RUN_DIR/fid_history.json         with --fid-every: every FID measured, and the best
RUN_DIR/ema_generator.pt         with --ema-decay: the moving average of G's weights (a generator file)
RUN_DIR/.lock                    while a run writes the folder: its process id, host and start time
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

CHECKPOINT_NAME = "checkpoint.pt"
LOCK_NAME = ".lock"
FRESH_LOCK_SECONDS = 10  # a lock file with no readable content yet is being written (if younger than this)


def kept_checkpoint_name(step: int) -> str:
    """The file name of the checkpoint kept for ``step`` (``--keep``)."""
    return f"step_{step:07d}.pt"


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder (nothing is created until something is written)."""

    root: Path

    def __init__(self, root: str | os.PathLike):
        object.__setattr__(self, "root", Path(root))

    @property
    def checkpoint(self) -> Path:
        return self.root / CHECKPOINT_NAME

    @property
    def kept_checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def kept_checkpoint(self, step: int) -> Path:
        return self.kept_checkpoints / kept_checkpoint_name(step)

    @property
    def progress(self) -> Path:
        return self.root / "progress"

    def progress_image(self, step: int) -> Path:
        return self.progress / f"step_{step:06d}.png"

    @property
    def losses(self) -> Path:
        return self.root / "losses.png"

    @property
    def gif(self) -> Path:
        return self.root / "training.gif"

    @property
    def history(self) -> Path:
        return self.root / "history.json"

    @property
    def best_generator(self) -> Path:
        return self.root / "best_generator.pt"

    @property
    def fid_history(self) -> Path:
        return self.root / "fid_history.json"

    @property
    def ema_generator(self) -> Path:
        return self.root / "ema_generator.pt"

    @property
    def lock_file(self) -> Path:
        return self.root / LOCK_NAME

    def lock(self) -> "RunFolderLock":
        """``with folder.lock():`` this process is the folder's one writer; a second gets ``RunFolderBusy``."""
        return RunFolderLock(self)


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """A checkpoint file, or a run folder meaning its latest checkpoint (``RUN_DIR/checkpoint.pt``)."""
    path = Path(path)
    return RunFolder(path).checkpoint if path.is_dir() else path


class RunFolderError(ValueError):
    """An output folder cannot be used (it holds another run, or cannot be written); the message says why."""


def ensure_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check a file can be written there; a ``RunFolderError`` if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise RunFolderError(
            f"--out {str(folder)!r} cannot be written ({err.strerror}): choose a folder you can "
            f"write to"
        ) from err
    return folder


class DiskFullError(Exception):
    """A write failed because the disk (or the user's quota) is full.

    The message names the folder and its free space.
    """


# no space left on the device; disk quota exceeded
DISK_FULL = (
    errno.ENOSPC,
    errno.EDQUOT,
)


def _size(nbytes: float) -> str:
    """A number of bytes as people read it: 812 KiB, 3.4 MiB, 1.2 GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return (
        f"{nbytes / 2**10:,.0f} KiB" if nbytes >= 2**10 else f"{nbytes:.0f} bytes"
    )


def disk_full(
    err: BaseException,
    folder: str | os.PathLike,
    what: str,
    needed: Optional[int] = None,
) -> Optional[DiskFullError]:
    """A ``DiskFullError`` if ``err`` is a full disk, else None.

    The error says that ``what`` (``needed`` bytes, when known) could not be written to
    ``folder``.
    """
    if not isinstance(err, OSError) or err.errno not in DISK_FULL:
        return None
    try:
        space = f"{_size(shutil.disk_usage(folder).free)} free"
    except OSError:
        space = "free space unknown"
    if needed is not None:
        space += f", {_size(needed)} needed"
    quota = " or your disk quota" if err.errno == errno.EDQUOT else ""
    return DiskFullError(
        f"the disk holding {folder} is full{quota} ({space}): {what} could not be written. The "
        f"previous file is intact and nothing half-written was left: free some space (or choose "
        f"another --out), then run again; a training run continues with --resume RUN_DIR"
    )


def write_atomically(
    path: str | os.PathLike, data: bytes | memoryview, fsync: bool = True
) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed over it when complete.

    ``path`` holds the old complete file or the new one, whatever happens; ``fsync`` also flushes
    the new one to the disk before the rename (for checkpoints). Every writer of the package
    renders a file in memory first and writes it here, so a full disk surfaces as the operating
    system's ``ENOSPC`` (not as whatever a PNG, GIF or zip writer makes of it), the temporary
    file is removed, and a ``DiskFullError`` names the folder, its free space and the space needed.
    """
    path, view = Path(path), memoryview(data).cast("B")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        try:
            while view:  # os.write may write part of it: a full disk fails on the next call
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(
            tmp, 0o666 & ~_umask()
        )  # mkstemp makes owner-only files; give the usual mode
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        full = disk_full(err, path.parent, path.name, memoryview(data).nbytes)
        if full is not None:
            raise full from err
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class RunFolderBusy(RunFolderError):
    """Another process that is still running writes this run folder (its ``.lock`` names it)."""


def _process_started(pid: int) -> Optional[str]:
    """When process ``pid`` started (clock ticks after boot, from Linux's /proc), or None where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _holder_alive(holder: dict[str, Any]) -> bool:
    """Whether the process named by a lock still runs. Another host's process cannot be checked: it counts."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    if (
        os.name == "nt"
    ):  # Windows has no signal 0 (os.kill would stop the process): assume it runs
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to another user
        pass
    # a dead holder's pid may since belong to a newer process
    started = _process_started(pid)
    return (
        holder.get("process_started") is None
        or started is None
        or started == holder["process_started"]
    )


class RunFolderLock:
    """``RUN_DIR/.lock``, created with O_CREAT|O_EXCL (one process wins), removed when the run ends.

    A lock whose process is gone (killed, crashed, a closed laptop's kernel) is stale: the next
    run takes it over. Two runs taking over the same stale lock cannot both win: the takeover
    happens under a second exclusive file, ``.lock.break``, and only removes the very lock it judged.
    """

    def __init__(self, folder: RunFolder):
        self.folder, self.path, self.content = folder, folder.lock_file, b""

    def _read(self) -> tuple[bytes, Optional[dict[str, Any]]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return b"", None
        try:
            holder = json.loads(raw)
            return raw, holder if isinstance(holder, dict) else {}
        except ValueError:
            # empty or damaged: its writer died before finishing it, or is writing it now
            return (
                raw,
                {},
            )

    def _stale(self, holder: dict[str, Any]) -> bool:
        if not holder:
            try:
                return (
                    time.time() - self.path.stat().st_mtime > FRESH_LOCK_SECONDS
                )
            except FileNotFoundError:
                return True
        return not _holder_alive(holder)

    def _take_over(self, seen: bytes) -> None:
        guard = self.path.with_name(LOCK_NAME + ".break")
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except (
            FileExistsError
        ):  # another run is taking it over; one left by a killed process expires
            try:
                if time.time() - guard.stat().st_mtime > FRESH_LOCK_SECONDS:
                    guard.unlink(missing_ok=True)
            except FileNotFoundError:
                pass  # the other run finished its takeover in between
            time.sleep(0.05)
            return
        try:
            os.close(fd)
            if (
                self.path.read_bytes() == seen
            ):  # still the lock judged stale, not a newer run's
                self.path.unlink()
        except FileNotFoundError:
            pass
        finally:
            guard.unlink(missing_ok=True)

    def __enter__(self) -> "RunFolderLock":
        ensure_writable(self.folder.root)
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "process_started": _process_started(os.getpid()),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": " ".join(sys.argv)[:200],
        }
        self.content = json.dumps(me).encode()
        for _ in range(100):
            try:
                fd = os.open(
                    self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644
                )
            except FileExistsError:
                seen, holder = self._read()
                if holder is not None and not self._stale(holder):
                    raise RunFolderBusy(self._busy_message(holder)) from None
                if holder is not None:
                    self._take_over(seen)
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(self.content)
            for leftover in [
                *self.folder.root.glob(".*.tmp"),
                *self.folder.kept_checkpoints.glob(".*.tmp"),
                *self.folder.progress.glob(".*.tmp"),
            ]:
                # a killed writer's temporary files: no one else writes here now
                leftover.unlink(missing_ok=True)
            return self
        raise RunFolderBusy(
            f"{self.path} keeps changing: another run is starting in {self.folder.root}"
        )

    def _busy_message(self, holder: dict[str, Any]) -> str:
        if not holder:
            return f"{self.folder.root} is being taken by another run that is starting (see {self.path})"
        who = f"process {holder.get('pid')} on {holder.get('host')}"
        if (
            holder.get("pid") == os.getpid()
            and holder.get("host") == socket.gethostname()
        ):
            who += " (this process: a run started here, e.g. in another notebook cell or thread, still runs)"
        return (
            f"{self.folder.root} is being written by {who}, started {holder.get('started')} "
            f"({holder.get('command') or 'no command recorded'}): wait for it to end or stop it, or choose "
            f"another --out. If you are sure it has ended, delete {self.path}"
        )

    def __exit__(self, *exc) -> None:
        try:
            if (
                self.path.read_bytes() == self.content
            ):  # never remove a lock that is not ours
                self.path.unlink()
        except FileNotFoundError:
            pass
