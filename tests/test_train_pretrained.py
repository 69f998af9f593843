"""scripts/train_pretrained.py: a shipped generator is the run's own, with its command and curve."""

import subprocess
import sys
from pathlib import Path

import torch

from dcgan_tutorial.presets import DEFAULT_PRESET
from dcgan_tutorial.pretrained import load_generator_file
from dcgan_tutorial.runfolder import RunFolder

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_pretrained.py"
TRAIN = [
    "--limit", "256", "--batch-size", "8", "--ngf", "4", "--ndf", "4", "--nz", "8",
    "--ema-decay", "0.9", "--fid-every", "2", "--checkpoint-every", "2",
    "--keep", "10", "--sample-every", "2", "--device", "cpu", "--seed", "0",
    "--precision", "fp32",
]  # fmt: skip


def _script(data_root, run, out, steps, *flags):
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--data-root",
            str(data_root),
            "--run-dir",
            str(run),
            "--out",
            str(out),
            *flags,
            "--",
            *TRAIN,
            "--steps",
            str(steps),
        ],  # fmt: skip
        check=True,
        capture_output=True,
        env={"OMP_NUM_THREADS": "1", **__import__("os").environ},
    )


def test_best_ships_the_lowest_fid_generator_of_a_resumed_run(
    tmp_path, data_root
):
    run, out = tmp_path / "run", tmp_path / "mnist_generator.pt"
    _script(data_root, run, out, 4)
    _script(data_root, run, out, 8, "--resume", "--best")  # continues to step 8
    folder = RunFolder(run)
    assert torch.load(folder.checkpoint, weights_only=True)["step"] == 8
    best = torch.load(folder.best_generator, weights_only=True)
    G, cfg, meta = load_generator_file(out)
    assert meta["step"] == best["step"] and cfg.ngf == 4
    for (
        name,
        weight,
    ) in G.state_dict().items():  # the best generator's (EMA) weights
        assert torch.equal(weight, best["G"][name]), name
    provenance = meta["provenance"]
    curve = provenance["fid_curve"]
    assert [p["step"] for p in curve] == [
        2,
        4,
        6,
        8,
    ]  # the curve spans the resume
    assert (
        provenance["seconds"] == min(curve, key=lambda p: p["fid"])["cpu_seconds"]
    )
    assert f"step {best['step']}:" in provenance["selected"]
    # the command that makes it again: no --resume, the run folder and data as placeholders
    assert "--resume" not in provenance["command"]
    # the preset is named, so a later change of the default leaves the record true
    assert f"--preset {DEFAULT_PRESET}" in provenance["command"]
    assert (
        "--out RUN" in provenance["command"]
        and "--data-root DIR" in provenance["command"]
    )


def test_export_only_ships_the_run_as_it_stands(tmp_path, data_root):
    run, out = tmp_path / "run", tmp_path / "g.pt"
    _script(data_root, run, out, 4)
    before = torch.load(RunFolder(run).checkpoint, weights_only=True)["step"]
    out.unlink()
    _script(data_root, run, out, 8, "--export-only")  # no training
    assert (
        torch.load(RunFolder(run).checkpoint, weights_only=True)["step"] == before
    )
    assert load_generator_file(out)[2]["step"] == before
