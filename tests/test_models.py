import pytest
import torch
from torch import nn

from dcgan_tutorial.config import PRESETS, ConfigError, ModelConfig
from dcgan_tutorial.models import Discriminator, Generator, build_models, count_parameters, dcgan_weights_init


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_makes_images_of_its_size_and_one_logit_each(name):
    cfg = PRESETS[name].model
    G, D = build_models(cfg)
    z = torch.randn(3, cfg.nz, 1, 1)
    labels = (torch.tensor([0, 3, 9]),) if cfg.conditional else ()  # class-aware models take the class too
    images = G(z, *labels)
    assert images.shape == (3, cfg.nc, cfg.image_size, cfg.image_size)
    assert images.min() >= -1 and images.max() <= 1
    logits = D(images, *labels)
    assert logits.shape == (3,)


@pytest.mark.parametrize("size", [28, 32, 56, 64, 128])
@pytest.mark.parametrize("nc", [1, 3])
def test_generator_and_discriminator_follow_image_size(size, nc):
    G = Generator(nz=10, ngf=4, nc=nc, image_size=size)
    D = Discriminator(ndf=4, nc=nc, image_size=size)
    images = G(torch.randn(2, 10))  # (B, nz) is accepted too
    assert images.shape == (2, nc, size, size)
    assert D(images).shape == (2,)


def test_impossible_size_is_a_clear_error():
    with pytest.raises(ConfigError, match="image_size=48 is not allowed"):
        Generator(image_size=48)


def test_paper64_has_five_transposed_convs_and_no_bn_on_d_input():
    G, D = build_models(PRESETS["paper64"].model)
    convts = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convts] == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 1)]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.blocks.from_image)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.blocks.to_image)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(1, 64), (64, 128), (128, 256), (256, 512), (512, 1)]
    # the PyTorch DCGAN tutorial's counts (3,576,704 and 2,765,568 with nc=3), less the colour channels
    assert count_parameters(G) == 3_576_704 - 2 * 64 * 16
    assert count_parameters(D) == 2_765_568 - 2 * 64 * 16
    assert isinstance(D.blocks.from_image[1], nn.LeakyReLU) and D.blocks.from_image[1].negative_slope == 0.2


def test_dcgan_init_gives_std_002_and_bn_around_one():
    torch.manual_seed(0)
    G = Generator(nz=100, ngf=64, nc=1, image_size=64)
    G.apply(dcgan_weights_init)
    conv_w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    bn_w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    bn_b = torch.cat([m.bias.flatten() for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert conv_w.mean().abs() < 1e-3 and abs(conv_w.std().item() - 0.02) < 5e-4
    assert abs(bn_w.mean().item() - 1.0) < 5e-3 and abs(bn_w.std().item() - 0.02) < 5e-3
    assert torch.all(bn_b == 0)


def test_build_models_is_repeatable_under_a_seed():
    cfg = ModelConfig(image_size=28, ngf=8, ndf=8)
    torch.manual_seed(1)
    G1, _ = build_models(cfg)
    torch.manual_seed(1)
    G2, _ = build_models(cfg)
    for a, b in zip(G1.state_dict().values(), G2.state_dict().values()):
        assert torch.equal(a, b)
