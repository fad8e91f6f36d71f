import pytest
import torch

from defocus.classical import blur_operator, landweber_al, modified_lm, modified_rl
from defocus.degrade.blur import blur


def _psnr(a, b):
    return (10 * torch.log10(1 / (a.clamp(0, 1) - b).square().mean())).item()


@pytest.fixture(scope="module")
def scene():
    gen = torch.Generator().manual_seed(3)
    coarse = torch.rand(1, 1, 12, 12, generator=gen, dtype=torch.float64)
    x = torch.nn.functional.interpolate(coarse, size=(48, 48), mode="bicubic").clamp(0, 1)
    return x


@pytest.mark.parametrize("padding", ["reflect", "replicate", "circular", "zeros"])
def test_blur_operator_equals_blur(padding):
    x = torch.rand(2, 3, 21, 26, dtype=torch.float64)
    for psf in ("box:5", "disk:2.5", "box:4"):
        op = blur_operator(psf, x, padding)
        torch.testing.assert_close(op(x), blur(x, psf, padding))


def test_methods_only_call_the_operator(scene):
    calls = []
    op = blur_operator("box:3", scene, "circular")

    def black_box(v):
        calls.append(v.shape)
        return op(v)

    y = op(scene)
    landweber_al(y, black_box, iterations=2)
    assert len(calls) == 6  # F(x), F(x + h), F(x - h) per iteration


@pytest.mark.parametrize(
    ("method", "iterations"), [(landweber_al, 30), (modified_rl, 30), (modified_lm, 20)]
)
def test_improves_on_circular_blur(scene, method, iterations):
    op = blur_operator("box:5", scene, "circular")
    y = op(scene)
    restored = method(y, op, iterations=iterations)
    assert restored.shape == y.shape
    assert _psnr(restored, scene) > _psnr(y, scene) + 3.0


def test_al_step_decay_changes_result(scene):
    op = blur_operator("box:3", scene, "circular")
    y = op(scene)
    assert not torch.allclose(landweber_al(y, op, 5, p=0.0), landweber_al(y, op, 5, p=1.0))
