"""Bad values a learner can type: each is refused before any work, in one line naming the flag,
the value and what is allowed, with exit status 2, and no existing checkpoint changes."""
import hashlib

import pytest

from dcgan_tutorial.cli import main
from dcgan_tutorial.config import ConfigError, ModelConfig
from dcgan_tutorial.data import make_loader


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("good_run")
    assert main(["train", "--data-root", str(data_root), "--out", str(out), "--steps", "3", "--limit", "256",
                 "--device", "cpu", "--no-progress", "--sample-every", "100"]) == 0
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
    return ["train", "--data-root", str(data_root), "--out", str(run), "--resume", str(run / "checkpoint.pt"),
            "--limit", "256", "--device", "cpu", *extra]


@pytest.mark.parametrize("flag, value, message", [
    ("--batch-size", "0", "argument --batch-size: '0' is not allowed: use a finite number greater than 0"),
    ("--batch-size", "-5", "argument --batch-size: '-5' is not allowed"),
    ("--batch-size", "12.5", "argument --batch-size: '12.5' is not a whole number"),
    ("--lr", "nan", "argument --lr: 'nan' is not allowed: use a finite number greater than 0"),
    ("--lr", "inf", "argument --lr: 'inf' is not allowed"),
    ("--lr-d", "0", "argument --lr-d: '0' is not allowed"),
    ("--beta1", "1.0", "argument --beta1: '1.0' is not allowed: use a number in [0, 1)"),
    ("--beta1", "-0.1", "argument --beta1: '-0.1' is not allowed"),
    ("--steps", "0", "argument --steps: '0' is not allowed"),
    ("--epochs", "-1", "argument --epochs: '-1' is not allowed"),
    ("--time-budget", "soon", "argument --time-budget: 'soon' is not a number"),
    ("--seed", "-1", "argument --seed: '-1' is not allowed: use a whole number >= 0"),
    ("--keep", "-2", "argument --keep: '-2' is not allowed"),
    ("--device", "tpu", "argument --device: invalid choice: 'tpu'"),
    ("--loss", "wasserstein", "argument --loss: invalid choice: 'wasserstein'"),
])
def test_bad_flag_value_is_refused_and_checkpoint_kept(flag, value, message, good_run, data_root, capsys):
    _refused(capsys, _train_argv(good_run, data_root, flag, value), message, good_run)


def test_unknown_flag_is_refused(good_run, data_root, capsys):
    _refused(capsys, _train_argv(good_run, data_root, "--learning-rate", "1"), "unrecognized arguments: "
             "--learning-rate 1", good_run)


def test_unknown_preset_lists_the_known_ones(good_run, data_root, capsys):
    _refused(capsys, ["train", "--out", str(good_run / "other"), "--preset", "dcgan9000", "--steps", "1"],
             "--preset 'dcgan9000' is not allowed: choose one of", good_run)


def test_impossible_image_size_names_the_allowed_sizes(good_run, capsys):
    _refused(capsys, ["train", "--out", str(good_run / "other"), "--image-size", "100", "--steps", "1"],
             "--image-size 100 is not allowed: the model doubles the image from 4x4 or 7x7", good_run)


def test_resume_cannot_change_the_model_shape(good_run, data_root, capsys):
    _refused(capsys, _train_argv(good_run, data_root, "--nz", "64"),
             "--nz 64 differs from the checkpoint's 100: a resumed model keeps its shape", good_run)


def test_resume_with_a_preset_is_refused(good_run, data_root, capsys):
    _refused(capsys, _train_argv(good_run, data_root, "--preset", "paper64"),
             "--preset cannot be combined with --resume", good_run)


def test_training_into_an_existing_run_without_resume_is_refused(good_run, data_root, capsys):
    _refused(capsys, ["train", "--data-root", str(data_root), "--out", str(good_run), "--steps", "2"],
             "checkpoint.pt already exists: continue it with --resume", good_run)


def test_output_folder_that_cannot_be_written_is_refused(good_run, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    _refused(capsys, ["train", "--out", str(blocker / "run"), "--steps", "1"], "cannot be written", good_run)


def test_batch_larger_than_the_dataset_is_refused(good_run, data_root, capsys):
    _refused(capsys, _train_argv(good_run, data_root, "--batch-size", "1000", "--limit", "100"),
             "--batch-size 1000 is not allowed: the dataset has only 100 images", good_run)


def test_sample_count_must_be_positive(good_run, tmp_path, capsys):
    _refused(capsys, ["sample", "--checkpoint", str(good_run / "checkpoint.pt"), "--n", "0", "--out", str(tmp_path)],
             "argument --n: '0' is not allowed", good_run)


def test_colour_model_on_grey_data_is_refused(data_root):
    with pytest.raises(ConfigError, match=r"nc=3 is not allowed: mnist images are grey \(1 channel\)"):
        make_loader("mnist", 28, 16, data_root, limit=64, nc=3)
    assert ModelConfig(nc=3).validate().nc == 3
