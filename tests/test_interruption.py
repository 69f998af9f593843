"""Interruption: SIGKILL during a save, Ctrl-C during training, a NaN mid-run, and exact resume."""

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
    assert full["step"] == split["step"] == 30
    assert full["history"] == split["history"]
    for key in ("G", "D"):
        for name, tensor in full[key].items():
            assert torch.equal(tensor, split[key][name]), f"{key}.{name}"
    for name in ("opt_g", "opt_d"):
        for a, b in zip(
            full[name]["state"].values(), split[name]["state"].values()
        ):
            assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
