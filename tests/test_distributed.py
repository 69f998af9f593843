"""DistributedDataParallel on the CPU with the gloo backend and 2 processes."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp
from fake_images import random_images

from dcgan_tutorial.checkpoint import read_checkpoint
from dcgan_tutorial.data import InMemoryLoader

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank, world, port, out_dir):
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    from dcgan_tutorial import distributed
    from dcgan_tutorial.config import ModelConfig, TrainConfig
    from dcgan_tutorial.state import make_state
    from dcgan_tutorial.train import train_gan

    _, _, device = distributed.init_distributed(torch.device("cpu"))
    cfg = TrainConfig(
        batch_size=8,
        steps=6,
        epochs=None,
        n_fixed=4,
        sample_every=100,
        log_every=2,
    )
    state = make_state(
        ModelConfig(image_size=28, nz=8, ngf=4, ndf=4), cfg, device
    )
    initial = {k: v.clone() for k, v in state.G.state_dict().items()}
    distributed.distribute_state(state, rank, device)
    loader = InMemoryLoader(
        random_images(64), torch.arange(64), 8, rank=rank, world_size=world
    )
    seen = [labels.tolist() for _, labels in loader.batches(0)]
    train_gan(state, loader, progress=False)
    for model in (state.G, state.D):
        distributed.sync_buffers(model)
    torch.save(
        {
            "G": distributed.unwrap(state.G).state_dict(),
            "D": distributed.unwrap(state.D).state_dict(),
            "initial_G": initial,
            "seen": seen,
            "d_fake": state.history["d_fake"],
            "step": state.step,
        },
        Path(out_dir) / f"rank{rank}.pt",
    )
    distributed.shutdown()


def test_two_ranks_train_on_their_own_data_and_hold_identical_weights(tmp_path):
    mp.spawn(
        _rank_main, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True
    )
    r0, r1 = (
        torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)
    )
    assert r0["step"] == r1["step"] == 6
    for key in ("G", "D"):
        for name in r0[key]:
            assert torch.equal(r0[key][name], r1[key][name]), (
                f"{key}.{name} differs between ranks"
            )
    assert any(
        not torch.equal(r0["G"][k], r0["initial_G"][k]) for k in r0["G"]
    )  # it trained
    # each rank took its own half of every global batch, and together they cover it
    for a, b in zip(r0["seen"], r1["seen"]):
        assert not set(a) & set(b) and len(a) == len(b) == 8
    assert len(r0["seen"]) == 64 // 16
    assert r0["d_fake"] != r1["d_fake"]  # different noise and data on each rank


def _rank_sigterm_main(rank, world, port, out_dir):
    """Rank 1 alone gets SIGTERM (as from a scheduler) at step 3; the ranks agree every 2 steps."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    from dcgan_tutorial import distributed
    from dcgan_tutorial.callbacks import Callback
    from dcgan_tutorial.config import ModelConfig, TrainConfig
    from dcgan_tutorial.state import make_state
    from dcgan_tutorial.train import train_gan

    class Terminate(Callback):
        def on_sample(self, state, images):
            if rank == 1 and state.step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    _, _, device = distributed.init_distributed(torch.device("cpu"))
    cfg = TrainConfig(
        batch_size=8,
        steps=50,
        epochs=None,
        n_fixed=4,
        sample_every=3,
        log_every=2,
    )
    state = make_state(
        ModelConfig(image_size=28, nz=8, ngf=4, ndf=4), cfg, device
    )
    distributed.distribute_state(state, rank, device)
    loader = InMemoryLoader(
        random_images(64), torch.arange(64), 8, rank=rank, world_size=world
    )
    train_gan(state, loader, callbacks=[Terminate()], progress=False)
    distributed.sync_buffers(state.G)
    torch.save(
        {
            "G": distributed.unwrap(state.G).state_dict(),
            "step": state.step,
            "signal": state.stop_signal or 0,
            "interrupted": state.interrupted,
        },
        Path(out_dir) / f"rank{rank}.pt",
    )
    distributed.shutdown()


def test_sigterm_to_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    mp.spawn(
        _rank_sigterm_main,
        args=(2, _free_port(), str(tmp_path)),
        nprocs=2,
        join=True,
    )
    r0, r1 = (
        torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)
    )
    assert r0["step"] == r1["step"] == 4  # the first agreement after the signal
    assert (
        r1["interrupted"] and r1["signal"] == signal.SIGTERM and r0["signal"] == 0
    )  # rank 0 followed rank 1
    for name in r0["G"]:
        assert torch.equal(r0["G"][name], r1["G"][name])


def test_torchrun_trains_with_two_processes_and_rank_zero_writes(
    data_root, tmp_path
):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(_free_port()),
            "-m",
            "dcgan_tutorial",
            "train",
            "--data-root",
            str(data_root),
            "--out",
            str(out),
            "--steps",
            "10",
            "--device",
            "cpu",
            "--limit",
            "1024",
            "--no-progress",
            "--sample-every",
            "5",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "2 process(es)" in result.stdout
        and result.stdout.count("done: step 10") == 1
    )
    assert "2 ranks hold identical G and D weights: True" in result.stdout
    assert read_checkpoint(out / "checkpoint.pt")["step"] == 10
