"""The GPU paths: bf16 fast step against the fp32 step, checkpoints, sampling, torch.compile,
the CUDA graph of benchmarks/throughput.py and the README's determinism advice, on CUDA.

Every test here is skipped on a machine without a CUDA GPU; benchmarks/gpu_session.sh runs
them on one.
"""

import importlib.util
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from fake_images import random_images

from dcgan_tutorial import (
    InMemoryLoader,
    ModelConfig,
    TrainConfig,
    load_checkpoint,
    load_pretrained,
    make_state,
    sample_images,
    save_checkpoint,
    train_gan,
    train_step,
)
from dcgan_tutorial.device import cuda_precision

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU (torch.cuda.is_available() is False)",
)

REPO = Path(__file__).resolve().parents[1]
CUDA = torch.device("cuda")
# small enough to compile in seconds, wide enough that bf16 rounding shows in every layer
MODEL = ModelConfig(image_size=28, nc=1, nz=16, ngf=16, ndf=16)
TRAIN = TrainConfig(
    batch_size=32,
    steps=5,
    epochs=None,
    n_fixed=16,
    sample_every=100,
    log_every=1,
    checkpoint_every=1000,
)


@pytest.fixture
def bf16_gpu():
    """The tests of the bf16 path need a GPU that runs bf16 natively (compute capability 8.0 on)."""
    capability = torch.cuda.get_device_capability()
    if cuda_precision(capability) != "bf16":
        pytest.skip(
            f"compute capability {capability[0]}.{capability[1]}: the fast path is not bf16 on this GPU"
        )


@pytest.fixture
def deterministic_cudnn():
    """cuDNN's deterministic algorithms for one test, then the previous settings back."""
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = (
        True,
        False,
    )
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def _loader(n=256, size=28):
    return InMemoryLoader(
        random_images(n, size),
        torch.zeros(n, dtype=torch.long),
        TRAIN.batch_size,
        seed=0,
        device=CUDA,
    )


def _real_batch():
    return next(iter(_loader()))[0]


def _cosine(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    flat_a, flat_b = (
        torch.cat([t.flatten().float() for t in a]),
        torch.cat([t.flatten().float() for t in b]),
    )
    return float(torch.nn.functional.cosine_similarity(flat_a, flat_b, dim=0))


def test_fast_path_gradients_match_the_fp32_path_within_bf16_rounding(bf16_gpu):
    fast, plain = (
        make_state(MODEL, TRAIN, CUDA),
        make_state(MODEL, replace(TRAIN, fast=False), CUDA),
    )
    assert fast.speed.channels_last and fast.speed.fused_adam
    assert fast.speed.precision == "bf16" and plain.speed.precision == "fp32"
    real = _real_batch()
    stats_fast, stats_plain = train_step(fast, real), train_step(plain, real)
    # the same weights, noise and batch: only bf16 rounding separates the two first steps
    for key in stats_fast:
        torch.testing.assert_close(
            stats_fast[key].float(),
            stats_plain[key].float(),
            rtol=0.03,
            atol=0.03,
        )
    for model in ("G", "D"):  # G: g_step's gradient through D; D: d_step's own
        grads_fast = [p.grad for p in getattr(fast, model).parameters()]
        grads_plain = [p.grad for p in getattr(plain, model).parameters()]
        assert all(g is not None for g in grads_fast + grads_plain), model
        assert _cosine(grads_fast, grads_plain) > 0.98, model


def test_fast_path_losses_follow_the_fp32_path_for_a_few_steps(bf16_gpu):
    fast, plain = (
        make_state(MODEL, TRAIN, CUDA),
        make_state(MODEL, replace(TRAIN, fast=False), CUDA),
    )
    train_gan(fast, _loader(), progress=False)
    train_gan(plain, _loader(), progress=False)
    assert fast.step == plain.step == TRAIN.steps
    for key in ("d_loss", "g_loss"):
        torch.testing.assert_close(
            torch.tensor(fast.history[key]),
            torch.tensor(plain.history[key]),
            rtol=0.05,
            atol=0.05,
        )
    for key in ("d_real", "d_fake"):  # probabilities
        torch.testing.assert_close(
            torch.tensor(fast.history[key]),
            torch.tensor(plain.history[key]),
            rtol=0,
            atol=0.03,
        )


def test_checkpoint_round_trip_on_cuda_restores_the_next_step(
    tmp_path, deterministic_cudnn
):
    state = make_state(MODEL, replace(TRAIN, fast=False), CUDA)
    train_gan(state, _loader(), progress=False)
    path = save_checkpoint(state, tmp_path / "ckpt.pt")
    data = torch.load(
        path, weights_only=True
    )  # nothing in the file needs code to load
    assert all(t.device.type == "cpu" for t in data["G"].values())
    restored = load_checkpoint(path, CUDA)
    assert restored.step == state.step and restored.history == state.history
    assert torch.equal(
        restored.noise_gen.get_state(), state.noise_gen.get_state()
    )
    for a, b in zip(
        state.G.state_dict().values(), restored.G.state_dict().values()
    ):
        assert b.device.type == "cuda" and torch.equal(a, b)
    for a, b in zip(
        state.opt_d.state_dict()["state"].values(),
        restored.opt_d.state_dict()["state"].values(),
    ):
        assert torch.equal(a["exp_avg_sq"].cpu(), b["exp_avg_sq"].cpu())
    real = _real_batch()
    s1, s2 = train_step(state, real), train_step(restored, real)
    for key in s1:
        assert torch.equal(s1[key], s2[key]), key
    for a, b in zip(state.G.parameters(), restored.G.parameters()):
        assert torch.equal(a, b)


def test_sampling_on_cuda_matches_the_cpu():
    G_cuda, cfg, _ = load_pretrained("mnist", CUDA)
    G_cpu, _, _ = load_pretrained("mnist", "cpu")
    on_gpu, on_cpu = (
        sample_images(G_cuda, 16, seed=3),
        sample_images(G_cpu, 16, seed=3),
    )
    assert on_gpu.device.type == "cuda" and on_gpu.shape == (
        16,
        cfg.nc,
        cfg.image_size,
        cfg.image_size,
    )
    assert on_gpu.min() >= -1 and on_gpu.max() <= 1
    # the same noise (drawn on the CPU) gives the same digits; TF32 convolutions round a little
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=0, atol=0.05)
    assert not torch.equal(on_gpu, sample_images(G_cuda, 16, seed=4))


def test_compile_trains_g_and_d_with_two_optimisers_and_saves_plain_weights(
    tmp_path,
):
    state = make_state(MODEL, replace(TRAIN, compile=True), CUDA)
    assert (
        state.speed.compile
        and hasattr(state.G, "_orig_mod")
        and hasattr(state.D, "_orig_mod")
    )
    G0 = [p.detach().clone() for p in state.G.parameters()]
    D0 = [p.detach().clone() for p in state.D.parameters()]
    train_gan(state, _loader(), progress=False)
    assert state.step == TRAIN.steps
    assert all(
        torch.isfinite(torch.tensor(state.history[k])).all()
        for k in ("d_loss", "g_loss")
    )
    assert any(not torch.equal(a, b) for a, b in zip(G0, state.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(D0, state.D.parameters()))
    path = save_checkpoint(state, tmp_path / "compiled.pt")
    keys = torch.load(path, weights_only=True)["G"].keys()
    assert not any(
        k.startswith("_orig_mod") for k in keys
    )  # loadable by an uncompiled G
    assert load_checkpoint(path, CUDA).step == TRAIN.steps


def _throughput_module():
    spec = importlib.util.spec_from_file_location(
        "throughput", REPO / "benchmarks" / "throughput.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cuda_graph_step_replays_the_whole_training_step(bf16_gpu):
    throughput = _throughput_module()
    loop = throughput.make_variant("cuda_graph", MODEL, TRAIN, CUDA, _loader())
    G0 = [p.detach().clone() for p in loop.G.parameters()]
    D0 = [p.detach().clone() for p in loop.D.parameters()]
    step_count = loop.opt_g.state[next(loop.G.parameters())]["step"].item()
    d_losses = []
    for _ in range(4):
        loop.step()
        d_losses.append(loop.stats["d_loss"].item())
    torch.cuda.synchronize()
    # every replay ran both updates: Adam counted them, both models moved, losses are fresh numbers
    assert (
        loop.opt_g.state[next(loop.G.parameters())]["step"].item()
        == step_count + 4
    )
    assert any(not torch.equal(a, b) for a, b in zip(G0, loop.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(D0, loop.D.parameters()))
    assert all(torch.isfinite(torch.tensor(d_losses))) and len(set(d_losses)) > 1


def test_readme_determinism_advice_repeats_a_gpu_run_bit_for_bit():
    # a fresh process each: CUBLAS_WORKSPACE_CONFIG must be set before cuBLAS starts
    script = (
        "import hashlib\n"
        "import torch\n"
        "from dataclasses import replace\n"
        "from dcgan_tutorial import InMemoryLoader, ModelConfig, TrainConfig, make_state, train_gan\n"
        "torch.use_deterministic_algorithms(True)\n"
        "cfg = TrainConfig(batch_size=32, steps=10, epochs=None, n_fixed=16, sample_every=100, fast=False)\n"
        "g = torch.Generator().manual_seed(0)\n"
        "images = torch.randint(0, 256, (256, 1, 28, 28), dtype=torch.uint8, generator=g)\n"
        "loader = InMemoryLoader(images, torch.zeros(256, dtype=torch.long), 32, device='cuda')\n"
        "state = make_state(ModelConfig(image_size=28, nz=16, ngf=16, ndf=16), cfg, 'cuda')\n"
        "train_gan(state, loader, progress=False)\n"
        "flat = torch.cat([p.detach().flatten() for p in list(state.G.parameters()) + list(state.D.parameters())])\n"
        "print(hashlib.sha256(flat.cpu().numpy().tobytes()).hexdigest(), state.history['d_loss'])\n"
    )
    env = {
        **os.environ,
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "PYTHONPATH": str(REPO),
    }
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    assert runs[0].stdout == runs[1].stdout
