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
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

from dcgan_tutorial.config import ModelConfig, TrainConfig, get_preset
from dcgan_tutorial.data import make_loader, resolve_data_root
from dcgan_tutorial.losses import d_loss, g_loss_non_saturating
from dcgan_tutorial.models import build_models
from dcgan_tutorial.speed import hardware_name
from dcgan_tutorial.train import make_state, pick_device, train_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class ReferenceLoop:
    """The PyTorch DCGAN tutorial's loop, with logits: DataLoader, per-step .to(device), fp32."""

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device, data_root):
        torch.manual_seed(train_cfg.seed)
        self.G, self.D = (m.to(device) for m in build_models(model_cfg))
        betas = (train_cfg.beta1, train_cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=train_cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=train_cfg.lr_d, betas=betas)
        tf = [transforms.Resize(model_cfg.image_size)] if model_cfg.image_size != 28 else []
        tf += [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]
        dataset = torchvision.datasets.MNIST(str(resolve_data_root(data_root)), train=True, download=True,
                                             transform=transforms.Compose(tf))
        self.loader = DataLoader(dataset, batch_size=train_cfg.batch_size, shuffle=True, drop_last=True,
                                 num_workers=0)
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

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device, data_root):
        self.state = make_state(model_cfg, train_cfg, device)
        self.loader = make_loader(train_cfg.dataset, model_cfg.image_size, train_cfg.batch_size, data_root,
                                  seed=train_cfg.seed, device=device)
        self.epoch, self.batches = 0, self.loader.batches(0)

    def step(self) -> None:
        batch = next(self.batches, None)
        if batch is None:
            self.epoch += 1
            self.batches = self.loader.batches(self.epoch)
            batch = next(self.batches)
        train_step(self.state, batch[0])


def images_per_second(loop, batch_size: int, device, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        loop.step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        loop.step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)


def compare(model_cfg, train_cfg, device, data_root, warmup, steps, repeats) -> dict:
    """Median images/s of the reference and the package, alternating, and their ratio."""
    ref = ReferenceLoop(model_cfg, train_cfg, device, data_root)
    pkg = PackageLoop(model_cfg, train_cfg, device, data_root)
    ref_runs, pkg_runs = [], []
    for _ in range(repeats):
        ref_runs.append(images_per_second(ref, train_cfg.batch_size, device, warmup, steps))
        pkg_runs.append(images_per_second(pkg, train_cfg.batch_size, device, warmup, steps))
    ref_ips, pkg_ips = statistics.median(ref_runs), statistics.median(pkg_runs)
    return {"reference_images_per_s": ref_ips, "package_images_per_s": pkg_ips, "ratio": pkg_ips / ref_ips,
            "reference_runs": ref_runs, "package_runs": pkg_runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps", "auto"))
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--preset", default="mnist28")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scaling", action="store_true", help="also time batch sizes 32-256 and sizes 28/64/128")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args()

    device = pick_device(args.device)
    preset = get_preset(args.preset)
    train_cfg = TrainConfig(**{**preset.train.__dict__, **({"batch_size": args.batch_size} if args.batch_size else {})})
    result = compare(preset.model, train_cfg, device, args.data_root, args.warmup, args.steps, args.repeats)
    print(f"{args.preset} batch {train_cfg.batch_size} on {device}: reference {result['reference_images_per_s']:.0f} "
          f"images/s, package {result['package_images_per_s']:.0f} images/s, ratio {result['ratio']:.2f}")
    record = {"date": datetime.date.today().isoformat(), "torch": torch.__version__, "device": str(device),
              "device_name": hardware_name(device), "threads": torch.get_num_threads(), "preset": args.preset,
              "batch_size": train_cfg.batch_size, **result, "command": "python benchmarks/throughput.py " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                  if v not in (None, False) and k not in ("data_root", "out"))}
    if args.scaling:
        table = []
        for size in (28, 64, 128):
            for batch in (32, 64, 128, 256):
                model = ModelConfig(**{**preset.model.__dict__, "image_size": size})
                cfg = TrainConfig(**{**preset.train.__dict__, "batch_size": batch})
                pkg = PackageLoop(model, cfg, device, args.data_root)
                ips = images_per_second(pkg, batch, device, args.warmup // 2 or 1, max(5, args.steps // 4))
                table.append({"image_size": size, "batch_size": batch, "package_images_per_s": ips})
                print(f"  image {size:3d}  batch {batch:3d}: {ips:8.0f} images/s", flush=True)
        record["scaling"] = table
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1))
        print("wrote", args.out)


if __name__ == "__main__":
    main()
