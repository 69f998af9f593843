"""Every architecture and preset: shapes at every size, parameter counts, structure, a few steps that train."""

import pytest
import torch
from fake_images import random_images
from torch import nn

from dcgan_tutorial.config import (
    ConfigError,
    ModelConfig,
    TrainConfig,
    with_overrides,
)
from dcgan_tutorial.losses import d_loss
from dcgan_tutorial.models import (
    ARCHITECTURES,
    Discriminator,
    Generator,
    build_models,
    count_parameters,
    dcgan_weights_init,
)
from dcgan_tutorial.presets import PRESETS
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import train_step

SEED_PRESETS = [
    "flux-mnist",
    "flux-tutorial",
    "tf-mnist64",
    "trainer-mnist",
    "conv",
    "lin",
    "class",
    "cond-mnist",
]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_makes_images_of_its_size_and_one_logit_each(name):
    cfg = PRESETS[name].model
    G, D = build_models(cfg)
    z = torch.randn(3, cfg.nz, 1, 1)
    labels = (
        (torch.tensor([0, 3, 9]),) if cfg.conditional else ()
    )  # class-aware models take the class too
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
    assert [(m.in_channels, m.out_channels) for m in convts] == [
        (100, 512),
        (512, 256),
        (256, 128),
        (128, 64),
        (64, 1),
    ]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.blocks.from_image)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.blocks.to_image)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (1, 64),
        (64, 128),
        (128, 256),
        (256, 512),
        (512, 1),
    ]
    # the PyTorch DCGAN tutorial's counts (3,576,704 and 2,765,568 with nc=3), less the colour channels
    assert count_parameters(G) == 3_576_704 - 2 * 64 * 16
    assert count_parameters(D) == 2_765_568 - 2 * 64 * 16
    assert (
        isinstance(D.blocks.from_image[1], nn.LeakyReLU)
        and D.blocks.from_image[1].negative_slope == 0.2
    )


def test_dcgan_init_gives_std_002_and_bn_around_one():
    torch.manual_seed(0)
    G = Generator(nz=100, ngf=64, nc=1, image_size=64)
    G.apply(dcgan_weights_init)
    conv_w = torch.cat(
        [
            m.weight.flatten()
            for m in G.modules()
            if isinstance(m, nn.ConvTranspose2d)
        ]
    )
    bn_w = torch.cat(
        [m.weight.flatten() for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    )
    bn_b = torch.cat(
        [m.bias.flatten() for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    )
    assert conv_w.mean().abs() < 1e-3 and abs(conv_w.std().item() - 0.02) < 5e-4
    assert (
        abs(bn_w.mean().item() - 1.0) < 5e-3
        and abs(bn_w.std().item() - 0.02) < 5e-3
    )
    assert torch.all(bn_b == 0)


def test_build_models_is_repeatable_under_a_seed():
    cfg = ModelConfig(image_size=28, ngf=8, ndf=8)
    torch.manual_seed(1)
    G1, _ = build_models(cfg)
    torch.manual_seed(1)
    G2, _ = build_models(cfg)
    for a, b in zip(G1.state_dict().values(), G2.state_dict().values()):
        assert torch.equal(a, b)


def small(name: str, **overrides):
    """The preset's architecture at a width small enough for fast tests."""
    return with_overrides(PRESETS[name].model, ngf=4, ndf=4, nz=8, **overrides)


def run(G, D, cfg, n=4):
    labels = (torch.arange(n) % max(cfg.n_classes, 1),) if cfg.conditional else ()
    images = G(torch.randn(n, cfg.nz, 1, 1), *labels)
    return images, D(images, *labels)


def test_every_seed_system_has_a_preset():
    assert set(SEED_PRESETS) <= set(PRESETS)
    assert any("cond" in name for name in PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("size", [28, 32, 64, 128])
def test_every_preset_follows_the_image_size(name, size):
    cfg = small(name, image_size=size)
    G, D = build_models(cfg)
    images, logits = run(G, D, cfg)
    assert images.shape == (4, cfg.nc, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert logits.shape == (4,)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_refuses_an_impossible_size(name):
    with pytest.raises(ConfigError, match="image_size=48 is not allowed"):
        build_models(small(name, image_size=48))


# (G, D) parameter counts, worked out by hand from each write-up's layers (comments: the terms)
PARAMETER_COUNTS = {
    # G: dense 100*12544 + 12544 bias, BN1d 2*12544, convT 256*128*25, BN 2*128, convT 128*64*16, BN 2*64,
    #    convT 64*1*16 + 1 bias; D: conv 16*64 + 64, conv 64*128*16 + 128, dense 6272 + 1
    "flux-mnist": (
        1_254_400 + 12_544 + 25_088 + 819_200 + 256 + 131_072 + 128 + 1_025,
        1_088 + 131_200 + 6_273,
    ),
    # the same without the dense layer's 12,544 biases
    "flux-tutorial": (
        1_254_400 + 25_088 + 819_200 + 256 + 131_072 + 128 + 1_025,
        1_088 + 131_200 + 6_273,
    ),
    # G: dense 100*16384 + 16384, BN1d 2*16384, convT 5x5 1024*512, 512*256, 256*128 (+ BNs), 128*1 + 1
    # D: conv 5x5 1*64 + 64, 64*128, 128*256, 256*512 (+ BNs), dense 8192 + 1
    "tf-mnist64": (
        1_638_400
        + 16_384
        + 32_768
        + 25 * (1024 * 512 + 512 * 256 + 256 * 128)
        + 2 * (512 + 256 + 128)
        + 25 * 128
        + 1,
        25 * 64
        + 64
        + 25 * (64 * 128 + 128 * 256 + 256 * 512)
        + 2 * (128 + 256 + 512)
        + 8192
        + 1,
    ),
}


@pytest.mark.parametrize("name", sorted(PARAMETER_COUNTS))
def test_seed_parameter_counts_match_the_write_ups(name):
    G, D = build_models(PRESETS[name].model)
    assert (count_parameters(G), count_parameters(D)) == PARAMETER_COUNTS[name]


def test_flux_discriminator_has_dropout_and_no_batchnorm():
    _, D = build_models(PRESETS["flux-tutorial"].model)
    assert not any(
        isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in D.modules()
    )
    assert [m.p for m in D.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.25]
    assert {
        m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)
    } == {0.3}
    G, _ = build_models(PRESETS["flux-tutorial"].model)
    assert (
        G.blocks.project[0].bias is None
        and G.blocks.project[0].out_features == 7 * 7 * 256
    )


def test_tf_model_uses_four_5x5_stride_2_transposed_convs():
    G, D = build_models(PRESETS["tf-mnist64"].model)
    convts = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [
        (m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in convts
    ] == [
        (1024, 512, (5, 5), (2, 2)),
        (512, 256, (5, 5), (2, 2)),
        (256, 128, (5, 5), (2, 2)),
        (128, 1, (5, 5), (2, 2)),
    ]
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (1, 64),
        (64, 128),
        (128, 256),
        (256, 512),
    ]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.blocks.from_image)


def test_trainer_mnist_uses_leaky_relu_in_g_and_the_saturating_loss():
    p = PRESETS["trainer-mnist"]
    G, _ = build_models(p.model)
    assert any(isinstance(m, nn.LeakyReLU) for m in G.modules())
    assert not any(isinstance(m, nn.ReLU) for m in G.modules())
    assert p.train.loss == "saturating"


def test_conv_has_five_layers_each_side_at_64_and_batchnorm_on_d_input():
    G, D = build_models(PRESETS["conv"].model)
    assert len([m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]) == 5
    assert len([m for m in D.modules() if isinstance(m, nn.Conv2d)]) == 5
    assert isinstance(D.blocks.from_image[1], nn.BatchNorm2d)
    assert {
        m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)
    } == {0.1}
    assert all(
        m.kernel_size == (4, 4)
        for m in G.modules()
        if isinstance(m, nn.ConvTranspose2d)
    )


def test_lin_has_three_transposed_convs_and_a_conv_in_g_four_convs_and_a_linear_in_d():
    G, D = build_models(PRESETS["lin"].model)  # 32x32
    assert len([m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]) == 3
    assert len([m for m in G.modules() if isinstance(m, nn.Conv2d)]) == 1
    assert len([m for m in D.modules() if isinstance(m, nn.Conv2d)]) == 4
    assert len([m for m in D.modules() if isinstance(m, nn.Linear)]) == 1


def test_class_model_holds_one_pair_per_class():
    G, D = build_models(PRESETS["class"].model)
    assert len(G.per_class) == len(D.per_class) == 10
    one = count_parameters(G.per_class[0])
    assert count_parameters(G) == 10 * one


def test_d_loss_mean_is_half_the_sum():
    real, fake = torch.randn(8), torch.randn(8)
    assert torch.allclose(
        d_loss(real, fake, "mean"), 0.5 * d_loss(real, fake, "sum")
    )
    assert PRESETS["flux-mnist"].train.d_loss_reduction == "mean"
    assert PRESETS["flux-tutorial"].train.d_loss_reduction == "sum"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_few_steps_of_every_preset_change_every_weight(name):
    cfg = small(name)
    train = TrainConfig(
        **{
            **PRESETS[name].train.__dict__,
            "batch_size": 20,
            "n_fixed": 10,
            "steps": 3,
            "epochs": None,
            "fast": False,
        }
    )
    state = make_state(cfg, train)
    before_g = {
        k: v.clone()
        for k, v in state.G.state_dict().items()
        if v.is_floating_point()
    }
    before_d = {
        k: v.clone()
        for k, v in state.D.state_dict().items()
        if v.is_floating_point()
    }
    real = random_images(20, cfg.image_size, cfg.nc).float() / 127.5 - 1
    labels = (
        torch.arange(20) % 10
    )  # every class, so every pair of the class model trains
    for _ in range(3):
        stats = train_step(state, real, labels)
    assert all(torch.isfinite(v) for v in stats.values())
    for before, model in ((before_g, state.G), (before_d, state.D)):
        for key, value in model.state_dict().items():
            if key in before and not key.endswith("num_batches_tracked"):
                assert not torch.equal(before[key], value), (
                    f"{name}: {key} did not change"
                )


def test_every_preset_names_a_known_architecture():
    assert {p.model.arch for p in PRESETS.values()} <= set(ARCHITECTURES)


def test_unknown_architecture_is_a_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match="arch='vit'.*dcgan, flux"):
        build_models(ModelConfig(arch="vit"))


@pytest.mark.parametrize(
    "arch, fields, message",
    [
        ("cond", dict(n_classes=0), "n_classes=0.*needs the number of classes"),
        ("dcgan", dict(n_classes=10), "n_classes=10.*unconditional"),
        (
            "flux",
            dict(batchnorm=False, image_size=28),
            "batchnorm=False.*only arch 'dcgan'",
        ),
    ],
)
def test_each_architecture_checks_what_it_allows(arch, fields, message):
    with pytest.raises(ConfigError, match=message):
        build_models(ModelConfig(arch=arch, **fields))
