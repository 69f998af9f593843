"""Metrics on the shipped classifier's features, and the shipped generator, offline."""

import pytest
import torch

from dcgan_tutorial.checkpoint import CheckpointError
from dcgan_tutorial.classifier import ClassifierError, load_classifier
from dcgan_tutorial.cli import main
from dcgan_tutorial.data import load_images
from dcgan_tutorial.metrics import (
    class_coverage,
    classifier_fid,
    max_kl_from_uniform,
    nearest_training_images,
    predict_classes,
)
from dcgan_tutorial.pretrained import (
    PRETRAINED,
    load_generator_file,
    load_pretrained,
)


@pytest.fixture(scope="module")
def mnist(data_root):
    train, train_labels = load_images("mnist", data_root)
    test, test_labels = load_images("mnist", data_root, train=False)
    return train[:3000], train_labels[:3000], test[:3000], test_labels[:3000]


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("mnist")


def test_shipped_classifier_reads_real_test_digits(mnist, classifier):
    _, _, test, labels = mnist
    accuracy = (predict_classes(test, classifier) == labels).float().mean().item()
    assert accuracy > 0.98


def test_fid_real_vs_real_is_small_and_noise_is_large(mnist, classifier):
    train, _, test, _ = mnist
    noise = torch.randint(
        0,
        256,
        test.shape,
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0),
    )
    real_fid = classifier_fid(test, train, classifier)
    noise_fid = classifier_fid(test, noise, classifier)
    # FID is biased upwards for small samples: 3,000 against 3,000 gives about 31 (10,000: 2.6)
    assert real_fid < 50 and noise_fid > 20 * real_fid


def test_fid_decreases_as_fakes_are_replaced_by_real_images(mnist, classifier):
    train, _, test, _ = mnist
    gen = torch.Generator().manual_seed(1)
    fakes = torch.randint(
        0, 256, (2000, 1, 28, 28), dtype=torch.uint8, generator=gen
    )
    fids = []
    for share in (0.0, 0.5, 0.9, 1.0):
        mixed = fakes.clone()
        mixed[: int(share * 2000)] = train[: int(share * 2000)]
        fids.append(classifier_fid(test, mixed, classifier))
    assert fids == sorted(fids, reverse=True) and fids[0] > 2 * fids[2]


def test_coverage_counts_one_class_as_one_and_balanced_as_ten(mnist, classifier):
    _, _, test, labels = mnist
    ones = test[labels == 1][:300]
    one = class_coverage(ones, classifier)
    assert one.classes_present == 1 and one.counts[1] >= 297
    assert one.kl_from_uniform == pytest.approx(max_kl_from_uniform(), abs=0.05)
    balanced = class_coverage(test, classifier)
    assert balanced.classes_present == 10 and balanced.kl_from_uniform < 0.01
    assert sum(balanced.counts) == len(test)


def test_nearest_training_image_of_a_training_image_is_itself(mnist):
    train, _, test, _ = mnist
    dist, idx = nearest_training_images(train[[5, 17, 99]], train, k=2)
    # cdist's fast matrix-product form leaves a rounding error of about 0.01 on a distance of 0
    assert (
        idx[:, 0].tolist() == [5, 17, 99]
        and torch.all(dist[:, 0] < 0.05)
        and torch.all(dist[:, 1] > 1)
    )
    dist_test, _ = nearest_training_images(test[:10], train)
    assert torch.all(dist_test > 0)


def test_shipped_generator_loads_offline_and_samples(tmp_path):
    G, cfg, meta = load_pretrained("mnist")
    assert (
        meta["dataset"] == "mnist"
        and "command" in meta["provenance"]
        and "hardware" in meta["provenance"]
    )
    assert PRETRAINED["mnist"].stat().st_size < 5_000_000
    assert (
        main(
            [
                "sample",
                "--pretrained",
                "mnist",
                "--n",
                "12",
                "--out",
                str(tmp_path),
                "--seed",
                "4",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert len(list((tmp_path / "images").glob("*.png"))) == 12


def test_shipped_generator_draws_every_digit(classifier):
    from dcgan_tutorial.metrics import generator_samples

    G, _, _ = load_pretrained("mnist")
    coverage = class_coverage(generator_samples(G, 2000, seed=0), classifier)
    assert coverage.classes_present == 10 and min(coverage.counts) > 100


def test_evaluate_prints_fid_coverage_and_histogram(data_root, capsys):
    assert (
        main(
            [
                "evaluate",
                "--pretrained",
                "mnist",
                "--data-root",
                str(data_root),
                "--n",
                "2000",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "FID (mnist classifier features, 2000 generated vs 10000 test images): "
        in out
    )
    assert "classes present" in out and "class histogram: 0 " in out
    fid = float(out.split("test images): ")[1].split()[0])
    assert 0 < fid < 200


def test_corrupt_or_wrong_shaped_generator_file_is_refused(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(PRETRAINED["mnist"].read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable generator file"):
        load_generator_file(bad)
    data = torch.load(PRETRAINED["mnist"], weights_only=True)
    data["model_config"] = {**data["model_config"], "ngf": 8}
    torch.save(data, tmp_path / "wrong.pt")
    with pytest.raises(
        CheckpointError, match="do not fit its model configuration"
    ):
        load_generator_file(tmp_path / "wrong.pt")


def test_missing_classifier_is_a_clear_error():
    with pytest.raises(ClassifierError, match="has no shipped classifier"):
        load_classifier("cifar10")


def test_inception_fid_offline_says_what_is_missing_and_where_to_put_it(
    monkeypatch, tmp_path
):
    import urllib.error

    import torch_fidelity.feature_extractor_inceptionv3 as inception

    from dcgan_tutorial.metrics import InceptionUnavailable, inception_fid

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(inception, "load_state_dict_from_url", offline)
    images = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    with pytest.raises(InceptionUnavailable) as err:
        inception_fid(images, images)
    message = str(err.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message
    assert (
        str(tmp_path / "checkpoints") in message and "classifier FID" in message
    )


def test_evaluate_inception_offline_is_a_one_line_error(
    monkeypatch, tmp_path, data_root, capsys
):
    import urllib.error

    import torch_fidelity.feature_extractor_inceptionv3 as inception

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(inception, "load_state_dict_from_url", offline)
    status = main(
        [
            "evaluate",
            "--pretrained",
            "mnist",
            "--data-root",
            str(data_root),
            "--n",
            "200",
            "--inception",
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert (
        status == 2
        and err.startswith("error: the Inception-v3 weights")
        and err.count("\n") == 1
    )
