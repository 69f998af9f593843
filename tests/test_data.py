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
