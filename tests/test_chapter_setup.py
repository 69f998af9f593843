"""A chapter's first cell: seed, device, recipe, quick mode, what it says; and the results shipped for chapter 7."""

import json
from pathlib import Path

import pytest
import torch

from dcgan_tutorial.config import ConfigError
from dcgan_tutorial.notebook.setup import (
    COLAB_GPU_HINT,
    start_chapter,
    stored_result,
)

REPO = Path(__file__).resolve().parents[1]


def _start(environ, colab=False, device="cpu"):
    said = []
    chapter = start_chapter(
        seed=3, device=device, colab=colab, environ=environ, say=said.append
    )
    return chapter, "\n".join(said)


def test_start_chapter_seeds_torch_and_says_what_it_found():
    chapter, said = _start({})
    first = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(first, torch.rand(3))
    assert (
        chapter.device == torch.device("cpu")
        and not chapter.quick
        and not chapter.colab
    )
    assert f"torch {torch.__version__}, device cpu, seed 3" in said
    assert "recipe: cpu, main preset mnist28" in said and "Runtime" not in said


def test_the_device_decides_the_recipe_unless_the_environment_says():
    assert _start({})[0].recipe == "cpu"
    chapter, said = _start(
        {"DCGAN_TUTORIAL_RECIPE": "gpu", "DCGAN_TUTORIAL_QUICK": "1"}
    )
    assert (
        chapter.recipe == "gpu" and chapter.preset == "paper64" and chapter.quick
    )
    assert (
        "recipe: gpu (DCGAN_TUTORIAL_RECIPE=gpu), main preset paper64; quick mode"
        in said
    )
    assert _start({"DCGAN_TUTORIAL_RECIPE": " CPU "})[0].recipe == "cpu"


def test_a_bad_recipe_is_one_clear_error():
    with pytest.raises(
        ConfigError,
        match="DCGAN_TUTORIAL_RECIPE='tpu' is not allowed: set it to gpu or cpu",
    ):
        _start({"DCGAN_TUTORIAL_RECIPE": "tpu"})


def test_colab_without_a_gpu_says_how_to_get_one():
    chapter, said = _start({}, colab=True)
    assert chapter.colab and COLAB_GPU_HINT in said
    assert "Runtime > Change runtime type" in COLAB_GPU_HINT
    assert COLAB_GPU_HINT not in _start({}, colab=False)[1]


def test_training_limits_follow_quick_mode_then_the_recipe():
    quick, _ = _start(
        {"DCGAN_TUTORIAL_QUICK": "1", "DCGAN_TUTORIAL_RECIPE": "gpu"}
    )
    assert quick.training_limits() == (
        {"steps": 30, "epochs": None, "time_budget": None, "sample_every": 10},
        2048,
    )
    gpu, _ = _start({"DCGAN_TUTORIAL_RECIPE": "gpu"})
    assert gpu.training_limits() == (
        {"steps": None, "epochs": 5, "time_budget": None},
        None,
    )
    cpu, _ = _start({})
    assert cpu.training_limits() == (
        {"steps": 7085, "epochs": None, "time_budget": None},
        None,
    )


SHIPPED = sorted(
    p.stem
    for p in (REPO / "dcgan_tutorial" / "assets" / "results").glob("*.json")
)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_results_are_the_measured_ones(name):
    """The package ships copies of benchmarks/results (chapter 7 reads them): they must not drift."""
    measured = json.loads(
        (REPO / "benchmarks" / "results" / f"{name}.json").read_text()
    )
    assert stored_result(name) == measured


def test_an_unknown_result_names_the_ones_there_are():
    assert {"cpu_quality", "recipe_confirm", "tricks_cpu"} <= set(SHIPPED)
    with pytest.raises(
        FileNotFoundError, match="choose one of " + ", ".join(SHIPPED)
    ):
        stored_result("fid")
