import os
import shutil
import subprocess

import pytest
import torch
from fake_images import random_images

from dcgan_tutorial.config import ConfigError
from dcgan_tutorial.data import (
    DATA_ENV,
    DatasetNotFoundError,
    InMemoryLoader,
    load_images,
    make_loader,
    resize_images,
    resolve_data_root,
    scale_images,
    unscale_images,
)


def test_data_root_order_argument_then_env_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert resolve_data_root("/x/y") == type(tmp_path)("/x/y")
    assert resolve_data_root() == tmp_path
    monkeypatch.delenv(DATA_ENV)
    assert str(resolve_data_root()) == "data"


@pytest.mark.parametrize(
    "name, mean_range", [("mnist", (30, 36)), ("fashion-mnist", (70, 75))]
)
def test_load_images_reads_the_real_files(data_root, name, mean_range):
    images, labels = load_images(name, data_root)
    assert images.shape == (60000, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (60000,) and set(labels.unique().tolist()) == set(
        range(10)
    )
    assert mean_range[0] < images.float().mean() < mean_range[1]
    test_images, _ = load_images(name, data_root, train=False)
    assert test_images.shape == (10000, 1, 28, 28)


def test_missing_data_names_files_folder_and_fix(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_images("mnist", tmp_path / "empty", download=False)
    msg = str(err.value)
    assert (
        "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    )
    assert str(tmp_path / "empty" / "MNIST" / "raw") in msg
    assert "--data-root" in msg and DATA_ENV in msg


# --- a read-only folder (a course's shared data) holding only the published .gz files ------------------


@pytest.fixture
def read_only_data(data_root, tmp_path):
    """``read_only_data(drop=())``: a copy of the MNIST and Fashion-MNIST .gz files (less ``drop``) in a
    read-only folder, and whether the system enforces it: a read-only bind mount as root (root ignores
    permission bits), else the permission bits."""
    mounted = []

    def make(drop=()):
        root = tmp_path / "shared"
        for name in ("MNIST", "FashionMNIST"):
            (root / name / "raw").mkdir(parents=True)
            for gz in (data_root / name / "raw").glob("*.gz"):
                if gz.name not in drop:
                    shutil.copyfile(gz, root / name / "raw" / gz.name)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            bind = subprocess.run(
                ["mount", "--bind", str(root), str(root)], capture_output=True
            )
            if bind.returncode == 0:
                mounted.append(root)
                ro = subprocess.run(
                    ["mount", "-o", "remount,bind,ro", str(root)],
                    capture_output=True,
                )
                return root, ro.returncode == 0
            return (
                root,
                False,
            )  # root writes anyway: only the listing below shows a write
        for path in sorted(root.rglob("*"), reverse=True) + [root]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return root, True

    yield make
    for root in mounted:
        subprocess.run(["umount", "--lazy", str(root)], check=True)
    for path in tmp_path.rglob("*"):
        path.chmod(0o755)  # so that pytest can remove it


def _listing(root):
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    )


def test_training_reads_a_read_only_folder_of_gz_files_and_writes_nothing_there(
    read_only_data, tmp_path, capsys
):
    from dcgan_tutorial.cli import main

    root, _ = read_only_data()
    before = _listing(root)
    code = main(
        [
            "train",
            "--data-root",
            str(root),
            "--out",
            str(tmp_path / "run"),
            "--device",
            "cpu",
            "--limit",
            "64",
            "--batch-size",
            "8",
            "--ngf",
            "4",
            "--ndf",
            "4",
            "--steps",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    images, labels = load_images(
        "fashion-mnist", root, train=False
    )  # download=True: nothing is missing
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    assert _listing(root) == before  # nothing extracted, nothing written


def test_a_read_only_folder_lacking_a_file_says_so_and_where_to_put_it(
    read_only_data,
):
    root, enforced = read_only_data(drop=("train-labels-idx1-ubyte.gz",))
    if not enforced:
        pytest.skip(
            "this folder cannot be made read-only here (root, and no read-only bind mount)"
        )
    with pytest.raises(DatasetNotFoundError) as err:
        load_images(
            "mnist", root
        )  # download=True: it would download into the folder, but cannot write there
    raw = root / "MNIST" / "raw"
    assert str(err.value).startswith(
        f"dataset 'mnist' is incomplete in {raw}: train-labels-idx1-ubyte.gz missing, "
        f"and that folder cannot be written"
    )
    assert f"Put them in {raw}" in str(err.value) and "--data-root" in str(
        err.value
    )
    assert "damaged" not in str(err.value)
    images, _ = load_images(
        "mnist", root, train=False
    )  # the test split is complete
    assert images.shape == (10000, 1, 28, 28)


def test_scaling_maps_bytes_to_tanh_range_and_back():
    pixels = torch.tensor([0, 1, 127, 128, 254, 255], dtype=torch.uint8)
    scaled = scale_images(pixels)
    assert scaled[0] == -1 and scaled[-1] == 1 and scaled.dtype == torch.float32
    assert torch.equal(unscale_images(scaled), pixels)


def test_resize_keeps_range_and_changes_size():
    images = random_images(5)
    out = resize_images(images, 64)
    assert out.shape == (5, 1, 64, 64) and out.dtype == torch.uint8
    assert resize_images(images, 28) is images


def test_loader_batches_are_scaled_shuffled_and_repeatable():
    images = random_images(100)
    labels = torch.arange(100)
    loader = InMemoryLoader(images, labels, batch_size=16, seed=3)
    assert len(loader) == 6  # the incomplete last batch is dropped
    batches = list(loader.batches(epoch=0))
    real, lab = batches[0]
    assert real.shape == (16, 1, 28, 28) and real.min() >= -1 and real.max() <= 1
    assert torch.equal(
        real, scale_images(images[lab])
    )  # images and labels stay paired
    assert lab.tolist() != list(range(16))  # shuffled
    again = list(InMemoryLoader(images, labels, 16, seed=3).batches(epoch=0))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    other_epoch = [b[1] for b in loader.batches(epoch=1)]
    assert not torch.equal(other_epoch[0], batches[0][1])
    resumed = list(loader.batches(epoch=0, start=4))
    assert torch.equal(resumed[0][1], batches[4][1])


def test_loader_refuses_batch_larger_than_dataset():
    with pytest.raises(
        ConfigError,
        match="batch_size=64 is not allowed: the dataset has only 10 images",
    ):
        InMemoryLoader(random_images(10), torch.zeros(10), batch_size=64)


def test_make_loader_resizes_real_mnist(data_root):
    loader = make_loader(
        "mnist", image_size=64, batch_size=32, data_root=data_root, limit=256
    )
    real, labels = next(iter(loader))
    assert real.shape == (32, 1, 64, 64) and labels.shape == (32,)
