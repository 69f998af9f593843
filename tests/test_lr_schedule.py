"""The learning-rate schedule: ``TrainConfig.lr_half_life``, ``train --lr-half-life``.

Both Adam rates at step s (the steps done before it) are ``lr * 0.5 ** (s / half_life)``;
0 keeps them constant. The schedule is a function of the step alone, so a resumed run
follows it bit for bit, and a checkpoint written before the field existed resumes with
it off.
"""

from dataclasses import replace

import pytest
import torch
from fake_images import random_images

from dcgan_tutorial.checkpoint import (
    read_checkpoint,
    save_checkpoint,
    state_from_checkpoint,
)
from dcgan_tutorial.cli import _plan, build_parser, config_message, main
from dcgan_tutorial.config import ConfigError, TrainConfig
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.presets import ALL_PRESETS
from dcgan_tutorial.run import plan_run
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import train_gan

LR_G, LR_D = 1e-3, 3e-4


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Tiny networks on a busy machine: one thread."""


def _loader():
    return InMemoryLoader(
        random_images(64), torch.zeros(64, dtype=torch.long), 8, seed=0
    )


def _scheduled(tiny_train, half_life, steps):
    return replace(
        tiny_train, lr_g=LR_G, lr_d=LR_D, lr_half_life=half_life, steps=steps
    )


def _record_rates(state):
    """Wrap both updates: (optimiser, step, lr) at the moment each ``opt.step()`` runs."""
    used = []

    def recording(name, update):
        def call(loss, opt, **kwargs):
            used.append((name, state.step, opt.param_groups[0]["lr"]))
            return update(loss, opt, **kwargs)

        return call

    state.d_backward_and_step = recording("d", state.d_backward_and_step)
    state.g_backward_and_step = recording("g", state.g_backward_and_step)
    return used


def _expected(half_life, steps):
    return [
        (name, s, base * 0.5 ** (s / half_life))
        for s in range(steps)
        for name, base in (("d", LR_D), ("g", LR_G))
    ]


def _rates(state):
    return [
        [group["lr"] for group in opt.param_groups]
        for opt in (state.opt_g, state.opt_d)
    ]


def _assert_same_state(a, b):
    """Weights, optimiser state (moments and hyperparameters, lr included), history."""
    assert a.step == b.step and a.history == b.history
    for x, y in ((a.G, b.G), (a.D, b.D)):
        for (name, p), q in zip(x.state_dict().items(), y.state_dict().values()):
            assert torch.equal(p, q), name
    for x, y in ((a.opt_g, b.opt_g), (a.opt_d, b.opt_d)):
        sx, sy = x.state_dict(), y.state_dict()
        assert sx["param_groups"] == sy["param_groups"]
        for mx, my in zip(sx["state"].values(), sy["state"].values()):
            for key in mx:
                assert torch.equal(mx[key], my[key]), key


# --- the rate each step uses --------------------------------------------------------------------------


def test_each_step_uses_the_half_life_formula(tiny_model, tiny_train):
    state = make_state(tiny_model, _scheduled(tiny_train, 2, 5))
    used = _record_rates(state)
    train_gan(state, _loader(), progress=False)
    assert used == _expected(2, 5)
    # after step 4 (the fifth): 0.5 ** 2 of the start, both optimisers
    assert _rates(state) == [[LR_G * 0.5**2], [LR_D * 0.5**2]]


def test_a_schedule_changes_the_training_and_the_first_step_is_unchanged(
    tiny_model, tiny_train
):
    runs = {}
    for half_life in (0, 1):
        state = make_state(tiny_model, _scheduled(tiny_train, half_life, 2))
        train_gan(state, _loader(), progress=False)
        runs[half_life] = state
    constant, decayed = runs[0], runs[1]
    # the same first step (rate lr * 0.5 ** 0), a different second one (half the rate)
    assert constant.history["d_loss"][0] == decayed.history["d_loss"][0]
    assert not all(
        torch.equal(p, q)
        for p, q in zip(constant.G.parameters(), decayed.G.parameters())
    )


def test_the_default_keeps_both_rates_constant(tiny_model, tiny_train):
    cfg = replace(tiny_train, lr_g=LR_G, lr_d=LR_D, steps=5)
    assert cfg.lr_half_life == 0 == TrainConfig().lr_half_life
    state = make_state(tiny_model, cfg)
    used = _record_rates(state)
    train_gan(state, _loader(), progress=False)
    assert used == [
        (name, s, base)
        for s in range(5)
        for name, base in (("d", LR_D), ("g", LR_G))
    ]
    assert _rates(state) == [[LR_G], [LR_D]]


def test_every_preset_keeps_its_rates_constant():
    assert {name: p.train.lr_half_life for name, p in ALL_PRESETS.items()} == {
        name: 0 for name in ALL_PRESETS
    }


# --- the config and the command line -----------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 2.5, True, "100"])
def test_a_bad_half_life_names_the_field_and_the_fix(value):
    with pytest.raises(ConfigError) as err:
        TrainConfig(lr_half_life=value)
    assert err.value.field == "lr_half_life"
    assert str(err.value) == (
        f"lr_half_life={value!r} is not allowed: "
        "use 0 (off) or a positive number of steps"
    )
    assert config_message(err.value).startswith(f"--lr-half-life {value!r} ")


def test_the_flag_reaches_the_config(tmp_path, capsys):
    parser = build_parser()
    out = ["train", "--out", str(tmp_path)]
    assert _plan(parser.parse_args(out)).train_cfg.lr_half_life == 0
    plan = _plan(parser.parse_args([*out, "--lr-half-life", "500"]))
    assert plan.train_cfg.lr_half_life == 500
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    assert "--lr-half-life STEPS" in capsys.readouterr().out


def test_a_negative_flag_is_one_line_naming_it(tmp_path, capsys):
    assert (
        main(["train", "--out", str(tmp_path / "run"), "--lr-half-life", "-5"])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--lr-half-life" in err
    assert not (tmp_path / "run").exists()


# --- checkpoints: resume, and files written before the schedule ----------------------------------------


def _resume(path, steps, **train):
    """What ``train --resume PATH --steps N [--lr-half-life ...]`` builds (``run.prepare_run``)."""
    plan = plan_run(resume=path, train=train, limits={"steps": steps})
    return state_from_checkpoint(plan.resume, "cpu", plan.train_cfg)


def test_a_resumed_schedule_is_bit_identical_to_an_uninterrupted_one(
    tiny_model, tiny_train, tmp_path
):
    full = make_state(tiny_model, _scheduled(tiny_train, 3, 12))
    train_gan(full, _loader(), progress=False)
    half = make_state(tiny_model, _scheduled(tiny_train, 3, 6))
    train_gan(half, _loader(), progress=False)
    save_checkpoint(half, tmp_path / "checkpoint.pt")
    torch.rand(
        1000
    )  # other random draws in between: the checkpoint restores the RNG
    resumed = _resume(tmp_path, 12)
    assert resumed.train_cfg == full.train_cfg
    # before its first step, the rates of step 6 (which that step sets again)
    assert _rates(resumed) == [[LR_G * 0.5**2], [LR_D * 0.5**2]]
    used = _record_rates(resumed)
    train_gan(resumed, _loader(), progress=False)
    assert used == _expected(3, 12)[2 * 6 :]
    _assert_same_state(resumed, full)


def test_a_resume_can_start_a_schedule_from_its_step(
    tiny_model, tiny_train, tmp_path
):
    state = make_state(tiny_model, _scheduled(tiny_train, 0, 4))
    train_gan(state, _loader(), progress=False)
    save_checkpoint(state, tmp_path / "checkpoint.pt")
    resumed = _resume(tmp_path, 6, lr_half_life=2)
    assert resumed.train_cfg.lr_half_life == 2
    assert _rates(resumed) == [[LR_G * 0.5**2], [LR_D * 0.5**2]]
    used = _record_rates(resumed)
    train_gan(resumed, _loader(), progress=False)
    assert used == _expected(2, 6)[2 * 4 :]


def test_a_checkpoint_without_the_field_resumes_with_constant_rates(
    tiny_model, tiny_train, tmp_path
):
    """A checkpoint written before ``lr_half_life`` existed: its stored config lacks the key."""
    full = make_state(tiny_model, _scheduled(tiny_train, 0, 8))
    train_gan(full, _loader(), progress=False)
    half = make_state(tiny_model, _scheduled(tiny_train, 0, 4))
    train_gan(half, _loader(), progress=False)
    save_checkpoint(half, tmp_path / "new.pt")
    old = read_checkpoint(tmp_path / "new.pt")
    del old["train_config"]["lr_half_life"]
    torch.save(old, tmp_path / "old.pt")
    assert (
        "lr_half_life" not in read_checkpoint(tmp_path / "old.pt")["train_config"]
    )
    resumed = _resume(tmp_path / "old.pt", 8)
    assert resumed.train_cfg.lr_half_life == 0
    assert resumed.train_cfg == full.train_cfg
    used = _record_rates(resumed)
    train_gan(resumed, _loader(), progress=False)
    assert {lr for name, _, lr in used if name == "g"} == {LR_G}
    assert {lr for name, _, lr in used if name == "d"} == {LR_D}
    _assert_same_state(resumed, full)
