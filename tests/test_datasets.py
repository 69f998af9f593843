"""CIFAR-10 and image folders: tiny datasets written in the real file formats."""

import numpy as np
import pytest
import torch
from fake_images import CIFAR10_LABEL_NAMES, write_cifar10, write_image
from PIL import Image

from dcgan_tutorial.config import ConfigError
from dcgan_tutorial.data import (
    CLASS_NAMES,
    DATA_ENV,
    DatasetCorruptError,
    DatasetNotFoundError,
    class_names,
    load_images,
    make_loader,
)
from dcgan_tutorial.data.folder import load_image_folder

BATCHES = [f"data_batch_{k}" for k in range(1, 6)]


# --- CIFAR-10 ---------------------------------------------------------------------------------


def test_load_cifar10_reads_the_train_batches_channels_first(tmp_path):
    written = write_cifar10(tmp_path, n_per_batch=3)
    images, labels = load_images("cifar10", tmp_path, verify=False)
    assert (
        images.shape == (15, 3, 32, 32)
        and images.dtype == torch.uint8
        and images.is_contiguous()
    )
    assert labels.dtype == torch.int64 and labels.tolist() == sum(
        (written[b][1] for b in BATCHES), []
    )
    expected = np.concatenate([written[b][0] for b in BATCHES])
    assert torch.equal(images, torch.from_numpy(expected))
    red = images[3]  # the first image of data_batch_2 is pure red
    assert (red[0] == 255).all() and (red[1:] == 0).all()


def test_load_cifar10_test_split_reads_test_batch(tmp_path):
    written = write_cifar10(tmp_path, n_per_batch=4)
    images, labels = load_images("cifar10", tmp_path, train=False, verify=False)
    assert images.shape == (4, 3, 32, 32)
    assert torch.equal(images, torch.from_numpy(written["test_batch"][0]))
    assert labels.tolist() == written["test_batch"][1]


def test_load_cifar10_limit_keeps_the_first_images(tmp_path):
    write_cifar10(tmp_path, n_per_batch=3)
    images, labels = load_images("cifar10", tmp_path, verify=False, limit=4)
    assert images.shape == (4, 3, 32, 32) and labels.shape == (4,)


def test_cifar10_class_names_are_the_ten_classes():
    assert CLASS_NAMES["cifar10"] == CIFAR10_LABEL_NAMES == class_names("cifar10")


@pytest.mark.parametrize("size", [32, 64])
def test_make_loader_cifar10_gives_colour_batches_in_tanh_range(tmp_path, size):
    write_cifar10(tmp_path, n_per_batch=2)
    loader = make_loader(
        "cifar10", size, batch_size=4, data_root=tmp_path, verify=False, nc=3
    )
    real, labels = next(iter(loader))
    assert real.shape == (4, 3, size, size) and labels.shape == (4,)
    assert real.min() >= -1 and real.max() <= 1 and real.dtype == torch.float32


def test_make_loader_cifar10_refuses_a_grey_model(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"nc=1 is not allowed: cifar10 images are colour \(3 channels\)",
    ):
        make_loader(
            "cifar10", 32, batch_size=4, data_root=tmp_path, nc=1, download=False
        )


def test_load_cifar10_checksum_failure_names_the_files(tmp_path):
    write_cifar10(tmp_path)
    with pytest.raises(DatasetCorruptError) as err:
        load_images(
            "cifar10", tmp_path, download=False
        )  # verify=True: these are not the published files
    msg = str(err.value)
    assert (
        "data_batch_1" in msg
        and "test_batch" in msg
        and "failed the checksum check" in msg
    )
    assert str(tmp_path / "cifar-10-batches-py") in msg and "verify=False" in msg


def test_load_cifar10_missing_names_folder_files_and_fix(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_images("cifar10", tmp_path / "empty", download=False)
    msg = str(err.value)
    assert (
        str(tmp_path / "empty" / "cifar-10-batches-py") in msg
        and "downloading is switched off" in msg
    )
    assert all(f in msg for f in BATCHES + ["test_batch", "batches.meta"])
    assert (
        "--data-root" in msg
        and DATA_ENV in msg
        and "https://www.cs.toronto.edu/~kriz/cifar.html" in msg
    )
    assert isinstance(err.value, FileNotFoundError)


def test_load_cifar10_partly_missing_names_the_missing_file(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"\(data_batch_3 missing\)"):
        load_images("cifar10", tmp_path, download=False, verify=False)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "labels"])
def test_load_cifar10_garbled_batch_is_named(tmp_path, damage):
    import pickle

    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    if damage == "garbage":
        path.write_bytes(
            np.random.default_rng(0)
            .integers(0, 256, 5000, dtype=np.uint8)
            .tobytes()
        )
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    else:  # a readable pickle whose labels do not match its images
        entry = pickle.loads(path.read_bytes())
        entry["labels"] = entry["labels"][:-1]
        path.write_bytes(pickle.dumps(entry))
    with pytest.raises(DatasetCorruptError) as err:
        load_images("cifar10", tmp_path, download=False, verify=False)
    msg = str(err.value)
    assert (
        "data_batch_2" in msg
        and "data_batch_1" not in msg
        and "could not be read" in msg
    )
    load_images(
        "cifar10", tmp_path, train=False, download=False, verify=False
    )  # the test split is intact


# --- a folder of images -----------------------------------------------------------------------


def _flat_folder(root):
    """Four images of assorted sizes, formats and modes, plus files that are not images."""
    write_image(root / "a.png", 40, 30, (255, 0, 0))
    write_image(root / "b.jpg", 50, 70, (0, 255, 0))
    write_image(root / "c.png", 33, 33, 128, mode="L")  # grey
    write_image(
        root / "D.JPEG", 64, 48, (0, 0, 255)
    )  # the extension's case does not matter
    (root / "notes.txt").write_text("not an image")
    write_image(
        root / ".ipynb_checkpoints" / "a-checkpoint.png", 8, 8
    )  # hidden: skipped
    return root


@pytest.mark.parametrize("size", [32, 64])
def test_load_image_folder_flat_layout_gives_square_colour_images(tmp_path, size):
    folder = _flat_folder(tmp_path / "faces")
    images, labels = load_images("folder", folder, image_size=size)
    assert images.shape == (4, 3, size, size) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64 and labels.tolist() == [0, 0, 0, 0]
    # sorted order: D.JPEG (blue), a.png (red), b.jpg (green), c.png (grey)
    means = images.float().mean(dim=(2, 3))
    assert (
        means[0].argmax() == 2
        and means[1].argmax() == 0
        and means[2].argmax() == 1
    )
    assert (images[3] == 128).all()  # the grey PNG became three equal channels
    assert class_names("folder", folder) == ["faces"]


def test_load_images_folder_defaults_to_64_and_has_no_test_split(tmp_path):
    folder = _flat_folder(tmp_path / "faces")
    train, _ = load_images("folder", folder)
    test, _ = load_images("folder", folder, train=False)
    assert train.shape == (4, 3, 64, 64) and torch.equal(train, test)


def test_load_image_folder_class_subfolders_are_labelled_by_sorted_name(tmp_path):
    write_image(tmp_path / "cats" / "1.png", 40, 30)
    write_image(tmp_path / "cats" / "2.jpg", 30, 40)
    write_image(tmp_path / "birds" / "1.png", 20, 20)
    write_image(
        tmp_path / "dogs" / "deep" / "1.webp", 20, 25
    )  # searched recursively
    (tmp_path / "empty").mkdir()  # no images: not a class
    images, labels = load_image_folder(tmp_path, image_size=32)
    assert images.shape == (4, 3, 32, 32)
    assert labels.tolist() == [0, 1, 1, 2]
    assert class_names("folder", tmp_path) == ["birds", "cats", "dogs"]


@pytest.mark.parametrize("width, height", [(70, 50), (50, 70), (48, 30)])
def test_load_image_folder_crops_the_centre_square(tmp_path, width, height):
    band = abs(width - height) // 2  # black bands outside the white centre square
    path = write_image(tmp_path / "banded.png", width, height, band=band)
    images, _ = load_image_folder(tmp_path, image_size=32)
    assert images.float().mean() > 250 and images[0, :, 16, 16].tolist() == [
        255,
        255,
        255,
    ]
    with Image.open(path) as img:  # resizing without the crop keeps the bands
        assert np.asarray(img.resize((32, 32))).mean() < 230


def test_load_image_folder_missing_folder_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_images("folder", tmp_path / "nowhere")
    msg = str(err.value)
    assert (
        str(tmp_path / "nowhere") in msg
        and "does not exist" in msg
        and "--data-root" in msg
        and DATA_ENV in msg
    )


def test_load_image_folder_without_images_names_folder_and_extensions(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    with pytest.raises(DatasetNotFoundError) as err:
        load_images("folder", tmp_path)
    msg = str(err.value)
    assert f"no images found in image folder {tmp_path}" in msg
    assert all(ext in msg for ext in (".jpg", ".jpeg", ".png", ".bmp", ".webp"))


def test_load_image_folder_reports_every_corrupt_file(tmp_path):
    write_image(tmp_path / "good1.png", 40, 30)
    write_image(tmp_path / "good2.jpg", 30, 40)
    (tmp_path / "bad.jpg").write_bytes(
        np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    )
    truncated = write_image(tmp_path / "cut.png", 40, 40)
    truncated.write_bytes(truncated.read_bytes()[:60])
    with pytest.raises(DatasetCorruptError) as err:
        load_images("folder", tmp_path)
    msg = str(err.value)
    assert "2 of the 4 image files" in msg and str(tmp_path) in msg
    assert "bad.jpg" in msg and "cut.png" in msg and "good1.png" not in msg


def test_load_image_folder_lists_five_bad_files_then_counts(tmp_path):
    write_image(tmp_path / "good.png", 10, 10)
    for i in range(8):
        (tmp_path / f"bad{i}.png").write_bytes(b"not a png")
    with pytest.raises(
        DatasetCorruptError,
        match=r"8 of the 9 image files .*bad0.png, bad1.png, bad2.png, "
        r"bad3.png, bad4.png and 3 more",
    ):
        load_image_folder(tmp_path)


def test_load_image_folder_limit_stops_before_decoding(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"{i}.png", 30 + i, 20)
    (tmp_path / "z_bad.jpg").write_bytes(
        b"garbage"
    )  # last in sorted order: never opened
    images, labels = load_images("folder", tmp_path, image_size=32, limit=2)
    assert images.shape == (2, 3, 32, 32) and labels.shape == (2,)


def test_make_loader_folder_resizes_to_the_model(tmp_path):
    folder = _flat_folder(tmp_path / "faces")
    loader = make_loader(
        "folder", 32, batch_size=2, data_root=folder, nc=3, limit=3
    )
    assert len(loader.images) == 3
    real, labels = next(iter(loader))
    assert real.shape == (2, 3, 32, 32) and real.min() >= -1 and real.max() <= 1


def test_make_loader_folder_refuses_a_grey_model(tmp_path):
    folder = _flat_folder(tmp_path / "faces")
    with pytest.raises(
        ConfigError,
        match=r"nc=1 is not allowed: folder images are colour \(3 channels\)",
    ):
        make_loader("folder", 32, batch_size=2, data_root=folder, nc=1)
