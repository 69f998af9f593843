"""Whole training loops on the CPU, side by side: the package against the loops people start from.

``python benchmarks/throughput.py --device cpu --end-to-end`` runs this. Each loop is timed
as a whole (data, step, logging, sample grids, checkpoints), not only its step:

- ``mnist28``: the tutorial-style loop (``throughput.ReferenceLoop``: a torchvision dataset with
  per-image transforms through a ``DataLoader``, the default Adam, ``.item()`` of both losses
  every step; here with the PyTorch DCGAN tutorial's printing every 50 iterations and its
  fixed-noise grid every 500) against the package's ``train_gan`` with the callbacks of a CLI
  run (collapse warning, a progress PNG every ``sample_every`` steps, checkpoints, progress bar);
- ``paper64`` at batch 64: pytorch/examples' ``dcgan/main.py`` on MNIST (its ``netG``/``netD``
  at ngf = ndf = 64 with ``Sigmoid`` + ``BCELoss``, ``Resize(64)``, ``ToTensor``, ``Normalize``
  through a ``DataLoader`` with its default 2 workers, two Adam(2e-4, (0.5, 0.999)), a print
  every step, ``save_image`` of reals and fixed-noise fakes every 100 iterations) against the
  package's ``train_gan`` as above.

The package runs in fp32 and, where the CPU has native bf16, also with bf16 autocast. The
loops alternate within one process (``--repeats`` rounds) and medians are reported. Achieved
GFLOP/s (FLOPs of one step from ``torch.utils.flop_counter``, times steps/s) are compared with
this machine's 2048 x 2048 matmul rate in the same dtype, measured in the same process.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import torchvision
import torchvision.utils as vutils
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from dcgan_tutorial.callbacks import CollapseWarning
from dcgan_tutorial.data import resolve_data_root
from dcgan_tutorial.device import cpu_has_native_bf16, hardware_name
from dcgan_tutorial.run import plan_run, prepare_run
from dcgan_tutorial.runfolder import RunFolder
from dcgan_tutorial.train import train_gan, train_step
from dcgan_tutorial.watchers import CheckpointWriter, SaveProgressImages


class PackageRun:
    """The package's loop (``train_gan``) with a CLI run's callbacks, continued ``steps`` at a time."""

    def __init__(
        self,
        preset: str,
        batch_size: int,
        precision: str,
        data_root,
        folder: Path,
    ):
        plan = plan_run(
            preset,
            train={"batch_size": batch_size, "seed": 0},
            limits={"steps": 1},
        )
        self.state, self.loader = prepare_run(plan, "cpu", data_root)
        self.state.speed = replace(self.state.speed, precision=precision)
        run_folder = RunFolder(folder)
        run_folder.root.mkdir(parents=True, exist_ok=True)
        self.watchers = [
            CollapseWarning(),
            SaveProgressImages(run_folder),
            CheckpointWriter(
                run_folder.checkpoint, 3, run_folder.kept_checkpoints
            ),
        ]

    def run(self, steps: int) -> None:
        self.state.train_cfg = replace(
            self.state.train_cfg, steps=self.state.step + steps
        )
        train_gan(self.state, self.loader, callbacks=self.watchers, progress=True)


class TutorialRun:
    """The tutorial-style step (``ReferenceLoop``) with the PyTorch DCGAN tutorial's loop around it."""

    def __init__(self, reference, sink):
        self.ref, self.sink, self.iters, self.img_list = reference, sink, 0, []
        self.fixed_noise = torch.randn(64, reference.nz, 1, 1)

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.ref.step()  # its losses' .item() every step, as the tutorial's G_losses/D_losses lists
            if self.iters % 50 == 0:
                print(f"[{self.iters}] training stats", file=self.sink)
            if self.iters % 500 == 0:
                with torch.no_grad():
                    fake = self.ref.G(self.fixed_noise).detach().cpu()
                self.img_list.append(
                    vutils.make_grid(fake, padding=2, normalize=True)
                )
            self.iters += 1


# pytorch/examples dcgan/main.py, its models and loop as published (MNIST: nc = 1; defaults nz 100,
# ngf = ndf = 64, imageSize 64, batchSize 64, workers 2, lr 0.0002, beta1 0.5).
def examples_weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class ExamplesGenerator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
            # state size. (nc) x 64 x 64
        )

    def forward(self, input):
        return self.main(input)


class ExamplesDiscriminator(nn.Module):
    def __init__(self, ndf=64, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


class ExamplesRun:
    """pytorch/examples dcgan/main.py's training loop on MNIST at 64 x 64, continued ``steps`` at a time."""

    def __init__(
        self, data_root, outf: Path, sink, batch_size: int = 64, workers: int = 2
    ):
        torch.manual_seed(0)
        dataset = torchvision.datasets.MNIST(
            root=str(resolve_data_root(data_root)),
            download=True,
            transform=transforms.Compose(
                [
                    transforms.Resize(64),
                    transforms.ToTensor(),
                    transforms.Normalize((0.5,), (0.5,)),
                ]
            ),
        )
        self.dataloader = DataLoader(
            dataset, batch_size=batch_size, shuffle=True, num_workers=workers
        )
        self.nz, self.outf, self.sink, self.epoch = 100, outf, sink, 0
        outf.mkdir(parents=True, exist_ok=True)
        self.netG, self.netD = ExamplesGenerator(), ExamplesDiscriminator()
        self.netG.apply(examples_weights_init)
        self.netD.apply(examples_weights_init)
        self.criterion = nn.BCELoss()
        self.fixed_noise = torch.randn(batch_size, self.nz, 1, 1)
        self.optimizerD = torch.optim.Adam(
            self.netD.parameters(), lr=0.0002, betas=(0.5, 0.999)
        )
        self.optimizerG = torch.optim.Adam(
            self.netG.parameters(), lr=0.0002, betas=(0.5, 0.999)
        )
        self.batches = enumerate(self.dataloader, 0)

    def run(self, steps: int) -> None:
        netG, netD, criterion, real_label, fake_label = (
            self.netG,
            self.netD,
            self.criterion,
            1,
            0,
        )
        for _ in range(steps):
            try:
                i, data = next(self.batches)
            except StopIteration:  # end of an epoch: main.py saves both models
                torch.save(
                    netG.state_dict(), self.outf / f"netG_epoch_{self.epoch}.pth"
                )
                torch.save(
                    netD.state_dict(), self.outf / f"netD_epoch_{self.epoch}.pth"
                )
                self.epoch += 1
                self.batches = enumerate(self.dataloader, 0)
                i, data = next(self.batches)
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            real_cpu = data[0]
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = torch.randn(batch_size, self.nz, 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            self.optimizerD.step()
            # (2) Update G network: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            self.optimizerG.step()
            print(
                "[%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f"
                % (
                    self.epoch,
                    i,
                    len(self.dataloader),
                    errD.item(),
                    errG.item(),
                    D_x,
                    D_G_z1,
                    D_G_z2,
                ),
                file=self.sink,
            )
            if i % 100 == 0:
                vutils.save_image(
                    real_cpu, self.outf / "real_samples.png", normalize=True
                )
                fake = netG(self.fixed_noise)
                vutils.save_image(
                    fake.detach(),
                    self.outf / f"fake_samples_epoch_{self.epoch:03d}.png",
                    normalize=True,
                )


def matmul_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 8) -> float:
    """This machine's rate for one n x n matmul in ``dtype`` (GFLOP/s)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(2):
        a @ b
    started = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - started) / 1e9


def step_flops(preset: str, batch_size: int, data_root) -> int:
    """FLOPs of one package training step of ``preset`` (convolutions and matmuls, forward and backward)."""
    plan = plan_run(
        preset,
        train={"batch_size": batch_size, "fast": False},
        limits={"steps": 1},
    )
    state, loader = prepare_run(plan, "cpu", data_root, limit=batch_size)
    real = next(iter(loader))[0]
    with FlopCounterMode(display=False) as counter:
        train_step(state, real)
    return int(counter.get_total_flops())


def compare_loops(
    name: str, loops: dict, batch_size: int, warmup: int, steps: int, repeats: int
) -> dict:
    """Images/s of each loop run as a whole, alternating, ``repeats`` rounds; medians."""
    for loop in loops.values():
        loop.run(warmup)
    runs = {k: [] for k in loops}
    for repeat in range(repeats):
        for key, loop in loops.items():
            started = time.perf_counter()
            loop.run(steps)
            runs[key].append(steps * batch_size / (time.perf_counter() - started))
            print(
                f"{name} repeat {repeat + 1}: {key:24s} {runs[key][-1]:8.1f} images/s",
                flush=True,
            )
    return {
        k: {"runs": v, "images_per_s": statistics.median(v)}
        for k, v in runs.items()
    }


def end_to_end(args, reference_loop_class) -> dict:
    """Both comparisons, the matmul rates and the FLOP fractions; JSON to ``args.out``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    precisions = ["fp32", "bf16"] if cpu_has_native_bf16() else ["fp32"]
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "torch": torch.__version__,
        "machine": hardware_name("cpu"),
        "threads": torch.get_num_threads(),
        "cpu_has_native_bf16": cpu_has_native_bf16(),
        "command": "python "
        + " ".join(
            "DIR" if a == args.data_root else shlex.quote(a) for a in sys.argv
        ),
        "steps_per_run": args.steps,
        "repeats": args.repeats,
        "load_average_at_start": os.getloadavg(),
        "comparisons": {},
    }
    rates = {"fp32": [], "bf16": []}
    for _ in range(3):
        for p, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            rates[p].append(matmul_gflops(dtype))
    record["matmul_2048_gflops"] = {
        p: statistics.median(v) for p, v in rates.items()
    }
    print(
        "matmul 2048 GFLOP/s:",
        {p: round(v) for p, v in record["matmul_2048_gflops"].items()},
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        open(os.devnull, "w") as sink,
        contextlib.redirect_stderr(sink),
    ):
        tmp = Path(tmp)
        for preset, batch, peer in (
            ("mnist28", 64, "tutorial-style"),
            ("paper64", 64, "pytorch/examples main.py"),
        ):
            if args.end_to_end_presets and preset not in args.end_to_end_presets:
                continue
            plan = plan_run(preset, train={"batch_size": batch})
            if peer == "tutorial-style":
                peer_loop = TutorialRun(
                    reference_loop_class(
                        plan.model_cfg,
                        plan.train_cfg,
                        torch.device("cpu"),
                        args.data_root,
                    ),
                    sink,
                )
            else:
                peer_loop = ExamplesRun(
                    args.data_root, tmp / "examples", sink, batch
                )
            loops = {peer: peer_loop}
            for p in precisions:
                loops[f"package {p}"] = PackageRun(
                    preset, batch, p, args.data_root, tmp / f"{preset}_{p}"
                )
            result = compare_loops(
                preset, loops, batch, args.warmup, args.steps, args.repeats
            )
            flops = step_flops(preset, batch, args.data_root)
            for key, entry in result.items():
                entry["vs_peer"] = (
                    entry["images_per_s"] / result[peer]["images_per_s"]
                )
                entry["ms_per_step"] = 1000 * batch / entry["images_per_s"]
                dtype = "bf16" if key.endswith("bf16") else "fp32"
                entry["gflops"] = flops * entry["images_per_s"] / batch / 1e9
                entry["fraction_of_matmul_rate"] = (
                    entry["gflops"] / record["matmul_2048_gflops"][dtype]
                )
                entry["matmul_dtype"] = dtype
            record["comparisons"][preset] = {
                "batch_size": batch,
                "peer": peer,
                "flops_per_step": flops,
                "loops": result,
            }
            if args.out:
                record["load_average_at_end"] = os.getloadavg()
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).write_text(json.dumps(record, indent=1))
    for preset, comparison in record["comparisons"].items():
        print(
            f"\n{preset}, batch {comparison['batch_size']}, {comparison['flops_per_step'] / 1e9:.2f} GFLOP a step:"
        )
        for key, entry in comparison["loops"].items():
            print(
                f"  {key:26s} {entry['images_per_s']:8.1f} images/s {entry['ms_per_step']:8.1f} ms/step "
                f"{entry['vs_peer']:5.2f}x  {entry['gflops']:7.1f} GFLOP/s = "
                f"{100 * entry['fraction_of_matmul_rate']:.1f}% of the {entry['matmul_dtype']} matmul rate"
            )
    if args.out:
        print("wrote", args.out)
    return record


def add_end_to_end_arguments(parser) -> None:
    group = parser.add_argument_group("whole loops on the CPU (--end-to-end)")
    group.add_argument(
        "--end-to-end",
        action="store_true",
        help="time whole loops: package vs tutorial-style (mnist28), vs pytorch/examples (paper64)",
    )
    group.add_argument(
        "--end-to-end-presets",
        nargs="*",
        default=None,
        choices=("mnist28", "paper64"),
    )
    group.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's choice)",
    )
