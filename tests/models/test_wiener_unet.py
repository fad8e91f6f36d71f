"""WienerUNet and its Wiener bank: exactness against scikit-image, gradients, conditioning."""

import numpy as np
import pytest
import torch
from skimage.restoration import wiener as skimage_wiener

from defocus.assets import sample_image_path
from defocus.classical.blind import BlurEstimate, disk_bank, stack_psfs, symmetric_extension
from defocus.color import to_luma
from defocus.degrade import blur, disk_kernel
from defocus.io import read_image
from defocus.models import create_model
from defocus.models import wiener_bank as bank_module
from defocus.models.wiener_bank import WienerBank, wiener_bank


@pytest.mark.parametrize("radius", [1.0, 2.5])
@pytest.mark.parametrize("balance", [1e-3, 3e-2])
def test_bank_equals_skimage_wiener_on_the_symmetric_extension(radius: float, balance: float):
    rng = np.random.default_rng(0)
    y = torch.from_numpy(rng.random((1, 1, 24, 30)))
    psf = disk_kernel(radius)
    extended = symmetric_extension(y)[0, 0].numpy()
    expected = skimage_wiener(extended, psf.numpy(), balance, clip=False)[:24, :30]
    actual = wiener_bank(y, psf[None, None], torch.tensor([[[balance]]], dtype=torch.float64))
    torch.testing.assert_close(actual[:, :1], y)  # channel 0: the input itself
    np.testing.assert_allclose(actual[0, 1].numpy(), expected, rtol=0, atol=1e-12)


def test_bank_computed_in_slices_equals_skimage_and_the_unsliced_bank(monkeypatch):
    rng = np.random.default_rng(1)
    y = torch.from_numpy(rng.random((2, 1, 23, 31)))
    psfs = stack_psfs([disk_kernel(1.5), disk_kernel(3.0)])[None]
    balances = torch.tensor([[[1e-3, 1e-1], [1e-2, 1.0]]], dtype=torch.float64)
    whole = wiener_bank(y, psfs, balances)
    monkeypatch.setattr(bank_module, "CHUNK_ELEMENTS", 100)  # slices of 1-2 rows/columns
    sliced = wiener_bank(y, psfs, balances, dtype=torch.float32)
    torch.testing.assert_close(sliced, whole.float())
    extended = symmetric_extension(y[1:])[0, 0].numpy()
    expected = skimage_wiener(extended, disk_kernel(3.0).numpy(), 1.0, clip=False)[:23, :31]
    np.testing.assert_allclose(sliced[1, 4].numpy(), expected, rtol=0, atol=1e-6)


def test_bank_candidate_order_is_psf_major_and_per_image():
    y = torch.rand(2, 1, 20, 18, dtype=torch.float64)
    psfs = stack_psfs([disk_kernel(1.0), disk_kernel(2.0)])
    balances = torch.tensor([[1e-3, 1e-1], [1e-2, 1.0]], dtype=torch.float64)
    per_image = torch.stack([psfs, psfs.flip(0)])  # image 1 sees the PSFs swapped
    out = wiener_bank(y, per_image, torch.stack([balances, balances]))
    assert out.shape == (2, 1 + 4, 20, 18)
    single = wiener_bank(y[1:], psfs[None, :1], balances[None, 1:, 1:])
    torch.testing.assert_close(out[1:, 1 + 1 * 2 + 1][:, None], single[:, 1:])


def test_bank_gradcheck_float64():
    y = torch.rand(1, 1, 7, 6, dtype=torch.float64, requires_grad=True)
    psfs = stack_psfs([disk_kernel(1.0), disk_kernel(1.5)])[None]
    log_balance = torch.tensor([[[-4.0, -2.0], [-3.0, -1.0]]], dtype=torch.float64)
    log_balance.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: wiener_bank(a, psfs, b.exp()), (y, log_balance))


def test_bank_module_picks_radii_around_the_estimate_clamped_to_the_table():
    radii = (0.5, 1.0, 1.5, 2.0)
    bank = WienerBank(radii, offsets=(-1, 0, 1), factors=(1.0,)).double()
    y = torch.rand(2, 1, 16, 12, dtype=torch.float64)
    blur = BlurEstimate(
        index=torch.tensor([0, 2]),
        radius=torch.tensor([0.5, 1.5], dtype=torch.float64),
        balance=torch.tensor([1e-2, 1e-3], dtype=torch.float64),
    )
    out = bank(y, blur)
    table = disk_bank(radii).double()  # the module's table is float32
    lam = torch.tensor([[[1e-3]]], dtype=torch.float64)
    for k, index in enumerate((1, 2, 3)):  # image 1: radii 1.0, 1.5, 2.0
        expected = wiener_bank(y[1:], table[None, index : index + 1], lam)
        torch.testing.assert_close(out[1:, 1 + k : 2 + k], expected[:, 1:])
    first = wiener_bank(y[:1], table[None, :1], lam * 10)[:, 1:]
    torch.testing.assert_close(out[:1, 1:2], first)  # index -1 clamps to 0
    torch.testing.assert_close(out[:1, 2:3], first)


def test_bank_has_no_stored_state():
    assert WienerBank().state_dict() == {}
    with pytest.raises(ValueError, match="positive"):
        WienerBank(factors=(0.0, 1.0))


def test_channels_are_restored_independently_with_the_image_estimate():
    torch.manual_seed(0)
    model = create_model("wiener-unet", in_channels=3, widths=(4, 8, 8)).eval()
    x = torch.rand(2, 3, 21, 26)
    with torch.no_grad():
        blur = model.estimate(x)
        whole = model(x)
        for c in range(3):
            torch.testing.assert_close(whole[:, c : c + 1], model(x[:, c : c + 1], blur))


def test_one_estimate_serves_a_batch_of_tiles():
    torch.manual_seed(0)
    model = create_model("wiener-unet", widths=(4, 8, 8)).eval()
    x = torch.rand(3, 1, 16, 16)
    blur = model.estimate(x[:1])
    with torch.no_grad():
        together = model(x, blur)
        torch.testing.assert_close(together[2:], model(x[2:], blur))
    with pytest.raises(ValueError, match="2 entries for 3 images"):
        model(x, model.estimate(x[:2]))


def test_zero_head_averages_blurry_and_candidates():
    model = create_model("wiener-unet", offsets=(-1, 1), factors=(1.0,), widths=(4, 8, 8))
    x = torch.rand(1, 1, 16, 20)
    with torch.no_grad():
        for parameter in model.fusion.head.parameters():
            parameter.zero_()
        blur = model.estimate(x)
        expected = model.bank(x, blur).mean(dim=1, keepdim=True)
        torch.testing.assert_close(model(x), expected)


def test_half_precision_storage_changes_results_by_little():
    torch.manual_seed(0)
    model = create_model("wiener-unet", widths=(4, 8, 8)).eval()
    x = torch.rand(1, 1, 40, 36)
    with torch.no_grad():
        full = model.prepare(x)
        half = model.prepare(x, dtype=torch.float16)
        assert half.dtype == torch.float16
        torch.testing.assert_close(half.float(), full, rtol=1e-3, atol=1e-3)
        torch.testing.assert_close(model.fuse(half), model(x), rtol=0, atol=1e-3)


def test_global_stage_ignores_mixed_precision_autocast():
    model = create_model("wiener-unet", widths=(4, 8, 8)).eval()
    x = torch.rand(1, 1, 32, 40)
    with torch.no_grad():
        expected = model.prepare(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model.prepare(x)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, expected)


def test_sharp_images_are_flagged_and_returned_unchanged():
    model = create_model("wiener-unet", widths=(4, 8, 8)).eval()
    sharp = to_luma(read_image(sample_image_path()).pixels[None])[..., :96, :96]
    pair = torch.cat([sharp, blur(sharp, disk_kernel(3.0))])
    with torch.no_grad():
        estimate = model.estimate(pair)
        assert float(estimate.radius[0]) < model.min_radius <= float(estimate.radius[1])
        features = model.prepare(pair, estimate)
        assert features[:, 0].flatten(1).amax(1).tolist() == [0.0, 1.0]
        torch.testing.assert_close(features[0, 2:], sharp[0].expand(15, -1, -1))
        out = model.fuse(features)
    torch.testing.assert_close(out[:1], sharp, rtol=0, atol=0)
    assert not torch.allclose(out[1:], pair[1:])
