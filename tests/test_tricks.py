"""The training tricks (dcgan_tutorial/tricks/, the hinge loss): each changes what it claims to change."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcgan_tutorial import build_models
from dcgan_tutorial.config import ModelConfig
from dcgan_tutorial.losses import d_loss, d_loss_hinge, g_loss, g_loss_hinge
from dcgan_tutorial.tricks import DTricks, PaperView
from dcgan_tutorial.tricks.augment import cutout, diff_augment, translate
from dcgan_tutorial.tricks.ema import EMA, ema_generator
from dcgan_tutorial.tricks.regularizers import (
    add_instance_noise,
    d_loss_smoothed,
    instance_noise_sigma,
    r1_penalty,
)
from dcgan_tutorial.tricks.spectral import apply_spectral_norm

TINY = ModelConfig(image_size=28, nc=1, nz=8, ngf=4, ndf=4)


def _tiny_g():
    torch.manual_seed(0)
    return build_models(TINY)[0]


# --- EMA of G ---------------------------------------------------------------------------------------


def test_ema_update_moves_each_parameter_by_one_minus_decay():
    G = _tiny_g()
    ema = EMA(G, decay=0.9)
    ema.updates = 1000  # past the warm-up: the weight is exactly 1 - decay
    before = [p.clone() for p in ema.G.parameters()]
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    ema.update(G)
    for b, p_ema, p in zip(before, ema.G.parameters(), G.parameters()):
        torch.testing.assert_close(p_ema, b + 0.1 * (p - b))


def test_ema_decay_warms_up_from_a_tenth():
    ema = EMA(_tiny_g(), decay=0.999)
    assert ema.current_decay() == pytest.approx(
        0.1
    )  # the first update mostly takes G's weights
    ema.updates = 10**6
    assert ema.current_decay() == 0.999


def test_ema_update_copies_batchnorm_buffers():
    G = _tiny_g()
    ema = EMA(G)
    bn = next(m for m in G.modules() if isinstance(m, nn.BatchNorm2d))
    bn.running_mean.fill_(3.0)
    ema.update(G)
    bn_ema = next(m for m in ema.G.modules() if isinstance(m, nn.BatchNorm2d))
    assert torch.equal(bn_ema.running_mean, bn.running_mean)


def test_ema_parameters_do_not_take_gradients():
    ema = EMA(_tiny_g())
    assert not any(p.requires_grad for p in ema.G.parameters())


def test_ema_recompute_batchnorm_gives_the_statistics_of_the_averaged_weights():
    G = _tiny_g()
    ema = EMA(G)
    with torch.no_grad():  # averaged weights that differ from G's
        for p in ema.G.parameters():
            p.mul_(1.5)
    bn = next(m for m in ema.G.modules() if isinstance(m, nn.BatchNorm2d))
    seen = []
    hook = bn.register_forward_hook(
        lambda m, inp, out: seen.append(inp[0].detach().clone())
    )
    ema.recompute_batchnorm(n_batches=3, batch_size=16, seed=5)
    hook.remove()
    x = torch.cat(
        seen
    )  # every pre-BN activation of the 3 batches (equal sizes: the mean of means)
    torch.testing.assert_close(bn.running_mean, x.mean(dim=(0, 2, 3)))
    assert not torch.allclose(
        bn.running_mean,
        next(
            m for m in G.modules() if isinstance(m, nn.BatchNorm2d)
        ).running_mean,
    )
    assert (
        not ema.G.training and bn.momentum == 0.1
    )  # back to eval mode and the usual momentum


def test_ema_generator_samples_in_eval_mode():
    ema = EMA(_tiny_g())
    G = ema_generator(ema, n_batches=2, batch_size=8)
    assert G is ema.G and not G.training


# --- DiffAugment ------------------------------------------------------------------------------------


def test_translate_moves_each_image_by_at_most_an_eighth():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 14, 14] = 1.0
    out = translate(x, generator=torch.Generator().manual_seed(0))
    shifts = set()
    for img in out[:, 0]:
        ((r, c),) = img.nonzero().tolist()
        assert (
            abs(r - 14) <= 4 and abs(c - 14) <= 4
        )  # int(28 / 8 + 0.5) = 4 pixels at most
        shifts.add((r - 14, c - 14))
    assert len(shifts) > 10  # each image draws its own shift
    assert out.sum() == 64  # a shift moves pixels, it does not change them


def test_translate_fills_uncovered_pixels_with_zero():
    out = translate(
        torch.ones(32, 1, 28, 28), generator=torch.Generator().manual_seed(1)
    )
    assert set(out.unique().tolist()) == {0.0, 1.0} and (out == 0).any()


def test_cutout_zeroes_one_square_of_half_the_image():
    out = cutout(
        torch.ones(64, 1, 28, 28), generator=torch.Generator().manual_seed(0)
    )
    for img in out[:, 0]:
        rows, cols = (img == 0).nonzero().unbind(1)
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert (
            h <= 14 and w <= 14 and (img == 0).sum() == h * w
        )  # one axis-aligned rectangle
    assert (
        (out == 0).flatten(1).sum(1) == 14 * 14
    ).any()  # a square wholly inside: 14 x 14


def test_diff_augment_passes_gradients_to_its_input():
    x = torch.randn(8, 1, 28, 28, requires_grad=True)
    diff_augment(x, generator=torch.Generator().manual_seed(0)).sum().backward()
    assert (
        x.grad is not None and (x.grad == 1).any() and (x.grad == 0).any()
    )  # kept pixels and cut ones


def test_diff_augment_repeats_with_the_same_generator_state():
    x = torch.randn(8, 1, 28, 28)
    a = diff_augment(x, generator=torch.Generator().manual_seed(3))
    b = diff_augment(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)


def test_diff_augment_rejects_an_unknown_policy():
    with pytest.raises(ValueError, match="color"):
        diff_augment(torch.zeros(1, 1, 28, 28), policy=("color",))


# --- regularisers -----------------------------------------------------------------------------------


def test_r1_penalty_matches_hand_computation_for_a_linear_d():
    w = torch.randn(28 * 28)
    real = torch.randn(4, 1, 28, 28, requires_grad=True)
    logits = real.flatten(1) @ w  # grad of l(x) wrt x is w for every image
    assert r1_penalty(real, logits, gamma=2.0).item() == pytest.approx(
        w.pow(2).sum().item(), rel=1e-5
    )


def test_r1_penalty_is_differentiable_in_d_weights():
    w = torch.randn(28 * 28, requires_grad=True)
    real = torch.randn(4, 1, 28, 28, requires_grad=True)
    r1_penalty(real, real.flatten(1) @ w, gamma=1.0).backward()
    torch.testing.assert_close(w.grad, w.detach())  # d/dw (1/2 |w|^2) = w


@pytest.mark.parametrize(
    "step,expected", [(0, 0.5), (50, 0.25), (100, 0.0), (500, 0.0)]
)
def test_instance_noise_sigma_falls_linearly_to_zero(step, expected):
    assert instance_noise_sigma(step, 0.5, 100) == pytest.approx(expected)


def test_add_instance_noise_has_the_asked_standard_deviation():
    x = torch.zeros(64, 1, 28, 28)
    noisy = add_instance_noise(x, 0.3, torch.Generator().manual_seed(0))
    assert noisy.std().item() == pytest.approx(0.3, rel=0.02)
    assert add_instance_noise(x, 0.0) is x


def test_d_loss_smoothed_uses_the_real_target():
    real, fake = torch.randn(16), torch.randn(16)
    expected = (
        -(0.9 * F.logsigmoid(real) + 0.1 * F.logsigmoid(-real)).mean()
        - F.logsigmoid(-fake).mean()
    )
    torch.testing.assert_close(d_loss_smoothed(real, fake, 0.9), expected)
    torch.testing.assert_close(
        d_loss_smoothed(real, fake, 1.0), d_loss(real, fake)
    )


def test_d_loss_smoothed_is_smallest_at_d_of_point_nine():
    logits = torch.linspace(0, 6, 601)
    losses = torch.stack(
        [d_loss_smoothed(x.view(1), torch.full((1,), -20.0)) for x in logits]
    )
    assert logits[losses.argmin()].item() == pytest.approx(math.log(9), abs=0.01)


# --- hinge loss ---------------------------------------------------------------------------------------


def test_d_loss_hinge_matches_hand_computation():
    real = torch.tensor([2.0, 0.5, -1.0])  # margins: 0, 0.5, 2
    fake = torch.tensor([-3.0, 0.0])  # margins: 0, 1
    assert d_loss_hinge(real, fake).item() == pytest.approx(2.5 / 3 + 0.5)
    assert d_loss_hinge(real, fake, "mean").item() == pytest.approx(
        0.5 * (2.5 / 3 + 0.5)
    )


def test_g_loss_hinge_is_minus_the_mean_logit():
    fake = torch.tensor([1.0, -3.0, 0.5])
    assert g_loss_hinge(fake).item() == pytest.approx(0.5)
    assert g_loss(fake, "hinge").item() == pytest.approx(0.5)


# --- spectral norm ------------------------------------------------------------------------------------


def test_spectral_norm_bounds_each_layer_of_d_by_one():
    torch.manual_seed(0)
    D = apply_spectral_norm(build_models(TINY)[1])
    for _ in range(30):  # each forward pass runs one power iteration
        D(torch.randn(8, 1, 28, 28))
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.02)


# --- the bundle d_step uses ---------------------------------------------------------------------------


class _Cfg:
    (
        loss,
        d_loss_reduction,
        label_smoothing,
        instance_noise,
        instance_noise_steps,
        diffaugment,
        r1_gamma,
    ) = ("non-saturating", "sum", 0.0, 0.0, 1, False, 0.0)


def test_the_view_is_the_papers_when_every_trick_is_off():
    assert type(DTricks.from_config(_Cfg())) is PaperView


@pytest.mark.parametrize(
    "field,value",
    [
        ("loss", "hinge"),
        ("label_smoothing", 0.1),
        ("instance_noise", 0.1),
        ("diffaugment", True),
        ("r1_gamma", 1.0),
    ],
)
def test_dtricks_is_made_for_each_trick(field, value):
    cfg = _Cfg()
    setattr(cfg, field, value)
    assert getattr(DTricks.from_config(cfg), field) == value


def test_dtricks_d_view_makes_reals_a_gradient_leaf_for_r1():
    x = torch.randn(4, 1, 28, 28)
    view = DTricks(r1_gamma=1.0).d_view(x, 0, is_real=True)
    assert view.requires_grad and view.is_leaf and torch.equal(view, x)
    assert (
        not DTricks(r1_gamma=1.0).d_view(x, 0).requires_grad
    )  # fakes: no penalty, no leaf


def test_dtricks_d_loss_adds_r1_to_the_plain_loss():
    w = torch.randn(28 * 28)
    tricks = DTricks(r1_gamma=2.0)
    real = tricks.d_view(torch.randn(4, 1, 28, 28), 0, is_real=True)
    real_logits, fake_logits = real.flatten(1) @ w, torch.randn(4)
    expected = d_loss(real_logits, fake_logits) + w.pow(2).sum()
    torch.testing.assert_close(
        tricks.d_loss(real, real_logits, fake_logits), expected
    )


def test_dtricks_d_loss_picks_hinge_and_smoothing():
    real, fake = torch.randn(8), torch.randn(8)
    torch.testing.assert_close(
        DTricks(loss="hinge").d_loss(None, real, fake), d_loss_hinge(real, fake)
    )
    torch.testing.assert_close(
        DTricks(label_smoothing=0.1).d_loss(None, real, fake),
        d_loss_smoothed(real, fake, 0.9),
    )


# --- wired into training: off changes nothing, on changes what it claims ------------------------------

from fake_images import random_images  # noqa: E402

from dcgan_tutorial import make_state, train_gan, train_step  # noqa: E402
from dcgan_tutorial.config import ConfigError, TrainConfig  # noqa: E402
from dcgan_tutorial.data import InMemoryLoader  # noqa: E402
from dcgan_tutorial.metrics import ReferenceFID  # noqa: E402
from dcgan_tutorial.pretrained import load_generator_file  # noqa: E402
from dcgan_tutorial.watchers import FIDTracker  # noqa: E402


def _train_cfg(**fields):
    """fp32 on every CPU: the hand-written steps below compare against the fp32 step."""
    return TrainConfig(
        **{
            "batch_size": 8,
            "steps": 4,
            "epochs": None,
            "n_fixed": 4,
            "sample_every": 2,
            "log_every": 1,
            "checkpoint_every": 100,
            "checkpoint_minutes": None,
            "precision": "fp32",
            **fields,
        }
    )


def _batches(n=3):
    return [random_images(8, seed=i).float() / 127.5 - 1 for i in range(n)]


def _plain_step(state, real):
    """The training step as it was before the tricks existed (CPU, fp32), written out for comparison."""
    z = torch.randn(
        real.shape[0], state.model_cfg.nz, 1, 1, generator=state.noise_gen
    )
    fake = state.G(z)
    state.opt_d.zero_grad(set_to_none=True)
    d_loss(
        state.D(state.speed.prepare_batch(real)), state.D(fake.detach())
    ).backward()
    state.opt_d.step()
    state.opt_g.zero_grad(set_to_none=True)
    g_loss(state.D(fake)).backward(inputs=list(state.G.parameters()))
    state.opt_g.step()


def test_train_step_with_every_trick_off_is_bit_identical_to_the_plain_step():
    a, b = make_state(TINY, _train_cfg()), make_state(TINY, _train_cfg())
    assert type(a.view) is PaperView and a.ema is None
    for real in _batches():
        train_step(a, real)
        _plain_step(b, real)
    for x, y in zip(
        [*a.G.state_dict().values(), *a.D.state_dict().values()],
        [*b.G.state_dict().values(), *b.D.state_dict().values()],
    ):
        assert torch.equal(x, y)


def _d_inputs_and_logits(state, real):
    """What D received and returned during one train_step: [(input, logits), ...] in call order."""
    calls = []
    hook = state.D.register_forward_hook(
        lambda m, inp, out: calls.append((inp[0].detach(), out.detach()))
    )
    stats = train_step(state, real)
    hook.remove()
    return calls, stats


def test_train_step_diffaugment_shows_d_augmented_images():
    real = _batches(1)[0]
    calls, _ = _d_inputs_and_logits(
        make_state(TINY, _train_cfg(diffaugment=True)), real
    )
    assert (
        not torch.equal(calls[0][0], real) and (calls[0][0] == 0).any()
    )  # shifted and cut out
    plain, _ = _d_inputs_and_logits(make_state(TINY, _train_cfg()), real)
    assert torch.equal(plain[0][0], real)


def test_train_step_instance_noise_adds_noise_of_sigma_to_d_inputs():
    real = _batches(1)[0]
    calls, _ = _d_inputs_and_logits(
        make_state(TINY, _train_cfg(instance_noise=0.5)), real
    )
    assert (calls[0][0] - real).std().item() == pytest.approx(0.5, rel=0.1)


def test_g_step_sees_the_fakes_as_d_step_does():
    """G learns from what D judges: G's step shows D the same view of the fakes as D's step, at this step."""
    state = make_state(
        TINY, _train_cfg(instance_noise=1.0, instance_noise_steps=4)
    )
    state.step = (
        2  # sigma falls linearly from 1 at step 0 to 0 at step 4: 0.5 here
    )
    fakes = []
    hook = state.G.register_forward_hook(
        lambda m, inp, out: fakes.append(out.detach())
    )
    calls, _ = _d_inputs_and_logits(state, _batches(1)[0])
    hook.remove()
    (_, _), (d_sees, _), (g_sees, _) = (
        calls  # D's step: reals, then fakes; then G's step: fakes
    )
    for seen in (d_sees, g_sees):
        assert (seen - fakes[0]).std().item() == pytest.approx(0.5, rel=0.1)


def test_train_step_hinge_loss_is_what_d_minimises():
    calls, stats = _d_inputs_and_logits(
        make_state(TINY, _train_cfg(loss="hinge")), _batches(1)[0]
    )
    (_, real_logits), (_, fake_logits), (_, g_logits) = calls
    torch.testing.assert_close(
        stats["d_loss"], d_loss_hinge(real_logits, fake_logits)
    )
    torch.testing.assert_close(stats["g_loss"], -g_logits.mean())


def test_train_step_label_smoothing_targets_point_nine():
    calls, stats = _d_inputs_and_logits(
        make_state(TINY, _train_cfg(label_smoothing=0.1)), _batches(1)[0]
    )
    torch.testing.assert_close(
        stats["d_loss"], d_loss_smoothed(calls[0][1], calls[1][1], 0.9)
    )


def test_train_step_r1_adds_a_positive_penalty():
    calls, stats = _d_inputs_and_logits(
        make_state(TINY, _train_cfg(r1_gamma=10.0)), _batches(1)[0]
    )
    assert stats["d_loss"] > d_loss(calls[0][1], calls[1][1]) + 1e-6


def test_train_step_ema_averages_g_and_leaves_g_alone():
    ema_state, plain = (
        make_state(TINY, _train_cfg(ema_decay=0.9)),
        make_state(TINY, _train_cfg()),
    )
    start = [p.clone() for p in ema_state.ema.G.parameters()]
    for real in _batches():
        train_step(ema_state, real)
        _plain_step(plain, real)
    assert all(
        torch.equal(a, b)
        for a, b in zip(ema_state.G.parameters(), plain.G.parameters())
    )
    assert ema_state.ema.updates == 3
    for s, e, g in zip(
        start, ema_state.ema.G.parameters(), ema_state.G.parameters()
    ):
        assert not torch.equal(e, s) and not torch.equal(e, g)


def test_make_state_spectral_norm_parametrises_d_only():
    state = make_state(
        ModelConfig(**{**TINY.__dict__, "spectral_norm": True}), _train_cfg()
    )
    assert any(hasattr(m, "parametrizations") for m in state.D.modules())
    assert not any(hasattr(m, "parametrizations") for m in state.G.modules())


@pytest.mark.parametrize(
    "field,value",
    [
        ("ema_decay", 1.0),
        ("label_smoothing", 0.5),
        ("instance_noise", -0.1),
        ("r1_gamma", float("inf")),
        ("instance_noise_steps", 0),
        ("diffaugment", 1),
        ("fid_every", -1),
        ("loss", "wasserstein"),
    ],
)
def test_train_config_rejects_a_bad_trick_value(field, value):
    with pytest.raises(ConfigError, match=field):
        _train_cfg(**{field: value}).validate()


def test_label_smoothing_with_the_hinge_loss_is_refused():
    """The hinge loss has no target for reals: smoothing would be silently ignored."""
    with pytest.raises(ConfigError, match="label_smoothing.*hinge"):
        _train_cfg(loss="hinge", label_smoothing=0.1)
    assert _train_cfg(loss="hinge", label_smoothing=0.0).loss == "hinge"
    assert _train_cfg(loss="saturating", label_smoothing=0.1).label_smoothing == 0.1


def test_model_config_rejects_a_non_bool_spectral_norm():
    with pytest.raises(ConfigError, match="spectral_norm"):
        ModelConfig(spectral_norm="yes").validate()


# --- FID tracking -----------------------------------------------------------------------------------------


def test_reference_fid_matches_classifier_fid():
    from dcgan_tutorial.metrics import classifier_fid

    real, fake = random_images(300, seed=0), random_images(200, seed=1)
    reference = ReferenceFID(real)
    assert reference(fake) == pytest.approx(classifier_fid(real, fake), rel=1e-4)
    assert reference(fake) == pytest.approx(
        classifier_fid(real, fake), rel=1e-4
    )  # again: the fakes are reset


def test_fid_tracker_keeps_the_best_generator_in_the_run_folder(tmp_path):
    state = make_state(TINY, _train_cfg(steps=6))
    loader = InMemoryLoader(
        random_images(64, seed=0), torch.zeros(64, dtype=torch.long), 8, seed=0
    )
    tracker = FIDTracker(
        random_images(300, seed=2), every=2, n=200, out_dir=tmp_path
    )
    train_gan(state, loader, callbacks=[tracker], progress=False)
    assert [p["step"] for p in tracker.history] == [2, 4, 6]
    assert tracker.best["fid"] == min(p["fid"] for p in tracker.history)
    G, _, meta = load_generator_file(tmp_path / "best_generator.pt")
    assert meta["step"] == tracker.best["step"]
    assert all(
        torch.equal(v, tracker.best_state[k]) for k, v in G.state_dict().items()
    )
    assert (tmp_path / "fid_history.json").is_file()


# --- the command line -------------------------------------------------------------------------------------


def test_cli_trick_flags_set_the_config_fields():
    from dcgan_tutorial.cli import _plan, build_parser

    args = build_parser().parse_args(
        [
            "train",
            "--out",
            "runs/x",
            "--ema-decay",
            "0.999",
            "--label-smoothing",
            "0.1",
            "--instance-noise",
            "0.2",
            "--instance-noise-steps",
            "500",
            "--diffaugment",
            "--r1-gamma",
            "1",
            "--spectral-norm",
            "--fid-every",
            "250",
            "--loss",
            "saturating",  # label smoothing needs a BCE loss
        ]
    )
    plan = _plan(args)
    train = plan.train_cfg
    assert (
        train.ema_decay,
        train.label_smoothing,
        train.instance_noise,
        train.instance_noise_steps,
        train.diffaugment,
        train.r1_gamma,
        train.fid_every,
        train.loss,
    ) == (0.999, 0.1, 0.2, 500, True, 1.0, 250, "saturating")
    assert plan.model_cfg.spectral_norm


def test_cli_without_trick_flags_keeps_every_trick_off():
    from dcgan_tutorial.cli import _plan, build_parser

    plan = _plan(build_parser().parse_args(["train", "--out", "runs/x"]))
    assert (
        type(DTricks.from_config(plan.train_cfg)) is PaperView
        and plan.train_cfg.ema_decay == 0
    )
    assert not plan.model_cfg.spectral_norm and plan.train_cfg.fid_every == 0


def test_cli_bad_trick_value_is_one_line_naming_the_flag(tmp_path, capsys):
    from dcgan_tutorial.cli import main

    assert (
        main(["train", "--out", str(tmp_path / "run"), "--ema-decay", "1.5"]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--ema-decay" in err


def test_train_run_with_fid_every_keeps_the_best_generator(tmp_path, data_root):
    import json

    from dcgan_tutorial.run import plan_run, train_run

    plan = plan_run(
        "mnist28",
        model={"ngf": 4, "ndf": 4, "nz": 8},
        train={
            "batch_size": 8,
            "fid_every": 2,
            "log_every": 1,
            "sample_every": 2,
            "checkpoint_minutes": None,
        },
        limits={"steps": 4},
    )
    train_run(
        plan,
        tmp_path / "run",
        device="cpu",
        data_root=data_root,
        limit=256,
        progress=False,
        log=lambda line: None,
    )
    record = json.loads((tmp_path / "run" / "fid_history.json").read_text())
    assert [p["step"] for p in record["history"]] == [2, 4]
    _, _, meta = load_generator_file(tmp_path / "run" / "best_generator.pt")
    assert meta["step"] == record["best"]["step"]


def test_sample_reads_the_best_generator_a_run_kept(tmp_path, data_root, capsys):
    """``sample --checkpoint RUN/best_generator.pt``: the kept generator, not the run's last one."""
    from dcgan_tutorial.cli import main
    from dcgan_tutorial.run import plan_run, train_run

    plan = plan_run(
        "mnist28",
        model={"ngf": 4, "ndf": 4, "nz": 8},
        train={
            "batch_size": 8,
            "fid_every": 2,
            "log_every": 1,
            "sample_every": 2,
            "checkpoint_minutes": None,
        },
        limits={"steps": 4},
    )
    train_run(
        plan,
        tmp_path / "run",
        device="cpu",
        data_root=data_root,
        limit=256,
        progress=False,
        log=lambda line: None,
    )
    best = tmp_path / "run" / "best_generator.pt"
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(best),
                "--n",
                "4",
                "--out",
                str(tmp_path / "best"),
                "--seed",
                "3",
            ]
        )
        == 0
    )
    assert "best_generator.pt (step" in capsys.readouterr().out
    assert any((tmp_path / "best").glob("*.png"))


def test_ema_writer_writes_the_averaged_generator(tmp_path):
    from dcgan_tutorial.watchers import EMAWriter

    state = make_state(TINY, _train_cfg(ema_decay=0.9))
    loader = InMemoryLoader(
        random_images(64, seed=0), torch.zeros(64, dtype=torch.long), 8, seed=0
    )
    train_gan(state, loader, callbacks=[EMAWriter(tmp_path)], progress=False)
    G, _, meta = load_generator_file(tmp_path / "ema_generator.pt")
    assert meta["step"] == 4
    assert all(
        torch.equal(v, state.ema.G.state_dict()[k])
        for k, v in G.state_dict().items()
    )
    assert not all(
        torch.equal(v, state.G.state_dict()[k]) for k, v in G.state_dict().items()
    )
