import torch
from torch import nn

from defocus.infer.fusion import fold_batchnorm
from defocus.models import create_model


def test_folded_arknet_matches_and_original_is_untouched():
    torch.manual_seed(0)
    model = create_model("arknet").eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(2, 1, 37, 45, generator=g)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), model(x), atol=1e-5, rtol=1e-5)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_model_without_batchnorm_is_returned_as_is():
    model = create_model("tiny-unet").train()
    assert fold_batchnorm(model) is model
    assert not model.training


def test_only_conv_then_batchnorm_pairs_are_folded():
    model = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), nn.GELU(), nn.BatchNorm2d(4))
    folded = fold_batchnorm(model)
    assert [type(m) for m in folded] == [nn.BatchNorm2d, nn.Conv2d, nn.GELU, nn.BatchNorm2d]
