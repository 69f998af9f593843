"""Interruption: SIGKILL during a save, Ctrl-C, SIGTERM and SIGHUP during training, a NaN mid-run, and exact
resume."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from fake_images import random_images

from dcgan_tutorial.callbacks import Callback
from dcgan_tutorial.checkpoint import read_checkpoint, save_checkpoint
from dcgan_tutorial.cli import main
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import TrainingDiverged, train_gan
from dcgan_tutorial.watchers import CheckpointWriter

REPO = Path(__file__).resolve().parents[1]


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_sigkill_during_saves_leaves_a_readable_checkpoint(
    tiny_model, tiny_train, tmp_path
):
    path = save_checkpoint(
        make_state(tiny_model, tiny_train), tmp_path / "checkpoint.pt"
    )
    # A child rewrites the checkpoint again and again, made large (80 MB) so a kill lands mid-write.
    child = textwrap.dedent(f"""
        import torch
        from dcgan_tutorial.checkpoint import atomic_save, read_checkpoint
        data = read_checkpoint({str(path)!r})
        data["padding"] = torch.zeros(20_000_000)
        print("ready", flush=True)
        while True:
            data["step"] += 1
            atomic_save(data, {str(path)!r})
    """)
    for delay in (0.4, 0.9, 1.7):
        proc = subprocess.Popen(
            [sys.executable, "-c", child],
            env=_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        data = read_checkpoint(
            path
        )  # the previous complete file, whatever moment the kill hit
        assert data["format"] == "dcgan_tutorial.checkpoint"
    assert read_checkpoint(path)["step"] > 0  # some saves did complete


def test_ctrl_c_saves_the_last_completed_step_and_exits_cleanly(
    data_root, tmp_path
):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dcgan_tutorial",
            "train",
            "--data-root",
            str(data_root),
            "--out",
            str(out),
            "--time-budget",
            "600",
            "--device",
            "cpu",
            "--limit",
            "2048",
            "--sample-every",
            "5",
            "--no-progress",
        ],
        env=_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while not (out / "progress" / "step_000010.png").exists():
        assert time.time() < deadline and proc.poll() is None, (
            proc.stderr.read() if proc.poll() else "slow"
        )
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "stopped by request" in stdout and "Traceback" not in stderr
    data = read_checkpoint(out / "checkpoint.pt")
    assert data["step"] >= 10
    assert (
        data["history"]["step"][-1]
        == data["step"]
        == len(data["history"]["d_loss"])
    )


def test_nan_mid_run_stops_with_the_step_and_keeps_the_last_good_checkpoint(
    tiny_model, tiny_train, tmp_path
):
    cfg = tiny_train.__class__(
        **{
            **tiny_train.__dict__,
            "steps": 20,
            "checkpoint_every": 5,
            "log_every": 1,
        }
    )
    state = make_state(tiny_model, cfg)
    loader = InMemoryLoader(
        random_images(64), torch.zeros(64, dtype=torch.long), 8
    )

    class Poison(Callback):
        def on_log(self, state, records):
            if state.step == 7:
                with torch.no_grad():
                    next(state.G.parameters()).fill_(float("nan"))

    writer = CheckpointWriter(tmp_path / "checkpoint.pt")
    with pytest.raises(TrainingDiverged, match="NaN or infinite at step 8"):
        train_gan(state, loader, callbacks=[Poison(), writer], progress=False)
    good = read_checkpoint(tmp_path / "checkpoint.pt")
    assert good["step"] == 5
    assert all(
        torch.isfinite(t).all()
        for t in good["G"].values()
        if t.is_floating_point()
    )


def test_keep_last_k_checkpoints(tiny_model, tiny_train, tmp_path):
    cfg = tiny_train.__class__(
        **{**tiny_train.__dict__, "steps": 12, "checkpoint_every": 2}
    )
    state = make_state(tiny_model, cfg)
    loader = InMemoryLoader(
        random_images(64), torch.zeros(64, dtype=torch.long), 8
    )
    train_gan(
        state,
        loader,
        callbacks=[CheckpointWriter(tmp_path / "checkpoint.pt", keep=3)],
        progress=False,
    )
    kept = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert kept == ["step_0000008.pt", "step_0000010.pt", "step_0000012.pt"]
    assert (
        read_checkpoint(tmp_path / "checkpoints" / "step_0000008.pt")["step"] == 8
    )
    assert read_checkpoint(tmp_path / "checkpoint.pt")["step"] == 12


def _assert_same_run(full, split):
    """Two checkpoint contents of the same run hold the same step, history, weights and optimiser state."""
    assert full["step"] == split["step"]
    assert full["history"] == split["history"]
    for key in ("G", "D"):
        for name, tensor in full[key].items():
            assert torch.equal(tensor, split[key][name]), f"{key}.{name}"
    for name in ("opt_g", "opt_d"):
        for a, b in zip(
            full[name]["state"].values(), split[name]["state"].values()
        ):
            assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])


def test_cli_resume_is_bit_identical_to_an_uninterrupted_run(data_root, tmp_path):
    common = [
        "--data-root",
        str(data_root),
        "--device",
        "cpu",
        "--limit",
        "640",
        "--batch-size",
        "32",
        "--no-progress",
        "--seed",
        "5",
    ]
    # 640 images / 32 = 20 steps per epoch: 30 steps cross an epoch boundary, the stop at 13 is mid-epoch
    assert (
        main(["train", "--out", str(tmp_path / "full"), "--steps", "30", *common])
        == 0
    )
    assert (
        main(
            ["train", "--out", str(tmp_path / "split"), "--steps", "13", *common]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "split"),
                "--resume",
                str(tmp_path / "split"),
                "--steps",
                "30",
                *common,
            ]
        )
        == 0
    )
    full = read_checkpoint(tmp_path / "full" / "checkpoint.pt")
    split = read_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert full["step"] == 30
    _assert_same_run(full, split)


# --- SIGTERM and SIGHUP: what a scheduler, docker stop, kill or a closed terminal sends ----------------


def test_sigterm_saves_the_last_step_exits_143_and_resumes_bit_identically(
    data_root, tmp_path, one_thread
):
    common = [
        "--data-root",
        str(data_root),
        "--device",
        "cpu",
        "--limit",
        "640",
        "--batch-size",
        "32",
        "--ngf",
        "8",
        "--ndf",
        "8",
        "--sample-every",
        "5",
        "--no-progress",
        "--seed",
        "5",
    ]
    out = tmp_path / "stopped"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dcgan_tutorial",
            "train",
            "--out",
            str(out),
            "--steps",
            "100000",
            *common,
        ],
        env={**_env(), "OMP_NUM_THREADS": "1"},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while not (out / "progress" / "step_000010.png").exists():
        assert time.time() < deadline and proc.poll() is None, (
            proc.stderr.read() if proc.poll() else "slow"
        )
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM == 143, stderr
    assert "Traceback" not in stderr and stderr.strip() == "", stderr
    line = stdout.strip().splitlines()[-1]
    assert line.startswith(
        f"stopped by SIGTERM (continue with --resume {out}): step "
    ), line
    step = int(line.split(": step ")[1].split(",")[0])
    stopped = read_checkpoint(out / "checkpoint.pt")
    assert (
        stopped["step"] == step >= 10
    )  # the step it was on when the signal came, not an earlier save
    assert (
        stopped["history"]["step"][-1]
        == step
        == len(stopped["history"]["d_loss"])
    )
    assert not (out / ".lock").exists() and not list(out.rglob("*.tmp"))
    # resumed to a few steps further, it equals one uninterrupted run to there (the data order crosses
    # an epoch boundary whenever the stop came, the RNG states and the noise stream continue exactly)
    end = str(step + 23)
    assert (
        main(
            [
                "train",
                "--out",
                str(out),
                "--resume",
                str(out),
                "--steps",
                end,
                *common,
            ]
        )
        == 0
    )
    assert (
        main(["train", "--out", str(tmp_path / "full"), "--steps", end, *common])
        == 0
    )
    _assert_same_run(read_checkpoint(tmp_path / "full"), read_checkpoint(out))


STOP_TWICE = textwrap.dedent("""
    import os, signal, sys, torch
    from dcgan_tutorial.callbacks import Callback
    from dcgan_tutorial.config import ModelConfig, TrainConfig
    from dcgan_tutorial.data import InMemoryLoader
    from dcgan_tutorial.state import make_state
    from dcgan_tutorial.train import train_gan
    from dcgan_tutorial.watchers import CheckpointWriter

    class SignalTwice(Callback):
        def on_log(self, state, records):
            if state.step == 3:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)  # the second: no more waiting for the step to end

    cfg = TrainConfig(batch_size=8, steps=50, epochs=None, n_fixed=4, sample_every=100, log_every=1,
                      checkpoint_every=2)
    state = make_state(ModelConfig(image_size=28, nc=1, nz=8, ngf=4, ndf=4), cfg)
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    train_gan(state, InMemoryLoader(images, torch.zeros(64, dtype=torch.long), 8),
              callbacks=[SignalTwice(), CheckpointWriter(sys.argv[1], keep=0)], progress=False)
    print("finished", flush=True)
""")


def test_a_second_sigterm_ends_training_at_once(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", STOP_TWICE, str(tmp_path / "checkpoint.pt")],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGTERM, (
        proc.stderr
    )  # ended by the signal itself, as without the guard
    assert "finished" not in proc.stdout
    assert (
        read_checkpoint(tmp_path / "checkpoint.pt")["step"] == 2
    )  # the save at step 2; none at the stop


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_ends_train_gan_after_the_step_and_the_handlers_are_put_back(
    name, tiny_model, tiny_train
):
    if not hasattr(signal, name):
        pytest.skip(f"{name} does not exist on this system")
    signum = getattr(signal, name)
    before = signal.getsignal(signum)

    class Send(Callback):
        def on_log(self, state, records):
            if state.step == 2:
                os.kill(os.getpid(), signum)

    state = make_state(
        tiny_model, tiny_train.__class__(**{**tiny_train.__dict__, "steps": 50})
    )
    train_gan(
        state,
        InMemoryLoader(random_images(64), torch.zeros(64, dtype=torch.long), 8),
        callbacks=[Send()],
        progress=False,
    )
    assert state.step == 2 and state.interrupted and state.stop_signal == signum
    assert signal.getsignal(signum) is before


def test_a_second_ctrl_c_raises_keyboard_interrupt(tiny_model, tiny_train):
    class Twice(Callback):
        def on_log(self, state, records):
            if state.step == 2:
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)

    state = make_state(
        tiny_model, tiny_train.__class__(**{**tiny_train.__dict__, "steps": 50})
    )
    with pytest.raises(KeyboardInterrupt):
        train_gan(
            state,
            InMemoryLoader(
                random_images(64), torch.zeros(64, dtype=torch.long), 8
            ),
            callbacks=[Twice()],
            progress=False,
        )
    assert (
        state.step == 2
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )


@pytest.mark.skipif(
    not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this system"
)
def test_an_ignored_sighup_stays_ignored(tiny_model, tiny_train):
    """Under nohup SIGHUP is ignored on purpose: closing the terminal must not stop the run."""

    class HangUp(Callback):
        def on_log(self, state, records):
            if state.step == 2:
                os.kill(os.getpid(), signal.SIGHUP)

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        state = make_state(tiny_model, tiny_train)
        train_gan(
            state,
            InMemoryLoader(
                random_images(64), torch.zeros(64, dtype=torch.long), 8
            ),
            callbacks=[HangUp()],
            progress=False,
        )
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)
    assert (
        state.step == tiny_train.steps
        and not state.interrupted
        and state.stop_signal is None
    )
