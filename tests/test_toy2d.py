"""The 2-D GAN: targets, the players, one-sided steps, the drawn quantities, and training."""

import math

import matplotlib
import pytest
import torch
from torch import nn

from dcgan_tutorial.losses import g_loss
from dcgan_tutorial.toy2d import (
    RING_STD,
    TARGETS,
    MLPDiscriminator,
    MLPGenerator,
    d_probability,
    g_arrows,
    make_toy_gan,
    modes_covered,
    ring_centres,
    sample_target,
    step,
    train,
    warped_grid,
)

matplotlib.use("Agg")


pytestmark = pytest.mark.usefixtures(
    "one_thread"
)  # tiny networks: one thread is fastest


def _gan(target="ring", **kw):
    torch.manual_seed(0)
    return make_toy_gan(
        target,
        hidden=32,
        batch_size=64,
        generator=torch.Generator().manual_seed(1),
        **kw,
    )


@pytest.mark.parametrize("name", list(TARGETS))
def test_sample_target_shape_and_spread(name):
    points = sample_target(name, 4000, torch.Generator().manual_seed(0))
    assert points.shape == (4000, 2) and points.dtype == torch.float32
    assert points.abs().max() < 3.0  # inside the plotted square
    assert points.std(0).min() > 0.5  # spread over the plane, not a point


def test_sample_target_ring_lies_on_eight_modes():
    points = sample_target("ring", 8000, torch.Generator().manual_seed(0))
    distance, mode = torch.cdist(points, ring_centres()).min(1)
    assert distance.max() < 6 * RING_STD  # every point belongs to a mode
    assert torch.allclose(
        distance.pow(2).mean().sqrt(),
        torch.tensor(math.sqrt(2) * RING_STD),
        rtol=0.05,
    )
    shares = torch.bincount(mode, minlength=8) / 8000
    assert shares.min() > 0.1 and shares.max() < 0.15  # 1/8 each
    assert points.mean(0).abs().max() < 0.1


def test_sample_target_moons_are_two_halves():
    points = sample_target("moons", 4000, torch.Generator().manual_seed(0))
    assert points.mean(0).abs().max() < 0.15  # centred
    assert 0.4 < (points[:, 1] > 0).float().mean() < 0.6


def test_sample_target_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="ring, moons, spiral"):
        sample_target("square", 10)


def test_players_shapes():
    G, D = MLPGenerator(hidden=16), MLPDiscriminator(hidden=16)
    assert G(torch.randn(5, 2)).shape == (5, 2)
    assert D(torch.randn(5, 2)).shape == (5,)


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(b, p) for b, p in zip(before, module.parameters()))


@pytest.mark.parametrize(
    "players, d_moves, g_moves",
    [("d", True, False), ("g", False, True), ("both", True, True)],
)
def test_step_moves_only_the_chosen_players(players, d_moves, g_moves):
    gan = _gan()
    g_before, d_before = _params(gan.G), _params(gan.D)
    losses = step(gan, players)
    assert _changed(d_before, gan.D) == d_moves
    assert _changed(g_before, gan.G) == g_moves
    assert set(losses) == {
        k for k, moved in (("d_loss", d_moves), ("g_loss", g_moves)) if moved
    }
    assert (gan.d_steps, gan.g_steps) == (int(d_moves), int(g_moves))


def test_step_g_leaves_no_gradient_on_d():
    gan = _gan()
    step(gan, "g")
    assert all(p.grad is None for p in gan.D.parameters())


def test_step_unknown_players_is_refused():
    with pytest.raises(ValueError, match="choose d, g or both"):
        step(_gan(), "both players")


def test_d_probability_grid_shape_and_range():
    D = MLPDiscriminator(hidden=16)
    xs, ys, probs = d_probability(D, lim=2.0, n=7)
    assert xs.shape == ys.shape == (7,) and probs.shape == (7, 7)
    assert xs[0] == -2.0 and xs[-1] == 2.0
    assert ((probs > 0) & (probs < 1)).all()
    # rows are y, columns are x
    assert torch.allclose(
        probs[1, 4],
        torch.sigmoid(D(torch.tensor([[xs[4], ys[1]]]))).squeeze(),
        atol=1e-6,
    )


def test_warped_grid_is_g_of_the_noise_grid():
    G = nn.Identity()
    grid = warped_grid(G, lim=1.0, lines=3, points=5)
    assert grid.shape == (6, 5, 2)
    assert torch.allclose(
        grid[0, :, 1], torch.full((5,), -1.0)
    )  # first horizontal line: y = -1
    assert torch.allclose(
        grid[3, :, 0], torch.full((5,), -1.0)
    )  # first vertical line: x = -1
    shifted = warped_grid(lambda z: z + 1.0, lim=1.0, lines=3, points=5)
    assert torch.allclose(shifted, grid + 1.0)


@pytest.mark.parametrize("loss", ["non-saturating", "saturating"])
def test_g_arrows_match_the_hand_gradient_for_a_linear_d(loss):
    # D's logit l(x) = w.x + b, so dl/dx = w and D(x) = sigmoid(l):
    # non-saturating: loss_i = -log D(x_i),     -d/dx = (1 - D(x_i)) w
    # saturating:     loss_i = log(1 - D(x_i)), -d/dx = D(x_i) w
    linear = nn.Linear(2, 1)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[1.5, -0.5]]))
        linear.bias.fill_(0.3)

    def D(x):
        return linear(x).squeeze(1)

    fake = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    p = torch.sigmoid(D(fake)).detach()
    factor = 1 - p if loss == "non-saturating" else p
    expected = factor[:, None] * torch.tensor([1.5, -0.5])
    assert torch.allclose(g_arrows(D, fake, loss), expected, atol=1e-6)
    assert linear.weight.grad is None  # D is not touched


def test_g_arrows_equal_autograd_on_each_fakes_own_loss():
    D = MLPDiscriminator(hidden=16)
    fake = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    for i in range(4):
        x = fake[i : i + 1].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(g_loss(D(x)), x)
        assert torch.allclose(g_arrows(D, fake)[i], -grad[0], atol=1e-6)


def test_modes_covered_counts_modes_with_enough_fakes():
    centres = ring_centres()
    assert modes_covered(centres.repeat(10, 1)) == 8
    assert modes_covered(centres[:3].repeat(10, 1)) == 3
    assert (
        modes_covered(torch.zeros(50, 2)) == 0
    )  # the centre of the ring is no mode
    one_stray = torch.cat(
        [centres[:1].repeat(99, 1), centres[1:2]]
    )  # 1% of the fakes at mode 1
    assert modes_covered(one_stray) == 1


def test_train_on_the_ring_covers_more_modes_than_the_untrained_g():
    torch.manual_seed(0)
    gan = make_toy_gan(
        "ring",
        hidden=64,
        batch_size=128,
        generator=torch.Generator().manual_seed(1),
    )
    z = torch.randn(1000, 2, generator=torch.Generator().manual_seed(2))
    covered = []
    history = train(
        gan,
        400,
        every=400,
        watch=lambda g: covered.append(modes_covered(g.G(z).detach())),
    )
    assert len(history) == 400 and (gan.d_steps, gan.g_steps) == (400, 400)
    assert covered[0] <= 1 and covered[1] >= 6, covered


def test_make_toy_gan_refuses_unknown_loss():
    with pytest.raises(ValueError, match="loss='wasserstein'"):
        make_toy_gan(loss="wasserstein")


def test_panel_buttons_step_the_chosen_player():
    pytest.importorskip("ipywidgets")
    from dcgan_tutorial.notebook.toy2d_panel import Toy2DPanel

    panel = Toy2DPanel(n_fakes=64, n_both=3)
    assert bytes(panel.image.value).startswith(b"\x89PNG")
    g_before = _params(panel.gan.G)
    panel.step_d_button.click()
    assert (panel.gan.d_steps, panel.gan.g_steps) == (1, 0) and not _changed(
        g_before, panel.gan.G
    )
    panel.step_g_button.click()
    assert (panel.gan.d_steps, panel.gan.g_steps) == (1, 1)
    panel.step_both_button.click()
    assert (panel.gan.d_steps, panel.gan.g_steps) == (4, 4)
    assert (
        "g_loss" in panel.status.value and "modes covered" in panel.status.value
    )
    panel.target.value = "moons"  # a new target starts a fresh game
    assert panel.gan.target == "moons" and (
        panel.gan.d_steps,
        panel.gan.g_steps,
    ) == (0, 0)


def test_snapshot_holds_what_a_frame_draws():
    from dcgan_tutorial.toy2d_plots import snapshot

    gan = _gan()
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    step(gan, "d")
    snap = snapshot(gan, z, "D {d_steps}, G {g_steps}: {modes} modes", n=9)
    assert snap.probs.shape == (
        9,
        9,
    ) and snap.fake.shape == snap.arrows.shape == (16, 2)
    assert snap.grid.shape[0] % 2 == 0 and snap.grid.shape[2] == 2
    assert snap.label == f"D 1, G 0: {snap.modes} modes"
    assert torch.allclose(torch.from_numpy(snap.fake), gan.G(z).detach())


def test_animate_plays_one_frame_per_snapshot_and_refuses_uneven_panels():
    from dcgan_tutorial.toy2d_plots import animate, animation_html, snapshot

    gan = _gan()
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    frames = []
    train(
        gan,
        4,
        every=2,
        watch=lambda g: frames.append(snapshot(g, z, "step {g_steps}", n=8)),
    )
    assert len(frames) == 3
    html = animation_html(
        animate(
            {"a": frames, "b": frames},
            layers=("heat", "fake", "arrows", "grid"),
            size=1.5,
            dpi=30,
        )
    )
    assert html.count("data:image/jpeg;base64") == 3
    with pytest.raises(ValueError, match="same, non-zero number"):
        animate({"a": frames, "b": frames[:2]})


def test_panel_shows_its_picture_where_no_kernel_runs():
    pytest.importorskip("ipywidgets")
    from dcgan_tutorial.notebook.toy2d_panel import Toy2DPanel

    panel = Toy2DPanel(n_fakes=64)
    bundle = panel._repr_mimebundle_()
    assert (
        "data:image/png;base64" in bundle["text/html"]
        and "ring" in bundle["text/html"]
    )
    assert (
        bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
        == panel.widget.model_id
    )
