import math

import pytest
import torch

from dcgan_tutorial.losses import (
    d_loss,
    g_loss,
    g_loss_non_saturating,
    g_loss_saturating,
)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


REAL = [2.0, -1.0]
FAKE = [0.5, -3.0]


def test_d_loss_matches_hand_computation():
    expected = (
        -sum(math.log(_sigmoid(x)) for x in REAL) / 2
        - sum(math.log(1 - _sigmoid(x)) for x in FAKE) / 2
    )
    got = d_loss(torch.tensor(REAL), torch.tensor(FAKE)).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_non_saturating_g_loss_matches_hand_computation():
    expected = -sum(math.log(_sigmoid(x)) for x in FAKE) / 2
    assert g_loss_non_saturating(torch.tensor(FAKE)).item() == pytest.approx(
        expected, rel=1e-6
    )
    assert g_loss(torch.tensor(FAKE)).item() == pytest.approx(expected, rel=1e-6)


def test_saturating_g_loss_matches_hand_computation():
    expected = sum(math.log(1 - _sigmoid(x)) for x in FAKE) / 2
    assert g_loss_saturating(torch.tensor(FAKE)).item() == pytest.approx(
        expected, rel=1e-6
    )
    assert g_loss(torch.tensor(FAKE), "saturating").item() == pytest.approx(
        expected, rel=1e-6
    )


def test_losses_stay_finite_for_extreme_logits():
    logits = torch.tensor([-200.0, 200.0])
    assert torch.isfinite(d_loss(logits, logits))
    assert torch.isfinite(g_loss_non_saturating(logits))
    assert torch.isfinite(g_loss_saturating(logits))


def test_saturating_gradient_vanishes_where_non_saturating_does_not():
    # D confidently rejects the fake: D(G(z)) = sigmoid(-6) ~ 0.0025
    logit = torch.tensor([-6.0], requires_grad=True)
    (grad_sat,) = torch.autograd.grad(g_loss_saturating(logit), logit)
    (grad_ns,) = torch.autograd.grad(g_loss_non_saturating(logit), logit)
    assert abs(grad_sat.item()) < 0.01 and abs(grad_ns.item()) > 0.99


def test_unknown_g_loss_kind_is_refused():
    with pytest.raises(ValueError, match="loss='wgan' is not allowed"):
        g_loss(torch.zeros(2), "wgan")
