import torch

from defocus.models.reblur import ReblurModule, frozen


def test_parameter_count_by_hand():
    c, f, k = 3, 64, 5
    conv = lambda i, o: i * o * k * k + o  # noqa: E731
    expected = conv(c, f) + 2 * 2 * conv(f, f) + conv(f, c)
    assert sum(p.numel() for p in ReblurModule(c, blocks=2).parameters()) == expected
    assert sum(p.numel() for p in ReblurModule(c, blocks=1).parameters()) == expected - 2 * conv(
        f, f
    )


def test_shape_and_identity_when_last_conv_is_zero():
    module = ReblurModule(1, features=8, blocks=1)
    x = torch.rand(2, 1, 13, 9)
    assert module(x).shape == x.shape
    with torch.no_grad():
        module.body[-1].weight.zero_()
        module.body[-1].bias.zero_()
        torch.testing.assert_close(module(x), x)


def test_frozen_blocks_parameter_gradients_only():
    module = ReblurModule(1, features=4, blocks=1)
    module.body[0].bias.requires_grad_(False)  # a flag that must survive
    x = torch.rand(1, 1, 8, 8, requires_grad=True)
    with frozen(module):
        module(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in module.parameters())
    assert module.body[0].weight.requires_grad
    assert not module.body[0].bias.requires_grad
