import numpy as np
import pytest
import torch
import torch.nn.functional as F

from defocus.losses import FrequencyLoss, frequency_loss


def numpy_frequency_loss(restored: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
    a = np.fft.fft2(restored.double().numpy(), axes=(-2, -1))
    b = np.fft.fft2(reference.double().numpy(), axes=(-2, -1))
    return np.abs(a - b).mean(axis=(1, 2, 3))


@pytest.mark.parametrize("shape", [(2, 1, 8, 8), (3, 3, 7, 10)])
def test_matches_numpy_fft(shape: tuple[int, ...]):
    torch.manual_seed(0)
    restored, reference = torch.rand(shape), torch.rand(shape)
    expected = numpy_frequency_loss(restored, reference)
    value = frequency_loss(restored, reference, reduction="none")
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(FrequencyLoss()(restored, reference).item(), expected.mean(), 1e-5)
    np.testing.assert_allclose(
        frequency_loss(restored, reference, reduction="sum").item(), expected.sum(), 1e-5
    )


def test_modulus_not_sum_of_parts():
    # a constant offset d puts all energy in the DC bin: H·W·|d| there, 0 elsewhere,
    # so the mean over the H·W bins is |d| for a complex modulus
    reference = torch.zeros(1, 1, 4, 6)
    restored = reference + 0.25
    torch.testing.assert_close(frequency_loss(restored, reference), torch.tensor(0.25))
    # a pure cosine along W has real spectrum; a pure sine has imaginary spectrum:
    # both must give the same value when the amplitude is the same
    w = torch.arange(8, dtype=torch.float64)
    cosine = torch.cos(2 * torch.pi * w / 8).expand(1, 1, 8, 8)
    sine = torch.sin(2 * torch.pi * w / 8).expand(1, 1, 8, 8)
    zero = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(frequency_loss(cosine, zero), frequency_loss(sine, zero))
    # a diagonal wave mixes real and imaginary parts: modulus differs from |Re| + |Im|
    h = torch.arange(8, dtype=torch.float64)[:, None]
    diagonal = torch.cos(2 * torch.pi * (w + h) / 8 + 0.3).expand(1, 1, 8, 8)
    spectrum = torch.fft.fft2(diagonal)
    parts = (spectrum.real.abs() + spectrum.imag.abs()).mean()
    assert not torch.isclose(frequency_loss(diagonal, zero), parts)


def test_lower_is_better():
    torch.manual_seed(1)
    sharp = torch.rand(2, 3, 16, 16)
    blurred = F.avg_pool2d(sharp, 5, stride=1, padding=2, count_include_pad=False)
    assert (frequency_loss(sharp, sharp, reduction="none") == 0).all()
    assert (frequency_loss(blurred, sharp, reduction="none") > 0).all()


def test_gradcheck():
    restored = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    reference = torch.rand(1, 2, 5, 6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: frequency_loss(x, reference), (restored,))


def test_half_precision_input():
    restored = torch.rand(1, 1, 6, 10).half()
    reference = torch.rand(1, 1, 6, 10).half()
    expected = frequency_loss(restored.float(), reference.float())
    torch.testing.assert_close(frequency_loss(restored, reference), expected)
