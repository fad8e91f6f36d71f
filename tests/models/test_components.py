"""EHNet and XY-Deblur building blocks against straightforward reference formulations."""

import torch
import torch.nn.functional as F

from defocus.models.ehnet import (
    MHTA,
    MWSA,
    LayerNorm2d,
    window_merge,
    window_partition,
)
from defocus.models.xy_deblur import XYDeblur


def test_layer_norm_2d_matches_layer_norm_over_channels():
    torch.manual_seed(0)
    norm = LayerNorm2d(6)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = torch.randn(2, 6, 5, 7)
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (6,), norm.weight, norm.bias, eps=1e-6)
    torch.testing.assert_close(norm(x), expected.permute(0, 3, 1, 2))


def test_window_partition_round_trip_and_content():
    x = torch.randn(2, 3, 8, 12)
    windows = window_partition(x, 4)
    assert windows.shape == (2 * 2 * 3, 16, 3)
    # window 1 of image 0 = rows 0..3, columns 4..7, tokens in row-major order
    torch.testing.assert_close(windows[1], x[0, :, 0:4, 4:8].reshape(3, 16).T)
    torch.testing.assert_close(window_merge(windows, 4, 2, 8, 12), x)


def reference_mwsa(module: MWSA, x: torch.Tensor) -> torch.Tensor:
    """Loop over groups and windows explicitly, shifting with index arithmetic."""
    groups = module.qv(x).chunk(len(module.window_sizes), dim=1)
    _, _, height, width = x.shape
    outputs = []
    for size, group in zip(module.window_sizes, groups, strict=True):
        shift = size // 2
        rows = (torch.arange(height) + shift) % height
        cols = (torch.arange(width) + shift) % width
        shifted = group[:, :, rows][:, :, :, cols]
        half = group.shape[1] // 2
        result = torch.zeros(x.shape[0], half, height, width)
        for top in range(0, height, size):
            for left in range(0, width, size):
                block = shifted[:, :, top : top + size, left : left + size]
                tokens = block.flatten(2).transpose(1, 2)  # (B, s*s, c)
                q, v = tokens[..., :half], tokens[..., half:]
                weights = torch.softmax(torch.einsum("bic,bjc->bij", q, q), dim=-1)
                out = torch.einsum("bij,bjc->bic", weights, v)
                result[:, :, top : top + size, left : left + size] = out.transpose(1, 2).reshape(
                    x.shape[0], half, size, size
                )
        unshift_rows = (torch.arange(height) - shift) % height
        unshift_cols = (torch.arange(width) - shift) % width
        outputs.append(result[:, :, unshift_rows][:, :, :, unshift_cols])
    return module.project(torch.cat(outputs, dim=1))


def test_mwsa_matches_windowed_loop():
    torch.manual_seed(1)
    module = MWSA(8, window_sizes=(2, 4))
    x = torch.randn(2, 8, 8, 12) * 0.5
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference_mwsa(module, x))


def test_mhta_matches_einsum_reference():
    torch.manual_seed(2)
    module = MHTA(16, heads=8)
    with torch.no_grad():
        module.temperature.uniform_(0.5, 2.0)
        x = torch.randn(2, 16, 5, 6)
        q, k, v = module.qkv(x).chunk(3, dim=1)
        outs = []
        for head in range(8):
            part = slice(2 * head, 2 * head + 2)
            qh, kh, vh = (t[:, part].flatten(2) for t in (q, k, v))
            qh = qh / qh.norm(dim=-1, keepdim=True)
            kh = kh / kh.norm(dim=-1, keepdim=True)
            weights = torch.softmax(
                torch.einsum("bcn,bdn->bcd", qh, kh) * module.temperature[head], -1
            )
            outs.append(torch.einsum("bcd,bdn->bcn", weights, vh))
        expected = module.project(torch.cat(outs, dim=1).reshape(2, 16, 5, 6))
        torch.testing.assert_close(module(x), expected)


def test_xy_deblur_second_branch_decodes_rotated_features():
    torch.manual_seed(3)
    model = XYDeblur(in_channels=1, widths=(4, 8, 8), depth=1).eval()
    x = torch.rand(1, 1, 12, 8)

    def rotate(t: torch.Tensor) -> torch.Tensor:  # 90° counter-clockwise
        return t.transpose(2, 3).flip(2)

    def unrotate(t: torch.Tensor) -> torch.Tensor:  # 90° clockwise
        return t.transpose(2, 3).flip(3)

    with torch.no_grad():
        skip1 = model.encoder1(x)
        skip2 = model.encoder2(skip1)
        deep = model.encoder3(skip2)
        out1 = model.decoder(deep, skip2, skip1)
        out2 = unrotate(model.decoder(rotate(deep), rotate(skip2), rotate(skip1)))
        torch.testing.assert_close(model(x), x + out1 + out2)
        assert not torch.allclose(out1, out2)


def test_layer_norm_2d_half_input_keeps_dtype_and_accuracy():
    norm = LayerNorm2d(4)
    x = torch.randn(1, 4, 3, 3) * 100
    out = norm(x.half())
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), norm(x), atol=2e-2, rtol=1e-2)
