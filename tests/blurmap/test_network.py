"""Blur-map networks: output contract, any image size, the seed's CNN as its table says."""

import pytest
import torch

from defocus.backbones import AlexNetTrunk
from defocus.blurmap.network import (
    BLUR_MAP_NETWORKS,
    IN_FOCUS_RADIUS,
    ContextBlurMapUNet,
    GwisBlurCNN,
    to_blur_map,
)


@pytest.mark.parametrize("name", BLUR_MAP_NETWORKS.names())
@pytest.mark.parametrize("size", [(32, 32), (37, 45), (5, 70)])
def test_every_network_maps_any_size_to_two_channels(name, size) -> None:
    torch.manual_seed(0)
    network = BLUR_MAP_NETWORKS.create(name, in_channels=3).eval()
    raw = network(torch.rand(2, 3, *size))
    assert raw.shape == (2, 2, *size) and raw.isfinite().all()


def test_padding_does_not_change_the_aligned_part() -> None:
    torch.manual_seed(0)
    network = BLUR_MAP_NETWORKS.create("blurmap-unet", in_channels=1, widths=(4, 8)).eval()
    x = torch.rand(1, 1, 16, 16)
    whole = network(x)
    assert torch.equal(whole, network.raw(x))


def test_to_blur_map_inverts_the_log_radius_and_scales() -> None:
    radius = torch.tensor([0.0, 1.0, 5.0, 20.0]).view(1, 1, 2, 2)
    raw = torch.cat([torch.log1p(radius), torch.zeros_like(radius)], dim=1)
    maps = to_blur_map(raw, scale=2.0)
    torch.testing.assert_close(maps.radius, 2 * radius)
    assert torch.equal(maps.probability, torch.full_like(radius, 0.5))


def test_seed_cnn_has_the_table_layers_and_a_31_pixel_receptive_field() -> None:
    network = GwisBlurCNN(in_channels=1)
    convs = [m for m in network.layers if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size[0], c.out_channels) for c in convs] == [
        (5, 32),
        (5, 32),
        (11, 64),
        (1, 17),
        (1, 1),
    ]
    # receptive field: perturb one input pixel and see which outputs move
    network.eval()
    with torch.no_grad():
        for conv in convs:
            conv.weight.fill_(0.01)
            conv.bias.fill_(0.1)
        x = torch.zeros(1, 1, 96, 96)
        base = network.layers(x)
        x[0, 0, 48, 48] = 1.0
        moved = (network.layers(x) - base).abs()[0, 0] > 0
    rows = moved.any(1).nonzero().flatten()
    # one output per 2 pixels: 31 input pixels reach 15-16 outputs
    assert 14 <= len(rows) <= 16


def test_seed_cnn_derives_the_defocus_logit_from_its_radius() -> None:
    torch.manual_seed(0)
    raw = GwisBlurCNN(in_channels=1).eval()(torch.rand(1, 1, 24, 24))
    maps = to_blur_map(raw)
    expected = torch.sigmoid((maps.radius - IN_FOCUS_RADIUS) / 0.5)
    torch.testing.assert_close(maps.probability, expected, atol=1e-5, rtol=1e-5)


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    network = BLUR_MAP_NETWORKS.create("blurmap-unet", in_channels=3, widths=(4, 8, 8))
    network(torch.rand(1, 3, 20, 28)).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in network.parameters())


def test_calibration_rescales_only_the_defocus_logit() -> None:
    torch.manual_seed(0)
    network = BLUR_MAP_NETWORKS.create("blurmap-unet", in_channels=3, widths=(4, 8)).eval()
    x = torch.rand(1, 3, 16, 16)
    plain = network(x)
    network.calibration = (2.0, -1.0)
    calibrated = network(x)
    assert torch.equal(calibrated[:, 0], plain[:, 0])
    torch.testing.assert_close(calibrated[:, 1], 2 * plain[:, 1] - 1)


def test_context_network_starts_as_the_unet_it_is_started_from() -> None:
    torch.manual_seed(0)
    widths = (4, 4, 8, 8, 8, 8)
    unet = BLUR_MAP_NETWORKS.create("blurmap-unet", in_channels=3, widths=widths).eval()
    context = ContextBlurMapUNet(3, widths).eval()
    missing = context.load_state_dict(unet.state_dict(), strict=False).missing_keys
    assert all(key.startswith(("context.", "inject.")) for key in missing)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(context(x), unet(x))


def test_context_features_change_the_output_once_their_weights_move() -> None:
    torch.manual_seed(0)
    context = ContextBlurMapUNet(3, (4, 4, 8, 8, 8, 8)).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = context(x)
        for conv in context.inject.values():
            conv.weight.normal_(0, 0.1)
        assert not torch.allclose(context(x), before)


def test_context_trunk_is_frozen_imagenet_alexnet_and_gets_no_gradient() -> None:
    context = ContextBlurMapUNet(1, (4, 4, 8, 8, 8, 8))
    trunk = context.context.features[0].weight
    torch.testing.assert_close(trunk, AlexNetTrunk().features[0].weight, rtol=0, atol=0)
    context(torch.rand(1, 1, 40, 40)).square().mean().backward()
    assert all(p.grad is None for p in context.context.parameters())
    trained = [p for name, p in context.named_parameters() if not name.startswith("context.")]
    assert all(p.grad is not None for p in trained)


def test_context_network_needs_six_levels() -> None:
    with pytest.raises(ValueError, match="6 levels"):
        ContextBlurMapUNet(3, (4, 8, 8, 8, 8))
