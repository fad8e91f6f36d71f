import pytest
import torch
import torch.nn.functional as F

from defocus.models.padding import pad_to_multiple, run_padded


@pytest.mark.parametrize(("height", "width", "multiple"), [(37, 53, 16), (64, 64, 64), (5, 3, 4)])
def test_pad_sizes(height: int, width: int, multiple: int):
    x = torch.rand(2, 3, height, width)
    padded, h, w = pad_to_multiple(x, multiple)
    assert (h, w) == (height, width)
    assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
    assert padded.shape[-2] - height < multiple and padded.shape[-1] - width < multiple
    assert torch.equal(padded[..., :height, :width], x)


def test_reflect_when_possible():
    x = torch.rand(1, 1, 10, 13)
    padded, _, _ = pad_to_multiple(x, 16)
    # reflection: row 10 mirrors row 8, column 13 mirrors column 11
    assert torch.equal(padded[..., 10, :13], x[..., 8, :])
    assert torch.equal(padded[..., :10, 13], x[..., :, 11])


def test_replicate_when_too_small():
    x = torch.rand(1, 2, 1, 1)
    padded, _, _ = pad_to_multiple(x, 64)
    assert padded.shape == (1, 2, 64, 64)
    assert torch.equal(padded, x.expand(1, 2, 64, 64))


def test_run_padded_crops_back():
    x = torch.rand(1, 1, 37, 53)
    seen = []

    def body(y: torch.Tensor) -> torch.Tensor:
        seen.append(y.shape)
        return F.avg_pool2d(y, 3, stride=1, padding=1)

    out = run_padded(body, x, 16)
    assert seen == [torch.Size([1, 1, 48, 64])]
    assert out.shape == x.shape
