"""The command line, run as a learner runs it: a real process on the real MNIST files."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from dcgan_tutorial.cli import main
from dcgan_tutorial.config import ConfigError, ModelConfig
from dcgan_tutorial.data import make_loader
from dcgan_tutorial.presets import DEFAULT_PRESET, get_preset

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "dcgan_tutorial", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )


@pytest.fixture(scope="module")
def trained_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run_cli(
        "train",
        "--dataset",
        "mnist",
        "--data-root",
        data_root,
        "--out",
        out,
        "--steps",
        30,
        "--device",
        "cpu",
        "--seed",
        0,
        "--limit",
        2048,
        "--sample-every",
        10,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_writes_checkpoint_grids_curves_and_gif(trained_run):
    out, result = trained_run
    assert "done: step 30" in result.stdout
    assert (out / "checkpoint.pt").is_file()
    assert sorted(p.name for p in (out / "progress").iterdir()) == [
        "step_000000.png",
        "step_000010.png",
        "step_000020.png",
        "step_000030.png",
    ]
    assert (out / "losses.png").stat().st_size > 1000
    gif = Image.open(out / "training.gif")
    assert gif.n_frames == 4
    data = torch.load(out / "checkpoint.pt", weights_only=True)
    assert data["step"] == 30 and data["model_config"]["image_size"] == 28
    assert len(data["history"]["d_loss"]) == 30


def test_sample_writes_n_grey_pngs_and_a_grid(trained_run, tmp_path):
    out, _ = trained_run
    result = run_cli(
        "sample",
        "--checkpoint",
        out / "checkpoint.pt",
        "--n",
        7,
        "--out",
        tmp_path,
        "--seed",
        3,
        "--device",
        "cpu",
    )
    assert result.returncode == 0, result.stderr
    pngs = sorted((tmp_path / "images").glob("*.png"))
    assert len(pngs) == 7
    img = Image.open(pngs[0])
    assert img.mode == "L" and img.size == (28, 28)
    assert (tmp_path / "grid.png").is_file()
    again = tmp_path / "again"
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(out / "checkpoint.pt"),
                "--n",
                "7",
                "--out",
                str(again),
                "--seed",
                "3",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (again / "images" / "sample_0003.png").read_bytes() == (
        tmp_path / "images" / "sample_0003.png"
    ).read_bytes()


def test_resume_continues_to_more_steps_in_the_same_folder(
    trained_run, data_root
):
    out, _ = trained_run
    before = torch.load(out / "checkpoint.pt", weights_only=True)
    result = run_cli(
        "train",
        "--data-root",
        data_root,
        "--out",
        out,
        "--resume",
        out / "checkpoint.pt",
        "--steps",
        35,
        "--device",
        "cpu",
        "--limit",
        2048,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    after = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (
        after["step"] == 35
        and after["history"]["step"][:30] == before["history"]["step"]
    )


def test_missing_data_root_gives_the_clear_message(tmp_path):
    result = run_cli(
        "train",
        "--data-root",
        tmp_path / "nowhere",
        "--out",
        tmp_path / "run",
        "--steps",
        2,
        "--device",
        "cpu",
        "--no-download",
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1  # one line, no traceback
    assert (
        "train-images-idx3-ubyte.gz" in result.stderr
        and "--data-root" in result.stderr
    )
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--preset", "huge"],
            "--preset 'huge' is not allowed: choose one of mnist28, paper64",
        ),
        (
            ["--dataset", "svhn"],
            "--dataset 'svhn' is not allowed: choose one of mnist, fashion-mnist",
        ),
        (
            ["--batch-size", "0"],
            "argument --batch-size: '0' is not allowed: use a finite number greater than 0",
        ),
        (["--lr", "-1"], "argument --lr: '-1' is not allowed"),
        (["--lr", "abc"], "argument --lr: 'abc' is not a number"),
        (
            ["--beta1", "1.5"],
            "argument --beta1: '1.5' is not allowed: use a number in [0, 1)",
        ),
        (["--nz", "0"], "argument --nz: '0' is not allowed"),
        (
            ["--image-size", "30"],
            "--image-size 30 is not allowed: the model doubles the image",
        ),
        (["--time-budget", "0"], "argument --time-budget: '0' is not allowed"),
        (["--steps", "2.5"], "argument --steps: '2.5' is not a whole number"),
        (["--resume", "missing.pt"], "checkpoint missing.pt does not exist"),
    ],
)
def test_bad_flags_give_one_line_errors_and_exit_2(
    args, message, tmp_path, capsys
):
    code = main(["train", "--out", str(tmp_path / "run"), "--steps", "1", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err, err
    assert err.count("\n") == 1
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_sample_from_a_non_checkpoint_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("hello")
    code = main(
        [
            "sample",
            "--checkpoint",
            str(bad),
            "--n",
            "3",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert (
        code == 2
        and "not a readable dcgan_tutorial checkpoint" in capsys.readouterr().err
    )


@pytest.mark.parametrize("command", ["train", "sample"])
def test_help_documents_every_flag(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    from dcgan_tutorial.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        assert action.help, action.option_strings
        for flag in action.option_strings:
            assert flag in text


# --- bad input: one line, exit status 2, and a saved checkpoint left as it was ---------------------


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("good_run")
    assert (
        main(
            [
                "train",
                "--data-root",
                str(data_root),
                "--out",
                str(out),
                "--steps",
                "3",
                "--limit",
                "256",
                "--device",
                "cpu",
                "--no-progress",
                "--sample-every",
                "100",
            ]
        )
        == 0
    )
    return out


def _refused(capsys, argv, message, run):
    before = {p: _digest(p) for p in run.rglob("*.pt")}
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert {p: _digest(p) for p in run.rglob("*.pt")} == before
    return err


def _train_argv(run, data_root, *extra):
    return [
        "train",
        "--data-root",
        str(data_root),
        "--out",
        str(run),
        "--resume",
        str(run / "checkpoint.pt"),
        "--limit",
        "256",
        "--device",
        "cpu",
        *extra,
    ]


@pytest.mark.parametrize(
    "flag, value, message",
    [
        (
            "--batch-size",
            "0",
            "argument --batch-size: '0' is not allowed: use a finite number greater than 0",
        ),
        ("--batch-size", "-5", "argument --batch-size: '-5' is not allowed"),
        (
            "--batch-size",
            "12.5",
            "argument --batch-size: '12.5' is not a whole number",
        ),
        (
            "--lr",
            "nan",
            "argument --lr: 'nan' is not allowed: use a finite number greater than 0",
        ),
        ("--lr", "inf", "argument --lr: 'inf' is not allowed"),
        ("--lr-d", "0", "argument --lr-d: '0' is not allowed"),
        (
            "--beta1",
            "1.0",
            "argument --beta1: '1.0' is not allowed: use a number in [0, 1)",
        ),
        ("--beta1", "-0.1", "argument --beta1: '-0.1' is not allowed"),
        ("--steps", "0", "argument --steps: '0' is not allowed"),
        ("--epochs", "-1", "argument --epochs: '-1' is not allowed"),
        (
            "--time-budget",
            "soon",
            "argument --time-budget: 'soon' is not a number",
        ),
        (
            "--seed",
            "-1",
            "argument --seed: '-1' is not allowed: use a whole number >= 0",
        ),
        ("--keep", "-2", "argument --keep: '-2' is not allowed"),
        ("--device", "tpu", "argument --device: invalid choice: 'tpu'"),
        (
            "--loss",
            "wasserstein",
            "argument --loss: invalid choice: 'wasserstein'",
        ),
    ],
)
def test_bad_flag_value_is_refused_and_checkpoint_kept(
    flag, value, message, good_run, data_root, capsys
):
    _refused(
        capsys, _train_argv(good_run, data_root, flag, value), message, good_run
    )


def test_unknown_flag_is_refused(good_run, data_root, capsys):
    _refused(
        capsys,
        _train_argv(good_run, data_root, "--learning-rate", "1"),
        "unrecognized arguments: --learning-rate 1",
        good_run,
    )


def test_unknown_preset_lists_the_known_ones(good_run, data_root, capsys):
    _refused(
        capsys,
        [
            "train",
            "--out",
            str(good_run / "other"),
            "--preset",
            "dcgan9000",
            "--steps",
            "1",
        ],
        "--preset 'dcgan9000' is not allowed: choose one of",
        good_run,
    )


def test_impossible_image_size_names_the_allowed_sizes(good_run, capsys):
    _refused(
        capsys,
        [
            "train",
            "--out",
            str(good_run / "other"),
            "--image-size",
            "100",
            "--steps",
            "1",
        ],
        "--image-size 100 is not allowed: the model doubles the image from 4x4 or 7x7",
        good_run,
    )


def test_resume_cannot_change_the_model_shape(good_run, data_root, capsys):
    _refused(
        capsys,
        _train_argv(good_run, data_root, "--nz", "64"),
        "--nz 64 is not allowed: a resumed model keeps its shape (the checkpoint's is "
        f"{get_preset(DEFAULT_PRESET).model.nz})",  # the run trained the default preset
        good_run,
    )


def test_resume_with_a_preset_is_refused(good_run, data_root, capsys):
    _refused(
        capsys,
        _train_argv(good_run, data_root, "--preset", "paper64"),
        "--preset 'paper64' is not allowed: it cannot be combined with resuming",
        good_run,
    )


def test_training_into_an_existing_run_without_resume_is_refused(
    good_run, data_root, capsys
):
    _refused(
        capsys,
        [
            "train",
            "--data-root",
            str(data_root),
            "--out",
            str(good_run),
            "--steps",
            "2",
        ],
        "checkpoint.pt already exists: continue it with --resume",
        good_run,
    )


def test_output_folder_that_cannot_be_written_is_refused(
    good_run, tmp_path, capsys
):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    _refused(
        capsys,
        ["train", "--out", str(blocker / "run"), "--steps", "1"],
        "cannot be written",
        good_run,
    )


def test_batch_larger_than_the_dataset_is_refused(good_run, data_root, capsys):
    _refused(
        capsys,
        _train_argv(
            good_run, data_root, "--batch-size", "1000", "--limit", "100"
        ),
        "--batch-size 1000 is not allowed: the dataset has only 100 images",
        good_run,
    )


def test_sample_count_must_be_positive(good_run, tmp_path, capsys):
    _refused(
        capsys,
        [
            "sample",
            "--checkpoint",
            str(good_run / "checkpoint.pt"),
            "--n",
            "0",
            "--out",
            str(tmp_path),
        ],
        "argument --n: '0' is not allowed",
        good_run,
    )


def test_colour_model_on_grey_data_is_refused(data_root):
    with pytest.raises(
        ConfigError,
        match=r"nc=3 is not allowed: mnist images are grey \(1 channel\)",
    ):
        make_loader("mnist", 28, 16, data_root, limit=64, nc=3)
    assert ModelConfig(nc=3).validate().nc == 3


def test_precision_flag_is_kept_in_the_checkpoint_and_fp16_on_a_cpu_is_refused(
    tmp_path, data_root, capsys
):
    common = [
        "--data-root",
        str(data_root),
        "--steps",
        "2",
        "--device",
        "cpu",
        "--limit",
        "256",
        "--no-progress",
    ]
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "run"),
                "--precision",
                "fp32",
                *common,
            ]
        )
        == 0
    )
    stored = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert stored["train_config"]["precision"] == "fp32"
    capsys.readouterr()
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "half"),
                "--precision",
                "fp16",
                *common,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "fp16 with loss scaling runs on a CUDA GPU" in err
        and err.count("\n") == 1
    ), err
    assert not (tmp_path / "half" / "checkpoint.pt").exists()


def test_help_starts_without_torchmetrics_matplotlib_or_onnx():
    """``python -m dcgan_tutorial --help`` answers at once: FID, plots and ONNX are imported where they are used."""
    code = (
        "import runpy, sys\n"
        "sys.argv = ['dcgan_tutorial', '--help']\n"
        "try:\n"
        "    runpy.run_module('dcgan_tutorial', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torchmetrics', 'matplotlib', 'onnx', 'onnxruntime'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert "usage: python -m dcgan_tutorial" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
