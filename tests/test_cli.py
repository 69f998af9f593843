"""The command line, run as a learner runs it: a real process on the real MNIST files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from dcgan_tutorial.cli import main

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "dcgan_tutorial", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=600)


@pytest.fixture(scope="module")
def trained_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run_cli("train", "--dataset", "mnist", "--data-root", data_root, "--out", out, "--steps", 30,
                     "--device", "cpu", "--seed", 0, "--limit", 2048, "--sample-every", 10, "--no-progress")
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_writes_checkpoint_grids_curves_and_gif(trained_run):
    out, result = trained_run
    assert "done: step 30" in result.stdout
    assert (out / "checkpoint.pt").is_file()
    assert sorted(p.name for p in (out / "progress").iterdir()) == [
        "step_000000.png", "step_000010.png", "step_000020.png", "step_000030.png"]
    assert (out / "losses.png").stat().st_size > 1000
    gif = Image.open(out / "training.gif")
    assert gif.n_frames == 4
    data = torch.load(out / "checkpoint.pt", weights_only=True)
    assert data["step"] == 30 and data["model_config"]["image_size"] == 28
    assert len(data["history"]["d_loss"]) == 30


def test_sample_writes_n_grey_pngs_and_a_grid(trained_run, tmp_path):
    out, _ = trained_run
    result = run_cli("sample", "--checkpoint", out / "checkpoint.pt", "--n", 7, "--out", tmp_path, "--seed", 3,
                     "--device", "cpu")
    assert result.returncode == 0, result.stderr
    pngs = sorted((tmp_path / "images").glob("*.png"))
    assert len(pngs) == 7
    img = Image.open(pngs[0])
    assert img.mode == "L" and img.size == (28, 28)
    assert (tmp_path / "grid.png").is_file()
    again = tmp_path / "again"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.pt"), "--n", "7", "--out", str(again),
                 "--seed", "3", "--device", "cpu"]) == 0
    assert (again / "images" / "sample_0003.png").read_bytes() == (tmp_path / "images" / "sample_0003.png").read_bytes()


def test_resume_continues_to_more_steps_in_the_same_folder(trained_run, data_root):
    out, _ = trained_run
    before = torch.load(out / "checkpoint.pt", weights_only=True)
    result = run_cli("train", "--data-root", data_root, "--out", out, "--resume", out / "checkpoint.pt",
                     "--steps", 35, "--device", "cpu", "--limit", 2048, "--no-progress")
    assert result.returncode == 0, result.stderr
    after = torch.load(out / "checkpoint.pt", weights_only=True)
    assert after["step"] == 35 and after["history"]["step"][:30] == before["history"]["step"]


def test_train_refuses_to_overwrite_an_existing_checkpoint(trained_run, data_root, capsys):
    out, _ = trained_run
    before = (out / "checkpoint.pt").read_bytes()
    code = main(["train", "--data-root", str(data_root), "--out", str(out), "--steps", "2", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "already exists" in err and "--resume" in err
    assert (out / "checkpoint.pt").read_bytes() == before


def test_missing_data_root_gives_the_clear_message(tmp_path):
    result = run_cli("train", "--data-root", tmp_path / "nowhere", "--out", tmp_path / "run", "--steps", 2,
                     "--device", "cpu", "--no-download")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1  # one line, no traceback
    assert "train-images-idx3-ubyte.gz" in result.stderr and "--data-root" in result.stderr
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--preset", "huge"], "--preset 'huge' is not allowed: choose one of mnist28, paper64"),
    (["--dataset", "svhn"], "--dataset 'svhn' is not allowed: choose one of mnist, fashion-mnist"),
    (["--batch-size", "0"], "argument --batch-size: '0' is not allowed: use a finite number greater than 0"),
    (["--lr", "-1"], "argument --lr: '-1' is not allowed"),
    (["--lr", "abc"], "argument --lr: 'abc' is not a number"),
    (["--beta1", "1.5"], "argument --beta1: '1.5' is not allowed: use a number in [0, 1)"),
    (["--nz", "0"], "argument --nz: '0' is not allowed"),
    (["--image-size", "30"], "--image-size 30 is not allowed: the model doubles the image"),
    (["--time-budget", "0"], "argument --time-budget: '0' is not allowed"),
    (["--steps", "2.5"], "argument --steps: '2.5' is not a whole number"),
    (["--resume", "missing.pt"], "checkpoint missing.pt does not exist"),
])
def test_bad_flags_give_one_line_errors_and_exit_2(args, message, tmp_path, capsys):
    code = main(["train", "--out", str(tmp_path / "run"), "--steps", "1", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err, err
    assert err.count("\n") == 1
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_batch_larger_than_dataset_is_refused(data_root, tmp_path, capsys):
    code = main(["train", "--data-root", str(data_root), "--out", str(tmp_path / "r"), "--steps", "1",
                 "--limit", "10", "--batch-size", "64", "--device", "cpu"])
    assert code == 2
    assert "--batch-size 64 is not allowed: the dataset has only 10 images" in capsys.readouterr().err


def test_sample_from_a_non_checkpoint_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("hello")
    code = main(["sample", "--checkpoint", str(bad), "--n", "3", "--out", str(tmp_path / "s")])
    assert code == 2 and "not a readable dcgan_tutorial checkpoint" in capsys.readouterr().err


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
