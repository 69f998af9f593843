"""Faults of real machines and long runs: checkpoints by time, a run folder's one writer, a full disk,
out of memory, and sampling any number of images in batches that Ctrl-C can stop."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_images import random_images
from PIL import Image

import dcgan_tutorial.runfolder as runfolder_module
import dcgan_tutorial.sample as sample_module
import dcgan_tutorial.train as train_module
import dcgan_tutorial.watchers as watchers_module
from dcgan_tutorial.callbacks import Callback
from dcgan_tutorial.checkpoint import (
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from dcgan_tutorial.cli import main
from dcgan_tutorial.config import ConfigError
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.memory import OutOfMemory
from dcgan_tutorial.models import Generator, class_labels
from dcgan_tutorial.runfolder import DiskFullError, RunFolder, RunFolderBusy
from dcgan_tutorial.sample import (
    GRID_MAX,
    grid_picks,
    sample_images,
    unscale_images,
    write_samples,
)
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import train_gan
from dcgan_tutorial.watchers import CheckpointWriter

REPO = Path(__file__).resolve().parents[1]


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: one thread each is faster than two fighting over a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _loader():
    return InMemoryLoader(random_images(64), torch.zeros(64, dtype=torch.long), 8)


class RecordCheckpoints(Callback):
    def __init__(self):
        self.steps = []

    def on_checkpoint(self, state):
        self.steps.append(state.step)


@pytest.fixture
def slow_steps(monkeypatch):
    """A clock on which every training step takes 20 seconds (the real step runs unchanged)."""
    now = [1000.0]
    real_step = train_module.train_step

    def step(*args, **kwargs):
        now[0] += 20.0
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_module.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(train_module, "train_step", step)
    return now


def _weights_equal(a, b):
    for key in ("G", "D"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name}"


# --- checkpoints by time ---------------------------------------------------------------------------


def test_train_gan_checkpoints_by_time_the_first_after_a_minute(
    slow_steps, tiny_model, tiny_train
):
    cfg = replace(
        tiny_train, steps=40, checkpoint_every=1000, checkpoint_minutes=5
    )
    seen = RecordCheckpoints()
    train_gan(
        make_state(tiny_model, cfg), _loader(), callbacks=[seen], progress=False
    )
    # 20 s a step: the first at 60 s (step 3), then every 300 s (steps 18, 33), and the last step
    assert seen.steps == [3, 18, 33, 40]


def test_train_gan_checkpoints_by_steps_only_without_minutes(
    slow_steps, tiny_model, tiny_train
):
    cfg = replace(
        tiny_train, steps=40, checkpoint_every=15, checkpoint_minutes=None
    )
    seen = RecordCheckpoints()
    train_gan(
        make_state(tiny_model, cfg), _loader(), callbacks=[seen], progress=False
    )
    assert seen.steps == [15, 30, 40]


def test_train_gan_resumes_from_a_checkpoint_by_time_bit_identically(
    slow_steps, tiny_model, tiny_train, tmp_path
):
    cfg = replace(
        tiny_train,
        steps=20,
        checkpoint_every=1000,
        checkpoint_minutes=2,
        log_every=3,
    )
    full = make_state(tiny_model, cfg)
    train_gan(full, _loader(), progress=False)

    class Crash(
        Callback
    ):  # the process dies at step 11: its last checkpoint is the one by time at step 9
        def on_log(self, state, records):
            if state.step >= 11:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_gan(
            make_state(tiny_model, cfg),
            _loader(),
            callbacks=[Crash(), CheckpointWriter(tmp_path / "c.pt")],
            progress=False,
        )
    resumed = load_checkpoint(tmp_path / "c.pt")
    assert resumed.step == 9  # 60 s = 3 steps, then 120 s = 6 steps
    train_gan(resumed, _loader(), progress=False)
    assert resumed.history == full.history
    _weights_equal(
        {"G": full.G.state_dict(), "D": full.D.state_dict()},
        {"G": resumed.G.state_dict(), "D": resumed.D.state_dict()},
    )


def test_config_checkpoint_minutes_must_be_positive(tiny_train, capsys):
    with pytest.raises(ConfigError, match="checkpoint_minutes"):
        replace(tiny_train, checkpoint_minutes=0).validate()
    assert main(["train", "--out", "unused", "--checkpoint-minutes", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--checkpoint-minutes" in err


# --- one writer per run folder ---------------------------------------------------------------------

HOLD_LOCK = textwrap.dedent(f"""
    import importlib.util, sys, time
    # runfolder.py alone (it needs only the standard library): the child starts in a blink
    spec = importlib.util.spec_from_file_location("runfolder", {str(REPO / "dcgan_tutorial" / "runfolder.py")!r})
    runfolder = sys.modules["runfolder"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runfolder)
    with runfolder.RunFolder(sys.argv[1]).lock():
        print("holding", flush=True)
        time.sleep(120)
""")


def _holder(folder):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder)],
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_run_folder_lock_refuses_a_second_writer_naming_its_process(tmp_path):
    proc = _holder(tmp_path / "run")
    try:
        with pytest.raises(RunFolderBusy, match=f"process {proc.pid} on "):
            with RunFolder(tmp_path / "run").lock():
                pass
        assert (
            json.loads((tmp_path / "run" / ".lock").read_text())["pid"]
            == proc.pid
        )  # left alone
    finally:
        proc.kill()
        proc.wait()


def test_cli_train_into_a_busy_folder_is_one_line_and_writes_nothing(
    data_root, tmp_path, capsys
):
    proc = _holder(tmp_path / "run")
    try:
        code = main(
            [
                "train",
                "--out",
                str(tmp_path / "run"),
                "--data-root",
                str(data_root),
                "--device",
                "cpu",
                "--limit",
                "64",
                "--steps",
                "2",
                "--no-progress",
            ]
        )
    finally:
        proc.kill()
        proc.wait()
    err = capsys.readouterr().err.strip()
    assert (
        code == 2 and len(err.splitlines()) == 1 and f"process {proc.pid}" in err
    ), err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_run_folder_lock_of_a_killed_process_is_taken_over(tmp_path):
    proc = _holder(tmp_path / "run")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lock = tmp_path / "run" / ".lock"
    assert (
        json.loads(lock.read_text())["pid"] == proc.pid
    )  # a killed run leaves its lock behind
    with RunFolder(tmp_path / "run").lock():
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_run_folder_lock_removes_a_killed_writers_temporary_files(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    leftovers = [
        tmp_path / ".checkpoint.pt.k2j4x.tmp",
        tmp_path / "checkpoints" / ".step_0000010.pt.tmp",
    ]
    for path in leftovers:
        path.write_bytes(
            b"half a checkpoint"
        )  # what SIGKILL during a save leaves
    (tmp_path / "checkpoint.pt").write_bytes(b"kept")
    with RunFolder(tmp_path).lock():
        assert not any(path.exists() for path in leftovers)
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"kept"


def test_run_folder_lock_of_a_reused_pid_is_stale(tmp_path):
    folder = RunFolder(tmp_path)
    with folder.lock():
        holder = json.loads(folder.lock_file.read_text())
    if holder["process_started"] is None:
        pytest.skip("no /proc here: a reused process id cannot be told apart")
    # a lock naming a live pid (ours) whose process started at another time: the pid was reused
    folder.lock_file.write_text(json.dumps({**holder, "process_started": "1"}))
    with folder.lock():
        assert (
            json.loads(folder.lock_file.read_text())["process_started"]
            == holder["process_started"]
        )


def test_run_folder_lock_takeover_of_a_stale_lock_has_one_winner(tmp_path):
    folder = RunFolder(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
    )
    stale = {
        "pid": int(dead.stdout),
        "host": socket.gethostname(),
        "started": "earlier",
        "command": "killed",
    }
    results, start, hold = [], threading.Barrier(8), threading.Barrier(8)

    def contender():
        try:
            start.wait(timeout=60)
            try:
                with folder.lock():
                    results.append("won")
                    hold.wait(timeout=60)  # keep it while the others try
            except RunFolderBusy:
                results.append("busy")
                hold.wait(timeout=60)
        except Exception as err:  # any other error fails the assertion below instead of hanging the test
            results.append(repr(err))
            hold.abort()

    for _ in range(20):
        folder.lock_file.write_text(json.dumps(stale))
        results.clear()
        threads = [threading.Thread(target=contender) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["busy"] * 7 + ["won"]
        assert not folder.lock_file.exists()


def test_run_folder_lock_late_takeover_leaves_a_newer_runs_lock(tmp_path):
    folder = RunFolder(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
    )
    folder.lock_file.write_text(
        json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()})
    )
    late = folder.lock()
    seen, holder = (
        late._read()
    )  # a run reads the dead holder's lock and judges it stale ...
    assert late._stale(holder)
    with folder.lock():  # ... but another run takes it over first
        late._take_over(
            seen
        )  # the late run's takeover must not remove the newer lock
        assert json.loads(folder.lock_file.read_text())["pid"] == os.getpid()
        with pytest.raises(RunFolderBusy):
            late.__enter__()


def test_train_run_holds_the_lock_until_it_ends(data_root, tmp_path):
    from dcgan_tutorial.run import plan_run, train_run

    seen = []

    class Look(Callback):
        def on_log(self, state, records):
            seen.append(
                json.loads((tmp_path / "run" / ".lock").read_text())["pid"]
            )

    plan = plan_run(
        "mnist28",
        model={"ngf": 4, "ndf": 4},
        train={"batch_size": 8, "log_every": 1},
        limits={"steps": 3},
    )
    train_run(
        plan,
        tmp_path / "run",
        device="cpu",
        data_root=data_root,
        limit=64,
        progress=False,
        callbacks=[Look()],
        log=lambda line: None,
    )
    assert seen == [os.getpid()] * 3
    assert not (tmp_path / "run" / ".lock").exists()


# --- a full disk -----------------------------------------------------------------------------------


def _enospc(code=errno.ENOSPC):
    return OSError(code, os.strerror(code))


@pytest.mark.parametrize("where", ["write", "fsync", "quota"])
def test_atomic_save_on_a_full_disk_keeps_the_previous_file_and_leaves_no_temporary(
    where, tiny_model, tiny_train, tmp_path, monkeypatch
):
    state = make_state(tiny_model, tiny_train)
    state.step = 7
    path = save_checkpoint(state, tmp_path / "checkpoint.pt")
    state.step = 8
    if where == "fsync":

        def fsync(fd):
            raise _enospc()

        monkeypatch.setattr(runfolder_module.os, "fsync", fsync)
    else:  # some bytes reach the temporary file, then the disk (or the quota) is full
        real_write = os.write

        def write(fd, data):
            real_write(fd, bytes(data[:4096]))
            raise _enospc(errno.EDQUOT if where == "quota" else errno.ENOSPC)

        monkeypatch.setattr(runfolder_module.os, "write", write)
    with pytest.raises(DiskFullError) as caught:
        save_checkpoint(state, path)
    monkeypatch.undo()
    message = str(caught.value)
    assert (
        str(tmp_path) in message
        and " free, " in message
        and " needed)" in message
        and "\n" not in message
    )
    assert read_checkpoint(path)["step"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_checkpoint_writer_copy_on_a_full_disk_leaves_no_partial_file(
    tiny_model, tiny_train, tmp_path, monkeypatch
):
    state = make_state(tiny_model, tiny_train)
    writer = CheckpointWriter(tmp_path / "checkpoint.pt", keep=3)

    def no_links(src, dst):
        raise OSError(errno.EPERM, "no hard links here")

    def partial_copy(src, dst):
        Path(dst).write_bytes(b"\x00" * 100)
        raise _enospc()

    monkeypatch.setattr(watchers_module.os, "link", no_links)
    monkeypatch.setattr(watchers_module.shutil, "copyfile", partial_copy)
    with pytest.raises(DiskFullError, match="step_0000000.pt"):
        writer.on_checkpoint(state)
    assert list((tmp_path / "checkpoints").iterdir()) == []
    assert read_checkpoint(tmp_path / "checkpoint.pt")["step"] == 0


def test_cli_train_on_a_full_disk_stops_with_one_line_and_the_previous_checkpoint(
    data_root, tmp_path, monkeypatch, capsys
):
    real_fsync, saves = runfolder_module.os.fsync, []

    def fsync(fd):  # only checkpoints are flushed to the disk
        saves.append(fd)
        if (
            len(saves) == 2
        ):  # the disk fills between the first checkpoint and the second
            raise _enospc()
        return real_fsync(fd)

    monkeypatch.setattr(runfolder_module.os, "fsync", fsync)
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--out",
            str(out),
            "--data-root",
            str(data_root),
            "--device",
            "cpu",
            "--limit",
            "64",
            "--batch-size",
            "8",
            "--ngf",
            "4",
            "--ndf",
            "4",
            "--steps",
            "6",
            "--checkpoint-every",
            "2",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip()
    monkeypatch.undo()
    assert (
        code == 1
        and len(err.splitlines()) == 1
        and str(out) in err
        and " needed)" in err
    ), err
    assert len(saves) == 2 and read_checkpoint(out)["step"] == 2
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not (out / ".lock").exists()


# A real full disk: a small tmpfs, where the libraries fail as they do on a full disk (torch.save's zip
# writer raises RuntimeError("... unexpected pos ..."), not OSError). Mounting one needs root, as in CI.


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk(nbytes)``: a new folder on a tmpfs of that size, unmounted after the test."""
    mounted = []

    def mount(nbytes: int) -> Path:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            pytest.skip(
                "a real full disk needs a small tmpfs, and mounting one needs root (CI runs as root)"
            )
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={nbytes}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(
                f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}"
            )
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def _one_disk_full_line(err: str, folder: Path) -> None:
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert (
        f"the disk holding {folder} is full" in err
        and " free, " in err
        and " needed)" in err
    ), err


def _no_temporary_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


TINY_RUN = [
    "--device",
    "cpu",
    "--limit",
    "64",
    "--batch-size",
    "8",
    "--ngf",
    "4",
    "--ndf",
    "4",
    "--no-progress",
]


def test_cli_train_on_a_real_full_disk_keeps_the_first_checkpoint(
    data_root, tmp_path, small_disk, capsys
):
    # G and D of width 32: a 4.7 MB checkpoint, large enough that torch.save writing straight into the
    # file fails inside its zip writer ("unexpected pos"), as it does for paper64
    flags = [
        "--data-root",
        str(data_root),
        *TINY_RUN,
        "--ngf",
        "32",
        "--ndf",
        "32",
        "--checkpoint-every",
        "2",
        "--sample-every",
        "1000",
    ]
    assert (
        main(["train", "--out", str(tmp_path / "probe"), "--steps", "2", *flags])
        == 0
    )
    size = (tmp_path / "probe" / "checkpoint.pt").stat().st_size
    capsys.readouterr()
    # room for one checkpoint and a half: the first fits, the second (written beside it) does not
    out = small_disk(size * 3 // 2 + 64 * 1024) / "run"
    assert main(["train", "--out", str(out), "--steps", "20", *flags]) == 1
    _one_disk_full_line(capsys.readouterr().err, out)
    assert read_checkpoint(out)["step"] == 2 and read_checkpoint(
        out / "checkpoints" / "step_0000002.pt"
    )
    _no_temporary_files(out)
    assert not (out / ".lock").exists()


def test_cli_train_on_a_real_full_disk_of_progress_images(
    data_root, small_disk, capsys
):
    out = small_disk(256 * 1024) / "run"  # about ten progress images of 24 KB
    code = main(
        [
            "train",
            "--out",
            str(out),
            "--data-root",
            str(data_root),
            *TINY_RUN,
            "--steps",
            "200",
            "--sample-every",
            "1",
            "--checkpoint-every",
            "1000",
        ]
    )
    assert code == 1
    _one_disk_full_line(capsys.readouterr().err, out / "progress")
    images = sorted((out / "progress").iterdir())
    assert len(images) >= 3
    for path in images:  # every image there is complete
        with Image.open(path) as image:
            image.load()
    _no_temporary_files(out)


def test_cli_sample_on_a_real_full_disk_is_one_line(small_disk):
    out = small_disk(256 * 1024)  # about 60 files (a page each)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcgan_tutorial",
            "sample",
            "--pretrained",
            "mnist",
            "--n",
            "1000",
            "--out",
            str(out),
            "--device",
            "cpu",
        ],
        env={**_env(), "OMP_NUM_THREADS": "1"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    _one_disk_full_line(proc.stderr, out / "images")
    images = sorted((out / "images").iterdir())
    assert 10 < len(images) < 1000
    for path in images:
        assert _read(path).shape == (
            28,
            28,
        )  # every file there is a complete image
    _no_temporary_files(out)


# --- out of memory ---------------------------------------------------------------------------------


def _failing_d_step(monkeypatch, at_call, fault):
    real, calls = train_module.d_step, []

    def d_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            fault()
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "d_step", d_step)


def _cuda_full():
    raise torch.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 GiB total)"
    )


def _cpu_full():
    torch.empty(
        1 << 50, dtype=torch.uint8
    )  # a real request the CPU allocator refuses (1 PiB)


@pytest.mark.parametrize("fault", [_cuda_full, _cpu_full], ids=["cuda", "cpu"])
def test_train_gan_out_of_memory_names_the_batch_size_and_keeps_the_checkpoint(
    fault, tiny_model, tiny_train, tmp_path, monkeypatch
):
    _failing_d_step(monkeypatch, 5, fault)
    cfg = replace(tiny_train, steps=10, checkpoint_every=2)
    with pytest.raises(OutOfMemory) as caught:
        train_gan(
            make_state(tiny_model, cfg),
            _loader(),
            callbacks=[CheckpointWriter(tmp_path / "c.pt")],
            progress=False,
        )
    message = str(caught.value)
    assert (
        "at step 5 with batch size 8" in message
        and "--batch-size (e.g. 4)" in message
    )
    assert "a smaller preset" in message and "\n" not in message
    assert (
        caught.value.__cause__.__traceback__ is None
    )  # the failed step's tensors are let go
    assert read_checkpoint(tmp_path / "c.pt")["step"] == 4


def test_train_gan_other_runtime_errors_are_not_out_of_memory(
    tiny_model, tiny_train, monkeypatch
):
    def bug():
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    _failing_d_step(monkeypatch, 2, bug)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        train_gan(make_state(tiny_model, tiny_train), _loader(), progress=False)


def test_cli_train_out_of_memory_is_one_line(
    data_root, tmp_path, monkeypatch, capsys
):
    _failing_d_step(monkeypatch, 3, _cpu_full)
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--out",
            str(out),
            "--data-root",
            str(data_root),
            "--device",
            "cpu",
            "--limit",
            "64",
            "--batch-size",
            "16",
            "--ngf",
            "4",
            "--ndf",
            "4",
            "--steps",
            "6",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert (
        "out of memory on cpu at step 3 with batch size 16" in err
        and "--batch-size (e.g. 8)" in err
    )
    assert not (out / ".lock").exists()


# --- sampling any number of images ---------------------------------------------------------------


def _read(path):
    return torch.from_numpy(np.array(Image.open(path)))


def test_cli_sample_grid_is_capped_and_every_file_is_written(tmp_path, capsys):
    assert (
        main(
            [
                "sample",
                "--pretrained",
                "mnist",
                "--n",
                "300",
                "--out",
                str(tmp_path),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    files = sorted((tmp_path / "images").iterdir())
    assert len(files) == 300 and files[-1].name == "sample_0299.png"
    assert Image.open(tmp_path / "grid.png").size == (
        302,
        302,
    )  # 10 x 10 images of 28 + 2 padding
    assert "wrote 300 images" in capsys.readouterr().out


def test_cli_sample_generates_a_batch_at_a_time(tmp_path, monkeypatch):
    sizes, real = [], sample_module.generate

    def generate(G, z, labels=None):
        sizes.append(len(z))
        return real(G, z, labels)

    monkeypatch.setattr(sample_module, "generate", generate)
    assert (
        main(
            [
                "sample",
                "--pretrained",
                "mnist",
                "--n",
                "600",
                "--out",
                str(tmp_path),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert sizes == [256, 256, 88]
    assert len(list((tmp_path / "images").iterdir())) == 600


def test_write_samples_match_sample_images(tmp_path):
    torch.manual_seed(0)
    G = Generator(nz=8, ngf=4, nc=1, image_size=28)
    files = write_samples(G, 150, tmp_path, seed=3, batch_size=64)
    expected = unscale_images(sample_images(G, 150, seed=3))[:, 0]
    written = torch.stack(
        [_read(files.image_dir / f"sample_{i:04d}.png") for i in range(150)]
    )
    assert (
        written.int() - expected.int()
    ).abs().max() <= 1  # the same noise; kernels may round apart
    assert files.written == 150 and files.in_grid == 100 and not files.interrupted


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_write_samples_stops_after_the_batch_on_ctrl_c(
    name, tmp_path, monkeypatch
):
    torch.manual_seed(0)
    G = Generator(nz=8, ngf=4, nc=1, image_size=28)
    calls, real = [], sample_module.generate

    def generate(G, z, labels=None):
        calls.append(len(z))
        if len(calls) == 2:
            os.kill(
                os.getpid(), getattr(signal, name)
            )  # Ctrl-C (or docker stop) while the second batch is made
        return real(G, z, labels)

    monkeypatch.setattr(sample_module, "generate", generate)
    files = write_samples(G, 1000, tmp_path, batch_size=100)
    assert calls == [100, 100] and files.interrupted and files.written == 200
    assert files.stop_signal == getattr(signal, name)
    written = sorted((tmp_path / "images").iterdir())
    assert len(written) == 200 and all(
        _read(p).shape == (28, 28) for p in written
    )  # each file complete
    assert files.in_grid == 20 and Image.open(tmp_path / "grid.png").size[0] > 0
    assert "stopped by request after 200 of 1000 images" in files.describe()


def test_cli_sample_stopped_by_sigterm_exits_143_with_its_line(
    tmp_path, monkeypatch, capsys
):
    calls, real = [], sample_module.generate

    def generate(G, z, labels=None):
        calls.append(len(z))
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(G, z, labels)

    monkeypatch.setattr(sample_module, "generate", generate)
    code = main(
        [
            "sample",
            "--pretrained",
            "mnist",
            "--n",
            "600",
            "--out",
            str(tmp_path),
            "--device",
            "cpu",
        ]
    )
    assert code == 143 and calls == [256]
    assert "stopped by request after 256 of 600 images" in capsys.readouterr().out
    assert len(list((tmp_path / "images").iterdir())) == 256


def test_grid_picks_give_a_conditional_grid_a_row_per_class():
    picks = grid_picks(10_000)
    assert len(picks) == GRID_MAX and picks == sorted(set(picks))
    rows = class_labels(10_000, 10)[picks].view(10, 10)
    assert torch.equal(rows, torch.arange(10).view(10, 1).expand(10, 10))
    assert grid_picks(64) == list(range(64))
