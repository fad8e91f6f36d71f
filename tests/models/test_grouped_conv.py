import torch
from torch import nn

from defocus.models import create_model
from defocus.models.grouped_conv import GroupedConv2d


def twin_convs() -> tuple[GroupedConv2d, nn.Conv2d]:
    torch.manual_seed(0)
    grouped = GroupedConv2d(4, 12, 3, padding=1, groups=4)
    plain = nn.Conv2d(4, 12, 3, padding=1, groups=4)
    plain.load_state_dict(grouped.state_dict())
    return grouped, plain


def test_outside_autocast_it_is_an_ordinary_convolution() -> None:
    grouped, plain = twin_convs()
    x = torch.rand(2, 4, 9, 7, dtype=torch.float64)
    assert torch.equal(grouped.double()(x), plain.double()(x))


def test_under_cpu_autocast_it_computes_in_float32() -> None:
    grouped, plain = twin_convs()
    x = torch.rand(2, 4, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = grouped(x.bfloat16())
        slow = plain(x)
    assert fast.dtype == torch.float32 and slow.dtype == torch.bfloat16
    # the float32 path sees the bf16 input exactly; bf16 weights would round
    assert torch.allclose(fast, plain(x.bfloat16().float()), atol=1e-6)
    fast.sum().backward()
    assert grouped.weight.grad is not None and torch.isfinite(grouped.weight.grad).all()


def test_ehnet_uses_it_for_every_grouped_convolution() -> None:
    model = create_model("ehnet", in_channels=1)
    grouped = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert grouped and all(isinstance(m, GroupedConv2d) for m in grouped)
    assert any(key.endswith("qkv.weight") for key in model.state_dict())
