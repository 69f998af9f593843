import matplotlib

matplotlib.use("Agg")

import torch
from PIL import Image

from dcgan_tutorial import viz
from dcgan_tutorial.models import Generator
from dcgan_tutorial.sample import sample_images, sample_noise, save_samples

HISTORY = {
    "step": [1, 2, 3],
    "d_loss": [1.0, 0.9, 0.8],
    "g_loss": [0.7, 0.8, 0.9],
    "d_real": [0.6, 0.7, 0.8],
    "d_fake": [0.4, 0.3, 0.2],
}


def test_plots_draw_every_curve():
    ax = viz.plot_losses(HISTORY)
    assert [
        line.get_label()
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    ] == ["D loss", "G loss"]
    ax = viz.plot_d_outputs(HISTORY)
    ydata = [list(line.get_ydata()) for line in ax.get_lines()]
    assert [0.6, 0.7, 0.8] in ydata and [0.4, 0.3, 0.2] in ydata


def test_smooth_is_a_running_mean():
    assert list(viz.smooth([1, 2, 3, 4], window=2)) == [1, 1.5, 2.5, 3.5]


def test_image_grid_accepts_float_and_uint8():
    floats = torch.full((4, 1, 8, 8), 1.0)
    grid = viz.image_grid(floats, nrow=2)
    assert grid.shape == (3, 2 * 8 + 3 * 2, 2 * 8 + 3 * 2) and grid.max() == 1
    assert torch.equal(
        viz.image_grid((floats * 255).to(torch.uint8), nrow=2), grid
    )


def test_save_gif_has_one_frame_per_grid(tmp_path):
    samples = [
        (s, torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8))
        for s in (0, 10, 20)
    ]
    path = viz.save_gif(samples, tmp_path / "a.gif", nrow=2)
    assert Image.open(path).n_frames == 3
    anim = viz.animate_samples(samples, nrow=2)
    assert "<script" in anim.to_jshtml()


def test_sample_images_are_repeatable_per_seed():
    torch.manual_seed(0)
    G = Generator(nz=8, ngf=4, nc=1, image_size=28)
    a, b, c = (
        sample_images(G, 5, seed=1),
        sample_images(G, 5, seed=1),
        sample_images(G, 5, seed=2),
    )
    assert (
        a.shape == (5, 1, 28, 28) and torch.equal(a, b) and not torch.equal(a, c)
    )
    assert torch.equal(sample_noise(3, 8, 4), sample_noise(3, 8, 4))


def test_save_samples_writes_grey_and_colour_pngs(tmp_path):
    grey = torch.rand(3, 1, 28, 28) * 2 - 1
    paths = save_samples(grey, tmp_path / "g")
    assert len(paths) == 3 and Image.open(paths[0]).mode == "L"
    colour = torch.rand(2, 3, 32, 32) * 2 - 1
    paths = save_samples(colour, tmp_path / "c")
    assert (
        Image.open(paths[0]).mode == "RGB"
        and (tmp_path / "c" / "grid.png").is_file()
    )
