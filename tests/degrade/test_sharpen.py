from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from defocus.color import rgb_to_ycbcr
from defocus.degrade import UnsharpMask, unsharp_mask

OMEGA = Path(__file__).resolve().parents[1] / "fixtures" / "omega"
AMOUNTS = {"08": 0.8, "13": 1.3, "25": 2.5, "118": 11.8, "138": 13.8}


def load_u8(name: str) -> torch.Tensor:
    arr = np.asarray(Image.open(OMEGA / f"{name}.png"))
    return torch.from_numpy(arr.copy())[None, None]


def scipy_unsharp(x: np.ndarray, amount: float, radius: float) -> np.ndarray:
    """Independent reference: scipy's Gaussian with the spec's 2·ceil(2σ)+1 support."""
    blurred = ndimage.gaussian_filter(x, radius, mode="nearest", radius=int(np.ceil(2 * radius)))
    return x + amount * (x - blurred)


@pytest.mark.parametrize("tag", sorted(AMOUNTS))
def test_reproduces_eusipco_files_bit_for_bit(tag: str) -> None:
    gt, expected = load_u8("GT"), load_u8(f"sharp{tag}")
    out = unsharp_mask(gt, AMOUNTS[tag])
    assert out.dtype == torch.uint8
    assert torch.equal(out, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float_path_rounds_to_the_same_files(dtype: torch.dtype) -> None:
    gt = load_u8("GT").to(dtype) / 255
    amounts = torch.tensor(list(AMOUNTS.values()), dtype=dtype)
    out = unsharp_mask(gt.expand(len(amounts), -1, -1, -1), amounts)
    for i, tag in enumerate(AMOUNTS):
        got = torch.round(out[i : i + 1] * 255).clamp(0, 255).to(torch.uint8)
        assert torch.equal(got, load_u8(f"sharp{tag}")), tag


@pytest.mark.parametrize(("radius", "shape"), [(1.0, (13, 17)), (0.6, (9, 8)), (2.3, (20, 11))])
def test_matches_scipy_reference(radius: float, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    x = rng.random(shape)
    expected = scipy_unsharp(x, 1.7, radius)
    got = unsharp_mask(torch.from_numpy(x)[None, None], 1.7, radius)[0, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_colour_sharpens_luma_only() -> None:
    x = torch.rand(2, 3, 12, 15, dtype=torch.float64)
    out = unsharp_mask(x, 2.0)
    ycc_in, ycc_out = rgb_to_ycbcr(x), rgb_to_ycbcr(out)
    torch.testing.assert_close(ycc_out[:, 1:], ycc_in[:, 1:], rtol=0, atol=1e-12)
    expected_y = np.stack([scipy_unsharp(y, 2.0, 1.0) for y in ycc_in[:, 0].numpy()])
    np.testing.assert_allclose(ycc_out[:, 0].numpy(), expected_y, atol=1e-12)


def test_amount_zero_is_identity_and_batch_amounts_match_single() -> None:
    x = torch.rand(3, 3, 10, 9, dtype=torch.float64)
    torch.testing.assert_close(unsharp_mask(x, 0.0), x)
    amounts = torch.tensor([0.5, 1.0, 4.0], dtype=torch.float64)
    batched = unsharp_mask(x, amounts)
    for i, a in enumerate(amounts.tolist()):
        torch.testing.assert_close(batched[i : i + 1], unsharp_mask(x[i : i + 1], a))


def test_no_clip_by_default_and_clip_on_request() -> None:
    x = torch.zeros(1, 1, 9, 9)
    x[..., 4:, :] = 1.0
    out = unsharp_mask(x, 3.0)
    assert out.min() < 0 and out.max() > 1
    clipped = unsharp_mask(x, 3.0, clip=True)
    assert clipped.min() == 0 and clipped.max() == 1
    torch.testing.assert_close(clipped, out.clamp(0, 1))


def test_module_matches_function_and_gradcheck() -> None:
    x = torch.rand(1, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    module = UnsharpMask(1.5, radius=0.8)
    torch.testing.assert_close(module(x), unsharp_mask(x, 1.5, 0.8))
    amount = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: unsharp_mask(a, b), (x, amount))


def test_tiny_image_with_wide_kernel() -> None:
    x = torch.rand(1, 1, 2, 3, dtype=torch.float64)
    expected = scipy_unsharp(x[0, 0].numpy(), 1.0, 1.0)
    np.testing.assert_allclose(unsharp_mask(x, 1.0)[0, 0].numpy(), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("x", "radius"),
    [
        (torch.rand(4, 4), 1.0),
        (torch.rand(1, 2, 4, 4), 1.0),
        (torch.zeros(1, 1, 4, 4, dtype=torch.int32), 1.0),
        (torch.rand(1, 1, 4, 4), 0.0),
    ],
)
def test_rejects_bad_input(x: torch.Tensor, radius: float) -> None:
    with pytest.raises(ValueError):
        unsharp_mask(x, 1.0, radius)
