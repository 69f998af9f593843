"""benchmarks/gpu_session.sh --dry-run: every step of the GPU session runs on the CPU at tiny sizes.

One session (about 2 minutes on 2 idle cores) feeds every test of this file. In a dry run the
session executes chapter 6 only, in quick mode; chapter 7 is recorded as skipped.
"""

import argparse
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
import torch

from dcgan_tutorial.pretrained import load_generator_file

REPO = Path(__file__).resolve().parents[1]
STEPS = [
    "install",
    "environment",
    "cuda_tests",
    "throughput",
    "train_mnist64",
    "fid_mnist64",
    "chapter06",
    "chapter07",
]


@pytest.fixture(scope="module")
def session(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_session")
    env = {
        **os.environ,
        "DCGAN_TUTORIAL_DATA": str(data_root),
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [
            "bash",
            str(REPO / "benchmarks" / "gpu_session.sh"),
            "--dry-run",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=1800,
    )
    log = (out / "log.txt").read_text() if (out / "log.txt").is_file() else ""
    assert result.returncode == 0, result.stderr[-3000:] + log[-5000:]
    return out, json.loads((out / "summary.json").read_text())


def test_every_step_is_recorded_and_none_failed(session):
    out, summary = session
    assert list(summary["steps"]) == STEPS
    assert summary["failed"] == [] and summary["dry_run"] is True
    statuses = {name: step["status"] for name, step in summary["steps"].items()}
    for name, status in statuses.items():
        assert status == "ok" or status.startswith("skipped: "), (
            name,
            status,
            (out / "log.txt").read_text()[-4000:],
        )
    if not torch.cuda.is_available():
        assert statuses["cuda_tests"].startswith("skipped: no CUDA")
    assert statuses["chapter07"].startswith("skipped: dry run")
    # what needs CUDA is named as skipped, not left out
    assert summary["skipped_parts"]["throughput mnist28 cuda_graph"].startswith(
        "skipped: no CUDA"
    )


def test_environment_names_the_machine_the_versions_and_the_command(session):
    out, _ = session
    env = json.loads((out / "environment.json").read_text())
    assert (
        env["torch"] == torch.__version__
        and env["cuda_available"] == torch.cuda.is_available()
    )
    assert (
        env["command"] == f"bash benchmarks/gpu_session.sh --dry-run --out {out}"
    )
    assert env["date"][:4].isdigit() and env["cpu_count"] >= 1
    assert "cudnn" in env and "gpus" in env


def test_throughput_measures_every_variant_against_the_reference(session):
    out, _ = session
    record = json.loads((out / "throughput_cuda.json").read_text())
    assert record["dry_run"] is True and "--measure" in record["command"]
    for preset in ("mnist28", "paper64"):
        entry = record["presets"][preset]
        for name in ("reference", "fp32", "channels_last", "bf16"):
            assert entry["variants"][name]["images_per_s"] > 0, (preset, name)
        assert entry["epoch"]["steps"] > 0 and entry["epoch"]["seconds"] > 0
        assert entry["flops_per_step"] > 0
    assert "skipped" in record["presets"]["mnist28"]["variants"]["cuda_graph"]
    assert {(row["image_size"], row["batch_size"]) for row in record["grid"]} == {
        (28, 8),
        (28, 16),
        (64, 8),
        (64, 16),
    }


def test_exported_generator_loads_safely_and_makes_64x64_digits(session):
    out, _ = session
    path = out / "mnist64_generator.pt"
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["model_config"]["image_size"] == 64
    G, cfg, meta = load_generator_file(path)
    images = G(torch.randn(2, cfg.nz, 1, 1))
    assert images.shape == (2, 1, 64, 64)
    provenance = meta["provenance"]
    assert provenance["command"].startswith(
        "python -m dcgan_tutorial train --data-root DIR"
    )
    assert (
        "--preset paper64" in provenance["command"]
        and provenance["date"]
        and provenance["hardware"]
    )
    fid = json.loads((out / "fid_over_training_mnist64.json").read_text())
    assert provenance["selected"].startswith(fid["best"]["checkpoint"])
    assert meta["step"] == fid["best"]["step"]
    kept = sorted(
        p.name
        for p in (out / "runs" / "mnist64" / "checkpoints").glob("step_*.pt")
    )
    assert kept == [
        fid["best"]["checkpoint"]
    ]  # the others were evaluated, then dropped


def test_chapter_6_is_executed_beside_the_book_not_in_it(session):
    out, _ = session
    notebook = nbformat.read(
        out / "notebooks" / "06_training_on_a_gpu.ipynb", as_version=4
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code)
    assert not [
        o for cell in code for o in cell.outputs if o.output_type == "error"
    ]
    # the chapter ran in the session's scratch copy of book/ (its runs/ copied here), not in book/ itself
    assert (
        out / "notebooks" / "runs" / "chapter06" / "training.gif"
    ).stat().st_size > 0
    assert (out / "notebooks" / "runs" / "chapter06" / "checkpoint.pt").is_file()


def _throughput_module():
    spec = importlib.util.spec_from_file_location(
        "throughput", REPO / "benchmarks" / "throughput.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_failing_variant_is_recorded_and_the_others_still_measured(
    data_root, tmp_path
):
    throughput = _throughput_module()
    make_variant = throughput.make_variant

    def make_broken_channels_last(name, *args):
        loop = make_variant(name, *args)
        if (
            name == "channels_last"
        ):  # as torch.compile failing at its first call would

            def step():
                raise RuntimeError("no kernel for this GPU\nmore detail")

            loop.step = step
        return loop

    throughput.make_variant = make_broken_channels_last
    args = argparse.Namespace(
        device="cpu",
        data_root=str(data_root),
        batch_size=None,
        epoch=False,
        flops=False,
        measure=["mnist28:fp32,channels_last"],
        peak_tflops=None,
        limit=None,
        epoch_images=60_000,
        grid_sizes=[],
        grid_batches=[],
        grid_limit=64,
        dry_run=True,
        out=str(tmp_path / "t.json"),
    )
    throughput.measure_variants(args)
    variants = json.loads((tmp_path / "t.json").read_text())["presets"][
        "mnist28"
    ]["variants"]
    assert (
        variants["channels_last"]["failed"]
        == "RuntimeError: no kernel for this GPU"
    )
    assert (
        variants["fp32"]["images_per_s"] > 0
        and variants["reference"]["images_per_s"] > 0
    )
