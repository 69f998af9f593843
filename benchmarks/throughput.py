"""Training throughput: the package's step against a tutorial-style reference loop, in one process.

The reference is how DCGAN tutorials train: a ``torchvision`` dataset with per-image
transforms (``ToTensor``, ``Normalize``, ``Resize`` when the size differs) through a
``DataLoader``, ``.to(device)`` every step, fp32, the default Adam, no compilation. The
package's path uses the same architecture, batch size and update rule, with the whole
dataset resident on the device as one uint8 tensor and the options in ``TrainConfig``
(``fast``: channels_last and the fused/foreach Adam; on CUDA also bf16 autocast).

Each timing runs ``--warmup`` steps, then ``--steps`` timed steps, ``--repeats`` times with the
two paths alternating; the median images/s of each and their ratio are printed.

    python benchmarks/throughput.py --device cpu --data-root DIR
    python benchmarks/throughput.py --device cpu --scaling      # images/s against batch and image size
    python benchmarks/throughput.py --device cpu --end-to-end --data-root DIR  # whole loops (cpu_end_to_end.py)
    python benchmarks/throughput.py --device cuda --measure mnist28:bf16,cuda_graph --epoch  # speed variants
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

from dcgan_tutorial.config import ModelConfig, TrainConfig
from dcgan_tutorial.data import make_loader, resolve_data_root
from dcgan_tutorial.device import (
    SpeedSettings,
    cuda_precision,
    hardware_name,
    make_adam,
    make_update,
    pick_device,
    prepare_model,
    speed_settings,
)
from dcgan_tutorial.losses import d_loss, g_loss_non_saturating
from dcgan_tutorial.models import build_models
from dcgan_tutorial.presets import get_preset
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import d_step, g_step, train_step
from dcgan_tutorial.tricks import PaperView


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class ReferenceLoop:
    """The PyTorch DCGAN tutorial's loop, with logits: DataLoader, per-step .to(device), fp32."""

    def __init__(
        self,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        device: torch.device,
        data_root,
    ):
        torch.manual_seed(train_cfg.seed)
        self.G, self.D = (m.to(device) for m in build_models(model_cfg))
        betas = (train_cfg.beta1, train_cfg.beta2)
        self.opt_g = torch.optim.Adam(
            self.G.parameters(), lr=train_cfg.lr_g, betas=betas
        )
        self.opt_d = torch.optim.Adam(
            self.D.parameters(), lr=train_cfg.lr_d, betas=betas
        )
        tf = (
            [transforms.Resize(model_cfg.image_size)]
            if model_cfg.image_size != 28
            else []
        )
        tf += [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]
        dataset = torchvision.datasets.MNIST(
            str(resolve_data_root(data_root)),
            train=True,
            download=True,
            transform=transforms.Compose(tf),
        )
        self.loader = DataLoader(
            dataset,
            batch_size=train_cfg.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=0,
        )
        self.batches = iter(self.loader)
        self.device, self.nz = device, model_cfg.nz

    def step(self) -> None:
        try:
            real, _ = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            real, _ = next(self.batches)
        real = real.to(self.device)
        z = torch.randn(real.shape[0], self.nz, 1, 1, device=self.device)
        fake = self.G(z)
        self.opt_d.zero_grad()
        loss_d = d_loss(self.D(real), self.D(fake.detach()))
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        loss_g = g_loss_non_saturating(self.D(fake))
        loss_g.backward()
        self.opt_g.step()
        loss_d.item(), loss_g.item()  # the tutorial logs every step, which syncs


class PackageLoop:
    """The package's training step on its in-memory loader."""

    def __init__(
        self,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        device: torch.device,
        data_root,
    ):
        self.state = make_state(model_cfg, train_cfg, device)
        self.loader = make_loader(
            train_cfg.dataset,
            model_cfg.image_size,
            train_cfg.batch_size,
            data_root,
            seed=train_cfg.seed,
            device=device,
        )
        self.epoch, self.batches = 0, self.loader.batches(0)

    def step(self) -> None:
        batch = next(self.batches, None)
        if batch is None:
            self.epoch += 1
            self.batches = self.loader.batches(self.epoch)
            batch = next(self.batches)
        train_step(self.state, batch[0])


def images_per_second(
    loop, batch_size: int, device, warmup: int, steps: int
) -> float:
    for _ in range(warmup):
        loop.step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        loop.step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)


def compare(
    model_cfg, train_cfg, device, data_root, warmup, steps, repeats
) -> dict:
    """Median images/s of the reference and the package, alternating, and their ratio."""
    ref = ReferenceLoop(model_cfg, train_cfg, device, data_root)
    pkg = PackageLoop(model_cfg, train_cfg, device, data_root)
    ref_runs, pkg_runs = [], []
    for _ in range(repeats):
        ref_runs.append(
            images_per_second(ref, train_cfg.batch_size, device, warmup, steps)
        )
        pkg_runs.append(
            images_per_second(pkg, train_cfg.batch_size, device, warmup, steps)
        )
    ref_ips, pkg_ips = statistics.median(ref_runs), statistics.median(pkg_runs)
    return {
        "reference_images_per_s": ref_ips,
        "package_images_per_s": pkg_ips,
        "ratio": pkg_ips / ref_ips,
        "reference_runs": ref_runs,
        "package_runs": pkg_runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda", "mps", "auto")
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--preset", default="mnist28")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also time batch sizes 32-256 and sizes 28/64/128",
    )
    parser.add_argument(
        "--out", default=None, help="write the figures as JSON here"
    )
    from cpu_end_to_end import (
        add_end_to_end_arguments,
        end_to_end,
    )  # beside this file; only as a script

    add_measure_arguments(parser)
    add_end_to_end_arguments(parser)
    args = parser.parse_args()
    if args.end_to_end:  # whole loops on the CPU against the tutorial-style loop and pytorch/examples
        end_to_end(args, ReferenceLoop)
        return
    if args.measure:  # the speed variants on a GPU (section below)
        measure_variants(args)
        return

    device = pick_device(args.device)
    preset = get_preset(args.preset)
    train_cfg = TrainConfig(
        **{
            **preset.train.__dict__,
            **({"batch_size": args.batch_size} if args.batch_size else {}),
        }
    )
    result = compare(
        preset.model,
        train_cfg,
        device,
        args.data_root,
        args.warmup,
        args.steps,
        args.repeats,
    )
    print(
        f"{args.preset} batch {train_cfg.batch_size} on {device}: reference {result['reference_images_per_s']:.0f} "
        f"images/s, package {result['package_images_per_s']:.0f} images/s, ratio {result['ratio']:.2f}"
    )
    record = {
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "device": str(device),
        "device_name": hardware_name(device),
        "threads": torch.get_num_threads(),
        "preset": args.preset,
        "batch_size": train_cfg.batch_size,
        **result,
        "command": "python benchmarks/throughput.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in vars(args).items()
            if v not in (None, False) and k not in ("data_root", "out")
        ),
    }
    if args.scaling:
        table = []
        for size in (28, 64, 128):
            for batch in (32, 64, 128, 256):
                model = ModelConfig(
                    **{**preset.model.__dict__, "image_size": size}
                )
                cfg = TrainConfig(
                    **{**preset.train.__dict__, "batch_size": batch}
                )
                pkg = PackageLoop(model, cfg, device, args.data_root)
                ips = images_per_second(
                    pkg,
                    batch,
                    device,
                    args.warmup // 2 or 1,
                    max(5, args.steps // 4),
                )
                table.append(
                    {
                        "image_size": size,
                        "batch_size": batch,
                        "package_images_per_s": ips,
                    }
                )
                print(
                    f"  image {size:3d}  batch {batch:3d}: {ips:8.0f} images/s",
                    flush=True,
                )
        record["scaling"] = table
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1))
        print("wrote", args.out)


# ---------------------------------------------------------------------------------------------
# Speed variants, CUDA graphs, epoch time and share of the GPU's peak (--measure).
#
# Everything below runs only when --measure is given (benchmarks/gpu_session.sh does); the
# comparison above is untouched by it. The same functions run on the CPU at --dry-run sizes;
# a variant that needs CUDA (a CUDA graph) is recorded there as skipped, never left out.
#
#   python benchmarks/throughput.py --device cuda --data-root DIR --epoch --flops \
#       --measure mnist28:fp32,channels_last,bf16,compile,cuda_graph \
#       --measure paper64:fp32,channels_last,bf16,compile \
#       --grid-sizes 28,64,128 --grid-batches 64,256,1024 --out OUT/throughput_cuda.json
# ---------------------------------------------------------------------------------------------

# name -> (SpeedSettings fields, how the step runs, what it is)
VARIANTS = {
    "fp32": (
        dict(
            channels_last=False, fused_adam=False, precision="fp32", compile=False
        ),
        "eager",
        "the package's step in fp32, NCHW, for-loop Adam (TrainConfig(fast=False))",
    ),
    "channels_last": (
        dict(
            channels_last=True, fused_adam=True, precision="fp32", compile=False
        ),
        "eager",
        "fp32 with channels_last (NHWC) and fused Adam",
    ),
    "bf16": (
        dict(
            channels_last=True, fused_adam=True, precision="bf16", compile=False
        ),
        "eager",
        "channels_last, fused Adam and bf16 autocast (the package's default on a GPU from Ampere on)",
    ),
    "compile": (
        dict(channels_last=True, fused_adam=True, precision="bf16", compile=True),
        "eager",
        "bf16 with torch.compile(G) and torch.compile(D) (TrainConfig(compile=True))",
    ),
    "cuda_graph": (
        dict(
            channels_last=True, fused_adam=True, precision="bf16", compile=False
        ),
        "cuda_graph",
        "bf16, the whole step (G forward, d_step, g_step, both Adam updates) captured once "
        "as a CUDA graph and replayed",
    ),
}

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from NVIDIA's data sheets, by a part of the
# name torch.cuda.get_device_name gives; the first match wins. Anything else: pass --peak-tflops.
BF16_PEAK_TFLOPS = (
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
)


class VariantUnavailable(Exception):
    """A variant this machine cannot run (a CUDA graph without CUDA, bf16 without bf16 hardware)."""


class _Batches:
    """Cycles through an InMemoryLoader's epochs: one real batch per call."""

    def __init__(self, loader):
        self.loader, self.epoch = loader, 0
        self.batches = loader.batches(0)

    def next_batch(self) -> torch.Tensor:
        batch = next(self.batches, None)
        if batch is None:
            self.epoch += 1
            self.batches = self.loader.batches(self.epoch)
            batch = next(self.batches)
        return batch[0]


class VariantLoop(_Batches):
    """The package's train_step with chosen speed settings (make_state, then those settings)."""

    def __init__(
        self,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        device: torch.device,
        settings,
        loader,
    ):
        super().__init__(loader)
        state = make_state(
            model_cfg, replace(train_cfg, fast=False, compile=False), device
        )
        G, D = prepare_model(state.G, settings), prepare_model(state.D, settings)
        betas = (train_cfg.beta1, train_cfg.beta2)
        opt_g = make_adam(G.parameters(), train_cfg.lr_g, betas, settings)
        opt_d = make_adam(D.parameters(), train_cfg.lr_d, betas, settings)
        if settings.compile:  # as make_state does with TrainConfig(compile=True)
            G, D = torch.compile(G), torch.compile(D)
        self.state = replace(
            state,
            G=G,
            D=D,
            opt_g=opt_g,
            opt_d=opt_d,
            speed=settings,
            d_backward_and_step=make_update(settings, device),
            g_backward_and_step=make_update(settings, device),
        )

    def step(self) -> None:
        train_step(self.state, self.next_batch())


class GraphedLoop(_Batches):
    """The whole training step captured once as a CUDA graph, then replayed once per batch.

    A small model's step is hundreds of tiny kernels, each launched by Python: the GPU waits
    for the CPU. Replaying a captured graph launches them all at once. The step is the
    package's own ``d_step`` and ``g_step``; what capture needs is set up here: Adam with
    ``capturable=True`` (its step count stays on the GPU), autocast without its weight cache,
    a static input buffer the next batch is copied into, noise drawn inside the graph from
    the default CUDA generator, and a few warm-up steps on a side stream before capture.
    """

    def __init__(
        self,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        device: torch.device,
        settings,
        loader,
    ):
        if device.type != "cuda":
            raise VariantUnavailable("no CUDA: CUDA graphs need a CUDA device")
        super().__init__(loader)
        state = make_state(
            model_cfg, replace(train_cfg, fast=False, compile=False), device
        )
        self.G, self.D = (
            prepare_model(state.G, settings),
            prepare_model(state.D, settings),
        )
        betas = (train_cfg.beta1, train_cfg.beta2)
        self.opt_g = torch.optim.Adam(
            self.G.parameters(),
            lr=train_cfg.lr_g,
            betas=betas,
            fused=True,
            capturable=True,
        )
        self.opt_d = torch.optim.Adam(
            self.D.parameters(),
            lr=train_cfg.lr_d,
            betas=betas,
            fused=True,
            capturable=True,
        )
        self.settings, self.train_cfg, self.nz = settings, train_cfg, model_cfg.nz
        first = self.next_batch()
        layout = (
            torch.channels_last
            if settings.channels_last
            else torch.contiguous_format
        )
        self.real = torch.empty_like(
            first, memory_format=layout
        )  # (B, nc, H, W): the graph's input
        self.real.copy_(first)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(
                3
            ):  # Adam's state and cuDNN's algorithm choices exist before capture
                self._step()
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.stats = (
                self._step()
            )  # tensors the replays overwrite with each step's values

    def _step(self) -> dict:
        with torch.autocast(
            "cuda",
            dtype=torch.bfloat16,
            enabled=self.settings.bf16,
            cache_enabled=False,
        ):
            z = torch.randn(
                self.real.shape[0], self.nz, 1, 1, device=self.real.device
            )
            fake = self.G(z)
            view = PaperView(self.train_cfg.loss, self.train_cfg.d_loss_reduction)
            stats = d_step(self.D, self.opt_d, self.real, fake.detach(), view)
            stats.update(g_step(self.D, self.opt_g, fake, view))
        return stats

    def step(self) -> None:
        self.real.copy_(self.next_batch())
        self.graph.replay()


def _failure(err: Exception) -> str:
    """One line for the JSON (the traceback goes to stderr, the session's log)."""
    traceback.print_exc()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:300]


def make_variant(
    name: str,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    device: torch.device,
    loader,
):
    """The loop of variant ``name`` (a key of VARIANTS)."""
    fields, how, _ = VARIANTS[name]
    settings = SpeedSettings(**fields)
    if (
        settings.bf16
        and device.type == "cuda"
        and cuda_precision(torch.cuda.get_device_capability(device)) != "bf16"
    ):
        raise VariantUnavailable(
            f"no native bf16 on this GPU (compute capability "
            f"{'.'.join(map(str, torch.cuda.get_device_capability(device)))}; 8.0 is needed)"
        )
    loop_class = GraphedLoop if how == "cuda_graph" else VariantLoop
    return loop_class(model_cfg, train_cfg, device, settings, loader)


def timed_images_per_second(
    loop,
    batch_size: int,
    device: torch.device,
    warmup: int,
    chunk: int,
    min_seconds: float,
) -> tuple[float, int]:
    """Images/s of ``loop`` over whole chunks of steps until ``min_seconds`` have passed (one sync per chunk)."""
    for _ in range(warmup):
        loop.step()
    _sync(device)
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(chunk):
            loop.step()
        steps += chunk
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return steps * batch_size / elapsed, steps


def step_flops(
    model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device
) -> int:
    """Floating-point operations of one training step (convolutions and matmuls, forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    state = make_state(
        model_cfg, replace(train_cfg, fast=False, compile=False), device
    )
    real = (
        torch.rand(
            train_cfg.batch_size,
            model_cfg.nc,
            model_cfg.image_size,
            model_cfg.image_size,
            device=device,
        )
        * 2
        - 1
    )
    with FlopCounterMode(display=False) as counter:
        train_step(state, real)
    return int(counter.get_total_flops())


def bf16_peak_tflops(
    device: torch.device, override: float | None
) -> tuple[float | None, str]:
    """The device's dense bf16 peak and where the number comes from."""
    if override:
        return override, "--peak-tflops"
    if device.type != "cuda":
        return None, "no CUDA device"
    name = torch.cuda.get_device_name(device)
    for part, tflops in BF16_PEAK_TFLOPS:
        if part in name:
            return tflops, f"NVIDIA data sheet, dense bf16, for '{part}' ({name})"
    return None, f"no peak known for '{name}': pass --peak-tflops"


def parse_measure(spec: str) -> tuple[str, list[str]]:
    """'PRESET:VARIANT,VARIANT' -> (preset, [variants])."""
    preset, _, names = spec.partition(":")
    variants = [n for n in names.split(",") if n] or list(VARIANTS)
    unknown = [n for n in variants if n not in VARIANTS]
    if unknown:
        raise SystemExit(
            f"throughput.py: error: --measure {spec}: unknown variant {', '.join(unknown)}; "
            f"choose from {', '.join(VARIANTS)}"
        )
    get_preset(preset)  # a bad name stops here, with the preset's own message
    return preset, variants


def measure_preset(
    preset_name: str,
    variants: list[str],
    args,
    device: torch.device,
    record: dict,
    write,
) -> None:
    """Reference loop and each variant, alternating, ``--repeats`` times; then the epoch and the FLOPs."""
    preset = get_preset(preset_name)
    model_cfg = _dry_run_model(preset.model) if args.dry_run else preset.model
    train_cfg = replace(
        preset.train,
        **({"batch_size": args.batch_size} if args.batch_size else {}),
    )
    batch = train_cfg.batch_size
    loader = make_loader(
        train_cfg.dataset,
        model_cfg.image_size,
        batch,
        args.data_root,
        seed=train_cfg.seed,
        device=device,
        limit=args.limit,
    )
    entry = record["presets"][preset_name] = {
        "image_size": model_cfg.image_size,
        "ngf": model_cfg.ngf,
        "ndf": model_cfg.ndf,
        "batch_size": batch,
        "images_in_loader": len(loader.images),
        "variants": {},
    }
    loops = {
        "reference": ReferenceLoop(model_cfg, train_cfg, device, args.data_root)
    }
    entry["variants"]["reference"] = {
        "description": ReferenceLoop.__doc__.splitlines()[0],
        "runs": [],
    }
    for name in variants:
        started = time.perf_counter()
        if args.dry_run and VARIANTS[name][0]["compile"] and device.type == "cpu":
            entry["variants"][name] = {
                "description": VARIANTS[name][2],
                "skipped": "dry run on the CPU: "
                "compiling takes minutes there (tests/test_cuda.py compiles on a GPU)",
            }
            continue
        try:
            loops[name] = make_variant(name, model_cfg, train_cfg, device, loader)
            entry["variants"][name] = {
                "description": VARIANTS[name][2],
                "runs": [],
                "setup_s": time.perf_counter() - started,
            }
        except VariantUnavailable as err:
            entry["variants"][name] = {
                "description": VARIANTS[name][2],
                "skipped": str(err),
            }
            print(f"{preset_name} {name}: skipped ({err})", flush=True)
        except Exception as err:  # noqa: BLE001 - one broken variant must not cost the others their figures
            entry["variants"][name] = {
                "description": VARIANTS[name][2],
                "failed": _failure(err),
            }
    write()
    chunk = max(1, args.steps // 4)
    for repeat in range(args.repeats):
        for name, loop in list(loops.items()):
            started = time.perf_counter()
            try:
                ips, steps = timed_images_per_second(
                    loop,
                    batch,
                    device,
                    args.warmup if repeat == 0 else 2,
                    chunk,
                    args.min_seconds,
                )
            except Exception as err:  # noqa: BLE001 - e.g. torch.compile failing at its first call
                if name == "reference":
                    raise
                entry["variants"][name] = {
                    "description": VARIANTS[name][2],
                    "failed": _failure(err),
                }
                del loops[name]
                continue
            runs = entry["variants"][name]["runs"]
            runs.append(ips)
            if (
                repeat == 0
            ):  # the first run's warm-up holds torch.compile's compile time
                entry["variants"][name]["first_run_s"] = (
                    time.perf_counter() - started
                )
            print(
                f"{preset_name} batch {batch} {name:14s} repeat {repeat + 1}: {ips:10.0f} images/s "
                f"({steps} steps)",
                flush=True,
            )
        write()
    reference = statistics.median(entry["variants"]["reference"]["runs"])
    for name, result in entry["variants"].items():
        if "runs" in result:
            result["images_per_s"] = statistics.median(result["runs"])
            result["vs_reference"] = result["images_per_s"] / reference
            result["epoch_s_estimated"] = (
                args.epoch_images / result["images_per_s"]
            )
    timed = {
        n: r
        for n, r in entry["variants"].items()
        if n != "reference" and "images_per_s" in r
    }
    fastest = (
        max(timed, key=lambda n: timed[n]["images_per_s"]) if timed else None
    )
    entry["fastest"] = fastest
    if args.epoch and fastest:
        loop = loops[fastest]
        _sync(device)
        started = time.perf_counter()
        for _ in range(len(loader)):
            loop.step()
        _sync(device)
        seconds = time.perf_counter() - started
        entry["epoch"] = {
            "variant": fastest,
            "steps": len(loader),
            "images": len(loader) * batch,
            "seconds": seconds,
            "reference_s_estimated": len(loader) * batch / reference,
            "vs_reference": len(loader) * batch / reference / seconds,
        }
        print(
            f"{preset_name}: one epoch ({len(loader)} steps, {len(loader) * batch} images) with {fastest}: "
            f"{seconds:.2f} s; the reference would take {entry['epoch']['reference_s_estimated']:.1f} s",
            flush=True,
        )
    if args.flops:
        flops = step_flops(
            model_cfg, train_cfg, device
        )  # the plain fp32 step: the same work in any variant
        peak, source = bf16_peak_tflops(device, args.peak_tflops)
        (
            entry["flops_per_step"],
            entry["bf16_peak_tflops"],
            entry["peak_source"],
        ) = flops, peak, source
        for result in entry["variants"].values():
            if "images_per_s" in result:
                result["tflops"] = flops / batch * result["images_per_s"] / 1e12
                result["peak_fraction"] = (
                    result["tflops"] / peak if peak else None
                )
        print(
            f"{preset_name}: {flops / 1e9:.1f} GFLOP per step; bf16 peak {peak} TFLOP/s ({source})",
            flush=True,
        )
    write()


def measure_grid(args, device: torch.device, record: dict, write) -> None:
    """Images/s of the package's default fast step (bf16 on a GPU) against image size and batch size."""
    preset = get_preset("mnist28")
    table = record["grid"] = []
    for size in args.grid_sizes:
        model_cfg = replace(
            _dry_run_model(preset.model) if args.dry_run else preset.model,
            image_size=size,
        )
        for batch in args.grid_batches:
            train_cfg = replace(preset.train, batch_size=batch)
            loader = make_loader(
                train_cfg.dataset,
                size,
                batch,
                args.data_root,
                seed=0,
                device=device,
                limit=max(args.grid_limit, 2 * batch),
            )  # throughput needs no full epoch
            try:
                loop = VariantLoop(
                    model_cfg, train_cfg, device, speed_settings(device), loader
                )  # the default
                ips, steps = timed_images_per_second(
                    loop,
                    batch,
                    device,
                    args.warmup,
                    max(1, args.steps // 4),
                    args.min_seconds,
                )
            except Exception as err:  # noqa: BLE001 - e.g. out of memory at the largest cell
                table.append(
                    {
                        "image_size": size,
                        "batch_size": batch,
                        "failed": _failure(err),
                    }
                )
                continue
            table.append(
                {
                    "image_size": size,
                    "batch_size": batch,
                    "package_images_per_s": ips,
                    "steps": steps,
                }
            )
            print(
                f"  image {size:3d}  batch {batch:4d}: {ips:10.0f} images/s",
                flush=True,
            )
            write()


def _dry_run_model(model_cfg: ModelConfig) -> ModelConfig:
    """The preset's architecture with 8 channels per layer at most: the same code in a fraction of the time."""
    return replace(
        model_cfg, ngf=min(model_cfg.ngf, 8), ndf=min(model_cfg.ndf, 8)
    )


def measure_variants(args) -> None:
    """--measure: every requested preset and variant, the epoch, the FLOPs, the grid; JSON after each part."""
    if args.dry_run:  # the same code at sizes a small CPU does in seconds
        args.batch_size, args.limit = args.batch_size or 8, args.limit or 64
        args.warmup, args.steps, args.repeats, args.min_seconds = 1, 4, 1, 0.0
        args.epoch_images, args.grid_limit = args.limit, 16
    device = pick_device(args.device)
    measures = [parse_measure(spec) for spec in args.measure]
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version()
        if torch.backends.cudnn.is_available()
        else None,
        "device": str(device),
        "device_name": hardware_name(device),
        "threads": torch.get_num_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "dry_run": args.dry_run,
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "repeats": args.repeats,
        "min_seconds": args.min_seconds,
        "epoch_images": args.epoch_images,
        "presets": {},
    }

    def write() -> None:
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(record, indent=1))

    for preset_name, variants in measures:
        measure_preset(preset_name, variants, args, device, record, write)
    if args.grid_sizes and args.grid_batches:
        measure_grid(args, device, record, write)
    write()
    if args.out:
        print("wrote", args.out)


def add_measure_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of --measure (speed variants, epoch, FLOPs, grid)."""

    def ints(text: str) -> list[int]:
        return [int(v) for v in text.split(",") if v]

    group = parser.add_argument_group(
        "speed variants (--measure; benchmarks/gpu_session.sh uses these)"
    )
    group.add_argument(
        "--measure",
        action="append",
        default=[],
        metavar="PRESET:VARIANT,...",
        help=f"time the reference loop and these variants of PRESET's step, alternating; "
        f"variants: {', '.join(VARIANTS)} (repeat the flag for several presets)",
    )
    group.add_argument(
        "--epoch",
        action="store_true",
        help="also time one whole epoch of the fastest variant",
    )
    group.add_argument(
        "--flops",
        action="store_true",
        help="count a step's FLOPs: TFLOP/s and share of bf16 peak",
    )
    group.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="the device's bf16 peak, if not in the table",
    )
    group.add_argument(
        "--min-seconds",
        type=float,
        default=0.5,
        help="time each run for at least this long",
    )
    group.add_argument(
        "--limit",
        type=int,
        default=None,
        help="load only the first N training images",
    )
    group.add_argument(
        "--epoch-images",
        type=int,
        default=60_000,
        help="images per epoch, for the estimates",
    )
    group.add_argument(
        "--grid-sizes",
        type=ints,
        default=[],
        help="image sizes of the scaling grid, e.g. 28,64,128",
    )
    group.add_argument(
        "--grid-batches",
        type=ints,
        default=[],
        help="batch sizes of the scaling grid, e.g. 64,256",
    )
    group.add_argument(
        "--grid-limit",
        type=int,
        default=8192,
        help="training images loaded for each grid cell",
    )
    group.add_argument(
        "--dry-run",
        action="store_true",
        help="tiny sizes: checks the code path on a CPU in seconds",
    )


if __name__ == "__main__":
    main()
