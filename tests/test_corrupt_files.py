"""Damaged, foreign and hostile files: a clear error naming the file and the fix; nothing runs,
nothing saved is lost."""

import gzip
import shutil
from pathlib import Path

import pytest
import torch

from dcgan_tutorial.checkpoint import (
    CheckpointError,
    read_checkpoint,
    save_checkpoint,
    state_dict_of,
)
from dcgan_tutorial.cli import main
from dcgan_tutorial.data import (
    DatasetCorruptError,
    DatasetNotFoundError,
    load_images,
)
from dcgan_tutorial.state import make_state

MARKER = Path(__file__).with_name("PAYLOAD_RAN")


def _copy_mnist(data_root, dst):
    """A writable copy of the .gz files only (the data may be read-only, and may hold extracted files)."""
    raw = dst / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in (data_root / "MNIST" / "raw").glob("*.gz"):
        shutil.copyfile(gz, raw / gz.name)
    return raw


def test_truncated_gz_is_named_with_the_fix(data_root, tmp_path):
    raw = _copy_mnist(data_root, tmp_path)
    data = (raw / "train-labels-idx1-ubyte.gz").read_bytes()
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        DatasetCorruptError,
        match=r"train-labels-idx1-ubyte.gz in .* failed the checksum check "
        r"\(a truncated or corrupt download\). Delete it",
    ):
        load_images("mnist", tmp_path)


def test_wrong_checksum_is_named(data_root, tmp_path):
    raw = _copy_mnist(data_root, tmp_path)
    path = raw / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(
        DatasetCorruptError,
        match="t10k-labels-idx1-ubyte.gz in .* failed the checksum check",
    ):
        load_images("mnist", tmp_path, train=False)


def test_damaged_extracted_file_is_reported_as_damaged(data_root, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        with gzip.open(data_root / "MNIST" / "raw" / f"{name}.gz") as f:
            (raw / name).write_bytes(f.read())
    full = (raw / "train-images-idx3-ubyte").read_bytes()
    (raw / "train-images-idx3-ubyte").write_bytes(full[:5000])
    with pytest.raises(
        DatasetCorruptError,
        match=r"train-images-idx3-ubyte could not be read: it is not a complete "
        r"IDX file of images .* it is damaged",
    ):
        load_images("mnist", tmp_path, download=False)
    with gzip.open(
        data_root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    ) as f:  # its original beside it
        (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(f.read()))
    images, _ = load_images(
        "mnist", tmp_path, download=False, verify=False
    )  # the complete .gz is read instead
    assert images.shape == (60000, 1, 28, 28)


def test_a_gz_that_is_not_mnist_is_damaged_only_when_its_checksum_is_skipped(
    data_root, tmp_path
):
    raw = _copy_mnist(data_root, tmp_path)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(b"not an IDX file")
    )
    with pytest.raises(DatasetCorruptError, match="failed the checksum check"):
        load_images("mnist", tmp_path, train=False, download=False)
    with pytest.raises(
        DatasetCorruptError,
        match=r"t10k-labels-idx1-ubyte.gz could not be read \(not a complete "
        r"IDX file of labels\): it is damaged",
    ):
        load_images("mnist", tmp_path, train=False, download=False, verify=False)


def test_partial_dataset_lists_every_expected_file(data_root, tmp_path):
    raw = _copy_mnist(data_root, tmp_path)
    (raw / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as err:
        load_images("mnist", tmp_path, download=False)
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ):
        assert name in str(err.value)
    assert "downloading is switched off" in str(err.value)


def test_cli_reports_damaged_data_in_one_line(data_root, tmp_path, capsys):
    raw = _copy_mnist(data_root, tmp_path / "data")
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    code = main(
        [
            "train",
            "--data-root",
            str(tmp_path / "data"),
            "--out",
            str(tmp_path / "run"),
            "--steps",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert (
        "train-images-idx3-ubyte.gz" in err and "failed the checksum check" in err
    )


@pytest.fixture
def saved(tiny_model, tiny_train, tmp_path):
    state = make_state(tiny_model, tiny_train)
    return save_checkpoint(state, tmp_path / "checkpoint.pt"), state


class _Payload:
    def __reduce__(self):
        return (Path.write_text, (MARKER, "the payload ran"))


def test_pickled_payload_in_a_checkpoint_never_runs(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    torch.save(
        {
            "format": "dcgan_tutorial.checkpoint",
            "format_version": 1,
            "G": _Payload(),
        },
        evil,
    )
    code = main(
        [
            "sample",
            "--checkpoint",
            str(evil),
            "--n",
            "2",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert code == 2 and "nothing in it was run" in capsys.readouterr().err
    assert not MARKER.exists()


def test_resume_from_a_truncated_checkpoint_keeps_it_untouched(
    saved, data_root, tmp_path, capsys
):
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[:200])
    code = main(
        [
            "train",
            "--data-root",
            str(data_root),
            "--out",
            str(path.parent),
            "--resume",
            str(path),
            "--steps",
            "5",
        ]
    )
    assert code == 2 and "truncated, corrupt" in capsys.readouterr().err
    assert path.read_bytes() == data[:200]


def test_checkpoint_of_an_incompatible_version_is_refused(saved, tmp_path):
    path, state = saved
    data = state_dict_of(state)
    data["format_version"] = 0
    torch.save(data, tmp_path / "old.pt")
    with pytest.raises(
        CheckpointError,
        match="format version 0; this dcgan_tutorial reads version 1",
    ):
        read_checkpoint(tmp_path / "old.pt")


def test_checkpoint_whose_weights_do_not_fit_its_model_is_refused(
    saved, tmp_path
):
    from dcgan_tutorial.checkpoint import load_checkpoint

    _, state = saved
    data = state_dict_of(state)
    data["model_config"] = {
        **data["model_config"],
        "ngf": 64,
    }  # weights of another model
    torch.save(data, tmp_path / "other_model.pt")
    with pytest.raises(
        CheckpointError, match="does not match its own model configuration"
    ) as err:
        load_checkpoint(tmp_path / "other_model.pt")
    assert str(tmp_path / "other_model.pt") in str(err.value)  # which file


def test_checkpoint_with_unknown_config_fields_is_refused(saved, tmp_path):
    from dcgan_tutorial.checkpoint import load_checkpoint

    _, state = saved
    data = state_dict_of(state)
    data["train_config"] = {**data["train_config"], "warmup": 5}
    torch.save(data, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="written by another version"):
        load_checkpoint(tmp_path / "future.pt")


def test_a_checkpoint_missing_parts_is_refused(saved, tmp_path):
    _, state = saved
    data = state_dict_of(state)
    del data["opt_g"], data["rng"]
    torch.save(data, tmp_path / "partial.pt")
    with pytest.raises(
        CheckpointError, match="is incomplete: it lacks opt_g, rng"
    ):
        read_checkpoint(tmp_path / "partial.pt")


def test_a_folder_given_as_checkpoint_means_its_latest(saved):
    path, state = saved
    assert read_checkpoint(path.parent)["step"] == state.step
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(path.parent / "nothing_here")
