"""Parameter counts, shapes on odd sizes, residual identity and gradient flow."""

import pytest
import torch

from defocus.models import create_model, list_models

# Acceptance targets of ../shared/spec/models.md: (name, channels, parameters).
SPEC_COUNTS = [("arknet", 1, 4_890_000), ("xy-deblur", 3, 4_918_627), ("ehnet", 3, 8_779_923)]

# The last layer of each model; zeroing it must turn the model into the identity.
OUTPUT_LAYERS = {
    "arknet": "output",
    "xy-deblur": "decoder.level1.1",
    "ehnet": "tail",
    "tiny-unet": "output",
    "wiener-unet": "fusion.head",
    "varying-wiener-unet": "fusion.head",
}
# With its output layer zeroed, WienerUNet averages its candidates instead (tested in
# test_wiener_unet.py).
NOT_RESIDUAL = {"wiener-unet", "varying-wiener-unet"}


# Reduced configurations with the same code paths, for the slower per-model checks.
SMALL = {
    "ehnet": {
        "width": 16,
        "encoder_blocks": (1, 1),
        "middle_blocks": (1, 1),
        "decoder_blocks": (1, 1),
    },
    "arknet": {"widths": (4, 8, 8, 8), "depth": 2},
    "xy-deblur": {"widths": (4, 8, 8), "depth": 1},
    "tiny-unet": {},
    "wiener-unet": {"offsets": (0,), "factors": (1.0,), "widths": (4, 8, 8)},
    "varying-wiener-unet": {
        "offsets": (0,),
        "factors": (1.0,),
        "local_radii": (2.0,),
        "local_balances": (1e-2,),
        "widths": (4, 8, 8),
    },
}


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(("name", "channels", "expected"), SPEC_COUNTS)
def test_parameter_count_matches_spec(name: str, channels: int, expected: int):
    actual = count(create_model(name, in_channels=channels))
    assert abs(actual - expected) <= 0.01 * expected, (
        f"{name} C={channels}: {actual:,} parameters, spec {expected:,} "
        f"({100 * (actual - expected) / expected:+.3f} %)"
    )


def test_every_model_has_an_output_layer_entry():
    assert set(OUTPUT_LAYERS) == set(list_models())


def test_every_model_has_a_small_configuration():
    assert set(SMALL) == set(list_models())


@pytest.mark.parametrize("name", sorted(OUTPUT_LAYERS))
@pytest.mark.parametrize("shape", [(1, 1, 37, 53), (2, 3, 61, 45)])
def test_output_shape_equals_input_shape(name: str, shape: tuple[int, int, int, int]):
    torch.manual_seed(0)
    model = create_model(name, in_channels=shape[1]).eval()
    x = torch.rand(shape)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", sorted(OUTPUT_LAYERS))
@pytest.mark.parametrize("shape", [(1, 1, 5, 3), (1, 3, 1, 1), (1, 1, 70, 17)])
def test_tiny_and_awkward_sizes(name: str, shape: tuple[int, int, int, int]):
    model = create_model(name, in_channels=shape[1], **SMALL[name]).eval()
    x = torch.rand(shape)
    with torch.no_grad():
        assert model(x).shape == x.shape


@pytest.mark.parametrize("name", sorted(set(OUTPUT_LAYERS) - NOT_RESIDUAL))
@pytest.mark.parametrize("channels", [1, 3])
def test_zero_output_layer_gives_identity(name: str, channels: int):
    model = create_model(name, in_channels=channels, **SMALL[name]).eval()
    x = torch.rand(1, channels, 19, 22)
    with torch.no_grad():
        assert not torch.allclose(model(x), x)  # random init: not the identity
        for parameter in model.get_submodule(OUTPUT_LAYERS[name]).parameters():
            parameter.zero_()
        torch.testing.assert_close(model(x), x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(OUTPUT_LAYERS))
def test_gradients_flow(name: str):
    torch.manual_seed(0)
    model = create_model(name, in_channels=1, **SMALL[name]).train()
    x = torch.rand(2, 1, 16, 16)
    loss = (model(x) - x.flip(-1)).abs().mean()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # the last layer always gets a gradient, whatever the residual scales are
    last = next(model.get_submodule(OUTPUT_LAYERS[name]).parameters())
    assert last.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("name", "multiple"),
    [
        ("arknet", 16),
        ("xy-deblur", 4),
        ("ehnet", 64),
        ("tiny-unet", 2),
        ("wiener-unet", 4),
        ("varying-wiener-unet", 4),
    ],
)
def test_size_multiple_attribute(name: str, multiple: int):
    assert create_model(name).multiple == multiple
