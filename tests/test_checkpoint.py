from dataclasses import replace
from pathlib import Path

import pytest
import torch
from fake_images import random_images

from dcgan_tutorial.checkpoint import (
    CheckpointError,
    atomic_save,
    load_checkpoint,
    load_generator,
    read_checkpoint,
    save_checkpoint,
    state_dict_of,
)
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import train_gan, train_step


def _loader():
    return InMemoryLoader(
        random_images(64), torch.zeros(64, dtype=torch.long), 8, seed=0
    )


def test_round_trip_restores_everything_so_the_next_step_matches(
    tiny_model, tiny_train, tmp_path
):
    state = make_state(tiny_model, tiny_train)
    train_gan(state, _loader(), progress=False)
    path = save_checkpoint(state, tmp_path / "ckpt.pt")
    torch.manual_seed(
        999
    )  # disturb the global RNG: the checkpoint must restore it
    restored = load_checkpoint(path)
    assert restored.step == state.step and restored.epoch == state.epoch
    assert restored.history == state.history
    assert torch.equal(restored.fixed_z, state.fixed_z)
    assert [s for s, _ in restored.samples] == [s for s, _ in state.samples]
    for a, b in zip(
        state.opt_g.state_dict()["state"].values(),
        restored.opt_g.state_dict()["state"].values(),
    ):
        assert torch.equal(a["exp_avg"], b["exp_avg"])
    torch.set_rng_state(read_checkpoint(path)["rng"]["torch"])
    real = next(iter(_loader()))[0]
    s1, s2 = train_step(state, real), train_step(restored, real)
    for k in s1:
        assert torch.equal(s1[k], s2[k]), k
    for a, b in zip(state.G.parameters(), restored.G.parameters()):
        assert torch.equal(a, b)


def _full_half_and_resumed(model_cfg, train_cfg, folder):
    """12 steps in one go; 6 steps, checkpointed; that checkpoint loaded and trained on to 12."""
    full = make_state(model_cfg, replace(train_cfg, steps=12))
    train_gan(full, _loader(), progress=False)
    half = make_state(model_cfg, replace(train_cfg, steps=6))
    train_gan(half, _loader(), progress=False)
    save_checkpoint(half, folder / "half.pt")
    resumed = load_checkpoint(folder / "half.pt")
    resumed.train_cfg = full.train_cfg
    return full, half, resumed


def test_resumed_training_equals_uninterrupted_training(
    tiny_model, tiny_train, tmp_path
):
    full, _, resumed = _full_half_and_resumed(tiny_model, tiny_train, tmp_path)
    train_gan(resumed, _loader(), progress=False)
    assert resumed.history == full.history
    for a, b in zip(
        full.G.state_dict().values(), resumed.G.state_dict().values()
    ):
        assert torch.equal(a, b)


def test_checkpoint_loads_with_weights_only(tiny_model, tiny_train, tmp_path):
    path = save_checkpoint(make_state(tiny_model, tiny_train), tmp_path / "c.pt")
    data = torch.load(path, weights_only=True)
    assert data["format_version"] == 1 and data["model_config"]["nz"] == 8


def test_load_generator_gives_eval_mode_g(tiny_model, tiny_train, tmp_path):
    state = make_state(tiny_model, tiny_train)
    path = save_checkpoint(state, tmp_path / "c.pt")
    G, cfg = load_generator(path)
    assert cfg == tiny_model and not G.training
    z = torch.randn(2, 8, 1, 1)
    state.G.eval()
    assert torch.equal(G(z), state.G(z))


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.pt")


def test_garbage_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(
        CheckpointError, match="not a readable dcgan_tutorial checkpoint"
    ):
        read_checkpoint(path)


def test_truncated_checkpoint_is_refused(tiny_model, tiny_train, tmp_path):
    path = save_checkpoint(make_state(tiny_model, tiny_train), tmp_path / "c.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        read_checkpoint(path)


class _Payload:
    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Payload.ran = True
    return {}


def test_pickled_code_is_never_run(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save(
        {"format": "dcgan_tutorial.checkpoint", "payload": _Payload()}, path
    )
    with pytest.raises(CheckpointError, match="nothing in it was run"):
        read_checkpoint(path)
    assert not _Payload.ran


def test_other_torch_file_and_wrong_version_are_refused(
    tiny_model, tiny_train, tmp_path
):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(
        CheckpointError, match="no 'dcgan_tutorial.checkpoint' marker"
    ):
        read_checkpoint(tmp_path / "other.pt")
    data = state_dict_of(make_state(tiny_model, tiny_train))
    data["format_version"] = 99
    torch.save(data, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format version 99"):
        read_checkpoint(tmp_path / "future.pt")


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = atomic_save({"a": torch.ones(2)}, tmp_path / "c.pt")
    before = path.read_bytes()

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_save({"a": Unsaveable()}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [
        "c.pt"
    ]  # no temporary file left behind


def test_resuming_a_dropout_model_is_bit_identical_even_after_other_random_draws(
    tiny_train, tmp_path
):
    # flux-mnist's D uses dropout, which draws from the global RNG: resuming must restore it
    from dcgan_tutorial.config import with_overrides
    from dcgan_tutorial.presets import PRESETS

    model = with_overrides(PRESETS["flux-mnist"].model, ngf=4, ndf=4, nz=8)
    full = make_state(
        model, tiny_train.__class__(**{**tiny_train.__dict__, "steps": 12})
    )
    train_gan(full, _loader(), progress=False)
    half = make_state(
        model, tiny_train.__class__(**{**tiny_train.__dict__, "steps": 6})
    )
    train_gan(half, _loader(), progress=False)
    save_checkpoint(half, tmp_path / "half.pt")
    torch.rand(
        1000
    )  # a notebook cell drawing random numbers between the two runs
    resumed = load_checkpoint(tmp_path / "half.pt")
    resumed.train_cfg = full.train_cfg
    train_gan(resumed, _loader(), progress=False)
    assert resumed.history == full.history
    for a, b in zip(
        full.D.state_dict().values(), resumed.D.state_dict().values()
    ):
        assert torch.equal(a, b)


def test_resumed_ema_run_continues_the_average_bit_for_bit(
    tiny_model, tiny_train, tmp_path
):
    """The checkpoint holds the EMA generator: a resumed run's average is the uninterrupted run's."""
    full, half, resumed = _full_half_and_resumed(
        tiny_model, replace(tiny_train, ema_decay=0.9), tmp_path
    )
    assert resumed.ema.updates == half.ema.updates == 6
    train_gan(resumed, _loader(), progress=False)
    assert resumed.ema.updates == full.ema.updates == 12
    for a, b in zip(full.ema.G.parameters(), resumed.ema.G.parameters()):
        assert torch.equal(a, b)


def test_a_resume_with_new_learning_rates_and_beta1_uses_them(
    tiny_model, tiny_train, tmp_path
):
    """``train --resume RUN --lr-g/--lr-d/--beta1``: Adam's moments from the checkpoint, its settings from the flags."""
    from dcgan_tutorial.checkpoint import state_from_checkpoint
    from dcgan_tutorial.cli import _plan, build_parser

    state = make_state(tiny_model, tiny_train)
    train_gan(state, _loader(), progress=False)
    save_checkpoint(state, tmp_path / "checkpoint.pt")
    args = build_parser().parse_args(
        [
            "train",
            "--resume",
            str(tmp_path),
            "--out",
            str(tmp_path),
            "--steps",
            "8",
            "--lr-g",
            "0.001",
            "--lr-d",
            "5e-05",
            "--beta1",
            "0.3",
        ]
    )
    plan = _plan(args)
    resumed = state_from_checkpoint(plan.resume, "cpu", plan.train_cfg)
    assert [(g["lr"], g["betas"]) for g in resumed.opt_g.param_groups] == [
        (1e-3, (0.3, 0.999))
    ]
    assert [(g["lr"], g["betas"]) for g in resumed.opt_d.param_groups] == [
        (5e-5, (0.3, 0.999))
    ]
    for a, b in zip(
        state.opt_d.state_dict()["state"].values(),
        resumed.opt_d.state_dict()["state"].values(),
    ):
        assert torch.equal(
            a["exp_avg"], b["exp_avg"]
        )  # the moments are the checkpoint's


FIXTURES = Path(__file__).parent / "fixtures"


def test_a_checkpoint_of_format_1_written_before_the_view_resumes_as_it_would_have():
    """``fixtures/format1_step4.pt`` and ``step8.pt`` were written by the code of commit 1115e06
    (``fixtures/write_format1_checkpoints.py``): instance noise, an EMA of G, 4 steps, saved, 4 more.

    Today's code reads the first, restores it exactly, and trains on to the second. The stored
    run was computed on the machine that wrote it; another CPU may round a convolution in
    another way, so the trained-on weights are compared to float precision (a lost random
    state, optimiser moment or step counter shows as a large difference).
    """
    old, expected = (
        read_checkpoint(FIXTURES / "format1_step4.pt"),
        read_checkpoint(FIXTURES / "format1_step8.pt"),
    )
    state = load_checkpoint(FIXTURES / "format1_step4.pt")
    contents = state_dict_of(state)
    for key in (
        "G",
        "D",
        "fixed_z",
        "history",
        "step",
        "epoch",
        "model_config",
    ):
        assert _same(contents[key], old[key]), key
    # a field added since reads as its default: the learning-rate schedule is off
    assert "lr_half_life" not in old["train_config"]
    assert _same(
        contents["train_config"], {**old["train_config"], "lr_half_life": 0}
    )
    assert _same(contents["ema"], old["ema"]) and _same(
        contents["rng"], old["rng"]
    )
    assert _same(state.opt_g.state_dict(), old["opt_g"]) and _same(
        state.opt_d.state_dict(), old["opt_d"]
    )
    state.train_cfg = replace(state.train_cfg, steps=8)
    train_gan(
        state,
        InMemoryLoader(
            random_images(64), torch.zeros(64, dtype=torch.long), 8, seed=0
        ),
        progress=False,
    )
    after = state_dict_of(state)
    assert (
        after["step"] == expected["step"] == 8
        and after["history"]["step"] == expected["history"]["step"]
    )
    for key in ("G", "D"):
        for name, value in expected[key].items():
            torch.testing.assert_close(
                after[key][name], value, rtol=1e-4, atol=1e-5, msg=f"{key}.{name}"
            )
    for name, value in expected["ema"]["G"].items():
        torch.testing.assert_close(
            after["ema"]["G"][name],
            value,
            rtol=1e-4,
            atol=1e-5,
            msg=f"ema.{name}",
        )
    torch.testing.assert_close(
        torch.tensor(after["history"]["d_loss"]),
        torch.tensor(expected["history"]["d_loss"]),
        rtol=1e-4,
        atol=1e-5,
    )


def _same(a, b) -> bool:
    """Equal, tensors bit for bit, through dicts, lists and tuples."""
    if isinstance(a, torch.Tensor):
        return (
            isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and torch.equal(a, b)
        )
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return (
            isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b))
        )
    return a == b
