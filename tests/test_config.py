import dataclasses
import json
from pathlib import Path

import pytest

from dcgan_tutorial.config import (
    ConfigError,
    ModelConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    upsampling_plan,
)
from dcgan_tutorial.presets import DEFAULT_PRESET, PRESETS, get_preset

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


@pytest.mark.parametrize(
    "size, plan",
    [(28, (7, 2)), (32, (4, 3)), (56, (7, 3)), (64, (4, 4)), (128, (4, 5))],
)
def test_upsampling_plan_splits_size_into_base_and_doublings(size, plan):
    assert upsampling_plan(size) == plan


@pytest.mark.parametrize("size", [0, 7, 14, 30, 48, 100])
def test_upsampling_plan_refuses_impossible_sizes_with_allowed_list(size):
    with pytest.raises(
        ConfigError, match=r"image_size=\d+ is not allowed: .*28, 32"
    ):
        upsampling_plan(size)


def test_every_preset_validates():
    for preset in PRESETS.values():
        preset.model.validate()
        preset.train.validate()


def test_paper64_is_the_paper_architecture():
    p = get_preset("paper64")
    assert (p.model.image_size, p.model.ngf, p.model.ndf, p.model.nz) == (
        64,
        64,
        64,
        100,
    )
    assert (p.train.lr_g, p.train.lr_d, p.train.beta1, p.train.batch_size) == (
        2e-4,
        2e-4,
        0.5,
        128,
    )


def test_the_default_preset_is_the_recipe_the_search_confirmed():
    """``mnist28-tuned`` holds the confirmed winner's recipe, and that winner beat ``mnist28``
    beyond the seeds' spread: a change to the preset, or to the measurement, fails here."""
    confirm = json.loads((RESULTS / "recipe_confirm.json").read_text())
    summary = confirm["summary"]
    winner = min(
        (n for n in summary if n != "mnist28"), key=lambda n: summary[n]["mean"]
    )
    assert summary[winner]["mean"] < summary["mnist28"]["mean"]
    assert summary[winner]["p"] < 0.05
    preset = get_preset(DEFAULT_PRESET)
    recipe = {
        **dataclasses.asdict(preset.model),
        **dataclasses.asdict(preset.train),
    }
    assert DEFAULT_PRESET == "mnist28-tuned"
    assert {k: recipe[k] for k in confirm["candidates"][winner]} == confirm[
        "candidates"
    ][winner]
    # everything else is mnist28's: the search changed only what it names
    base = get_preset("mnist28")
    others = {**dataclasses.asdict(base.model), **dataclasses.asdict(base.train)}
    assert {
        k: v for k, v in recipe.items() if k not in confirm["candidates"][winner]
    } == {
        k: v for k, v in others.items() if k not in confirm["candidates"][winner]
    }
    # the book's chapters show the same results from the package's copy
    shipped = RESULTS.parents[1] / "dcgan_tutorial" / "assets" / "results"
    assert json.loads((shipped / "recipe_confirm.json").read_text()) == confirm


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(
        ConfigError,
        match="preset='nope' is not allowed: choose one of mnist28, paper64",
    ):
        get_preset("nope")


@pytest.mark.parametrize(
    "field, value, match",
    [
        (
            "batch_size",
            0,
            "batch_size=0 is not allowed: use a whole number greater than 0",
        ),
        ("lr_g", -1e-4, "lr_g=-0.0001 is not allowed"),
        ("lr_d", float("nan"), "lr_d=nan is not allowed"),
        ("beta1", 1.0, "beta1=1.0 is not allowed: use a number in"),
        (
            "dataset",
            "svhn",
            "dataset='svhn' is not allowed: choose one of mnist, fashion-mnist",
        ),
        ("loss", "wgan", "loss='wgan' is not allowed"),
        ("steps", 0, "steps=0 is not allowed"),
        ("time_budget", -5.0, "time_budget=-5.0 is not allowed"),
        ("seed", -1, "seed=-1 is not allowed"),
    ],
)
def test_train_config_rejects_bad_values_naming_field_and_value(
    field, value, match
):
    with pytest.raises(
        ConfigError, match=match.replace("(", r"\(").replace("[", r"\[")
    ) as err:
        TrainConfig(**{field: value}).validate()
    assert err.value.field == field


def test_train_config_needs_some_stop():
    with pytest.raises(ConfigError, match="set at least one"):
        TrainConfig(steps=None, epochs=None, time_budget=None).validate()


@pytest.mark.parametrize(
    "field, value", [("nz", 0), ("ngf", -3), ("nc", 2), ("image_size", 30)]
)
def test_model_config_rejects_bad_values(field, value):
    with pytest.raises(ConfigError, match=f"{field}="):
        ModelConfig(**{field: value}).validate()


def test_config_dict_round_trip_and_unknown_keys():
    cfg = TrainConfig(batch_size=32, time_budget=10.0)
    assert config_from_dict(TrainConfig, config_to_dict(cfg)) == cfg
    with pytest.raises(ConfigError, match="another version"):
        config_from_dict(TrainConfig, {**config_to_dict(cfg), "warp_drive": 1})
