"""Shared fixtures: the real MNIST files, and tiny configs."""

import os
from pathlib import Path

import pytest
import torch

from dcgan_tutorial.config import ModelConfig, TrainConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _source_data() -> Path:
    env = os.environ.get("DCGAN_TUTORIAL_DATA")
    for candidate in (env, REPO / "data", SHARED_DATA):
        if candidate and (Path(candidate) / "MNIST" / "raw").is_dir():
            return Path(candidate)
    raise RuntimeError(
        "the tests need the MNIST files: set DCGAN_TUTORIAL_DATA to a folder holding MNIST/raw "
        "(see README.md)"
    )


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder holding MNIST/raw and FashionMNIST/raw, read where it is: the package writes nothing there
    (it reads the .gz files in memory; test_data.py checks this on a read-only folder). A test that changes
    files makes its own copy."""
    return _source_data()


@pytest.fixture(autouse=True)
def _restore_torch_state():
    """Tests may seed or change threads; put global torch state back afterwards."""
    rng = torch.get_rng_state()
    yield
    torch.set_rng_state(rng)


@pytest.fixture
def tiny_model() -> ModelConfig:
    return ModelConfig(image_size=28, nc=1, nz=8, ngf=4, ndf=4)


@pytest.fixture
def tiny_train() -> TrainConfig:
    return TrainConfig(
        batch_size=8,
        steps=4,
        epochs=None,
        n_fixed=4,
        sample_every=2,
        log_every=1,
        checkpoint_every=100,
    )


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module: tiny networks run fastest so, above all on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
