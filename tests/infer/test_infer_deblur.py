import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from defocus.assets import sample_image_path
from defocus.degrade import add_noise, blur, disk_kernel
from defocus.errors import DefocusError
from defocus.infer import deblur, loading
from defocus.infer.deblur import (
    AUTO_TILE,
    AUTO_TILE_PIXELS,
    DEFAULT_MULTIPLE,
    auto_tile,
    resolve_device,
    restore_two_stage,
    split_colour,
)
from defocus.io import read_image
from defocus.models import create_model
from defocus.runtime.tiling import tile_spans


class Affine(nn.Module):
    """``out = gain * x + offset`` through a 1x1 convolution (so its channels can be read)."""

    def __init__(self, channels: int, gain: float = 1.0, offset: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        with torch.no_grad():
            self.conv.weight.copy_(gain * torch.eye(channels).view(channels, channels, 1, 1))
            self.conv.bias.fill_(offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@pytest.fixture
def tiny() -> nn.Module:
    torch.manual_seed(0)
    return create_model("tiny-unet").eval()


def random_arknet(residual_std: float | None = None) -> nn.Module:
    """ARKNet with seeded random weights in eval mode.

    With ``residual_std`` the output layer is rescaled so that the residual it adds to a
    smooth random image has that standard deviation (random init alone adds an almost
    constant residual, which hides tiling errors).
    """
    torch.manual_seed(0)
    model = create_model("arknet").eval()
    if residual_std is not None:
        probe = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(5))
        with torch.inference_mode():
            spread = (model(probe) - probe).std().item()
        with torch.no_grad():
            model.output.weight.mul_(residual_std / spread)
    return model


def smooth_uint8(height: int, width: int, channels: int = 0, seed: int = 0) -> np.ndarray:
    """A smooth random 8-bit image (H, W) or (H, W, channels)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, max(channels, 1), height, width, generator=g)
    smooth = torch.nn.functional.avg_pool2d(noise, 5, 1, 2, count_include_pad=False)
    image = (smooth[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return image if channels else image[..., 0]


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


# --- tiled vs whole image -------------------------------------------------------------


@pytest.mark.parametrize(
    ("tile", "overlap"), [(64, 16), pytest.param(96, 32, marks=pytest.mark.slow)]
)
def test_tiled_matches_whole_arknet(tile, overlap):
    model = random_arknet()
    image = smooth_uint8(113, 149)
    assert len(tile_spans(149, tile, overlap, model.multiple)) > 1
    whole = deblur(image, model, tile=0)
    tiled = deblur(image, model, tile=tile, overlap=overlap)
    assert max_diff(tiled, whole) <= 2


@pytest.mark.slow
@pytest.mark.parametrize(("tile", "overlap"), [(256, 32), (192, 48)])
def test_tiled_matches_whole_arknet_with_strong_residual(tile, overlap):
    model = random_arknet(residual_std=0.1)
    image = smooth_uint8(301, 389, seed=1)
    whole = deblur(image, model, tile=0)
    assert max_diff(whole, image) > 20  # the network really changes the image
    assert max_diff(deblur(image, model, tile=tile, overlap=overlap), whole) <= 2


@pytest.mark.parametrize(("tile", "overlap"), [(32, 8), (32, 16), (48, 16), (40, 20)])
@pytest.mark.parametrize("shape", [(77, 101), (45, 67, 3)])
def test_tiled_matches_whole_tiny(tiny, tile, overlap, shape):
    image = smooth_uint8(*shape, seed=2)
    assert len(tile_spans(shape[1], tile, overlap, tiny.multiple)) > 1
    whole = deblur(image, tiny, tile=0)
    assert max_diff(whole, image) > 2  # the network does something
    assert max_diff(deblur(image, tiny, tile=tile, overlap=overlap), whole) <= 2


def test_network_without_multiple_uses_the_default_alignment(tiny):
    wrapped = nn.Sequential(tiny)  # hides TinyUNet's ``multiple`` (a stride-2 network)
    assert not hasattr(wrapped, "multiple") and DEFAULT_MULTIPLE % tiny.multiple == 0
    image = smooth_uint8(77, 101, seed=2)
    whole = deblur(image, wrapped, tile=0)
    assert max_diff(deblur(image, wrapped, tile=32, overlap=8), whole) <= 2


def test_no_overlap_would_show_seams():
    """The tolerance is meaningful: abutting tiles without overlap break it."""
    model = random_arknet(residual_std=0.1)
    image = smooth_uint8(64, 96, seed=3)
    whole = deblur(image, model, tile=0)
    assert max_diff(deblur(image, model, tile=32, overlap=0), whole) > 2


# --- kinds, dtypes, shapes --------------------------------------------------------------


def random_array(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)
    return rng.random(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(23, 31), (23, 31, 1), (23, 31, 2), (23, 31, 3), (23, 31, 4)])
def test_numpy_round_trip_and_alpha_kept(tiny, dtype, shape):
    image = random_array(shape, dtype)
    out = deblur(image, tiny, tile=16, overlap=4)
    assert isinstance(out, np.ndarray)
    assert out.dtype == image.dtype
    assert out.shape == image.shape
    if len(shape) == 3 and shape[2] in (2, 4):
        np.testing.assert_array_equal(out[..., -1], image[..., -1])
    if np.issubdtype(dtype, np.floating):
        assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(23, 31), (23, 31, 3), (23, 31, 4)])
def test_identity_model_is_lossless(dtype, shape):
    """Grey and RGB (via YCbCr and back) pass an identity luma model bit-exactly."""
    image = random_array(shape, dtype)
    np.testing.assert_array_equal(deblur(image, Affine(1), device="cpu"), image)


def test_luma_model_keeps_chroma():
    """Raising Y by d with Cb, Cr kept raises R, G and B each by d (BT.601 algebra)."""
    image = np.random.default_rng(1).uniform(0.2, 0.8, (19, 27, 3)).astype(np.float32)
    out = deblur(image, Affine(1, offset=0.1))
    np.testing.assert_allclose(out, image + 0.1, atol=1e-5)


def test_rgb_model_on_grey_and_rgb():
    grey = random_array((19, 27), np.uint8)
    np.testing.assert_array_equal(deblur(grey, Affine(3)), grey)
    rgb = np.random.default_rng(2).uniform(0.1, 0.5, (19, 27, 3)).astype(np.float32)
    np.testing.assert_allclose(deblur(rgb, Affine(3, gain=2.0)), 2 * rgb, atol=1e-6)


@pytest.mark.parametrize(
    ("mode", "fill"),
    [
        ("L", 90),
        ("LA", (90, 7)),
        ("RGB", (10, 200, 30)),
        ("RGBA", (10, 200, 30, 7)),
        ("I;16", 40000),
        ("I", 40000),
        ("F", 0.25),
    ],
)
def test_pil_round_trip(tiny, mode, fill):
    image = Image.new(mode, (29, 21), fill)
    out = deblur(image, tiny, tile=16, overlap=4)
    assert isinstance(out, Image.Image)
    assert out.mode == image.mode
    assert out.size == image.size
    if "A" in mode:
        np.testing.assert_array_equal(np.asarray(out)[..., -1], np.asarray(image)[..., -1])
    np.testing.assert_array_equal(np.asarray(deblur(image, Affine(1))), np.asarray(image))


def test_pil_palette_comes_back_as_rgb(tiny):
    image = Image.new("RGB", (20, 12), (200, 20, 20)).convert("P")
    assert deblur(image, tiny).mode == "RGB"


@pytest.mark.parametrize("shape", [(1, 17, 23), (3, 17, 23), (4, 17, 23), (2, 3, 17, 23)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tensor_round_trip(tiny, shape, dtype):
    image = torch.rand(shape, dtype=dtype, generator=torch.Generator().manual_seed(0))
    out = deblur(image, tiny, tile=16, overlap=4)
    assert out.shape == image.shape
    assert out.dtype == image.dtype
    assert out.device == image.device
    assert not out.is_inference()  # usable with autograd and in-place ops
    if image.shape[-3] == 4:
        torch.testing.assert_close(out[..., 3, :, :], image[..., 3, :, :], atol=0, rtol=0)
    assert not torch.equal(out, image)


def test_batch_equals_single_images(tiny):
    batch = torch.rand(3, 1, 40, 52, generator=torch.Generator().manual_seed(4))
    together = deblur(batch, tiny, tile=24, overlap=8, batch_size=4)
    for i in range(3):
        torch.testing.assert_close(together[i], deblur(batch[i], tiny, tile=24, overlap=8))


# --- models, devices, errors ------------------------------------------------------------


def test_model_from_weights_file(tiny, tmp_path):
    path = tmp_path / "tiny.safetensors"
    save_file(tiny.state_dict(), str(path))
    image = random_array((21, 30, 3), np.uint8)
    np.testing.assert_array_equal(deblur(image, path), deblur(image, tiny))
    np.testing.assert_array_equal(deblur(image, str(path)), deblur(image, tiny))


def test_without_default_weights_the_error_says_how_to_pass_a_model(monkeypatch):
    monkeypatch.setattr(loading, "DEFAULT_WEIGHTS", None)
    with pytest.raises(DefocusError, match="no default model weights"):
        deblur(random_array((8, 8), np.uint8))


def test_architecture_name_without_weights_is_refused():
    with pytest.raises(DefocusError, match="without trained weights"):
        deblur(random_array((8, 8), np.uint8), "tiny-unet")


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 3), (1, 40), (40, 1, 4)])
def test_one_pixel_side_is_a_clear_error(tiny, shape):
    with pytest.raises(DefocusError, match="at least 2x2"):
        deblur(random_array(shape, np.uint8), tiny)


def test_two_by_two_works(tiny):
    assert deblur(random_array((2, 2, 3), np.uint8), tiny).shape == (2, 2, 3)


@pytest.mark.parametrize(
    "image",
    [
        [[0, 1], [1, 0]],
        np.zeros((8, 8), np.int32),
        np.zeros((8, 8, 5), np.uint8),
        np.zeros((2, 8, 8, 3), np.uint8),
        torch.zeros(8, 8),
        torch.zeros(1, 3, 8, 8, dtype=torch.uint8),
    ],
)
def test_unsupported_inputs(tiny, image):
    with pytest.raises(DefocusError):
        deblur(image, tiny)


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DefocusError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(DefocusError, match="CUDA is not available"):
            resolve_device("cuda")


def test_auto_tile_rule():
    side = int(AUTO_TILE_PIXELS**0.5)
    assert auto_tile(side, side, None) is None
    assert auto_tile(side + 1, side, None) == AUTO_TILE
    assert auto_tile(6000, 4000, 0) is None
    assert auto_tile(10, 10, 64) == 64


def test_model_is_left_in_eval_mode(tiny):
    tiny.train()
    deblur(random_array((12, 12), np.uint8), tiny)
    assert not tiny.training


def test_inputs_are_not_modified(tiny):
    array = np.random.default_rng(3).random((20, 24, 3)).astype(np.float32) * 1.2
    tensor = torch.from_numpy(array.copy()).permute(2, 0, 1)
    array_copy, tensor_copy = array.copy(), tensor.clone()
    identity = Affine(3)
    deblur(array, identity)
    deblur(tensor, identity)
    deblur(tensor, tiny)
    np.testing.assert_array_equal(array, array_copy)
    torch.testing.assert_close(tensor, tensor_copy, atol=0, rtol=0)


def blurred_photo_uint8(radius: float = 3.0) -> np.ndarray:
    """The bundled photo blurred by a disk with noise σ = 0.01, as 8-bit RGB (H, W, 3)."""
    sharp = read_image(sample_image_path()).pixels[None]
    noisy = add_noise(blur(sharp, disk_kernel(radius)), 0.01, torch.Generator().manual_seed(0))
    return (noisy[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)


@pytest.mark.parametrize(("tile", "overlap"), [(128, 32), (128, 48)])
def test_tiled_matches_whole_for_a_blur_conditioned_model(tile, overlap):
    """Tiles are restored with the whole image's blur estimate (WienerUNet)."""
    torch.manual_seed(0)
    model = create_model("wiener-unet").eval()
    image = blurred_photo_uint8()
    assert len(tile_spans(image.shape[0], tile, overlap, model.multiple)) > 1
    whole = deblur(image, model, tile=0)
    assert max_diff(deblur(image, model, tile=tile, overlap=overlap), whole) <= 2


def test_deblur_reads_named_weights_once(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    from defocus.infer import loading

    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    state = create_model("tiny-unet").state_dict()
    metadata = {"architecture": "tiny-unet", "in_channels": "1"}
    save_file(state, str(path), metadata=metadata)
    reads = []
    real = loading.inspect_weights
    monkeypatch.setattr(loading, "inspect_weights", lambda p: reads.append(p) or real(p))
    image = np.full((8, 8), 100, dtype=np.uint8)
    first = deblur(image, path, device="cpu")
    np.testing.assert_array_equal(deblur(image, path, device="cpu"), first)
    assert len(reads) == 1
    save_file(state, str(path), metadata={**metadata, "note": "retrained"})
    deblur(image, path, device="cpu")  # the file changed: read again
    assert len(reads) == 2


@pytest.mark.parametrize(("compact", "atol"), [(False, 1e-6), (True, 1e-3)])
def test_a_luma_model_keeps_the_chroma_and_recolours_its_luma_exactly(compact, atol):
    model = create_model("wiener-unet").eval()
    rgb = torch.rand(1, 3, 12, 10)
    inputs, recolour = split_colour(model, rgb, compact)
    assert inputs.shape == (1, 1, 12, 10)
    torch.testing.assert_close(
        recolour(inputs[..., 3:9, :], slice(3, 9)), rgb[..., 3:9, :], atol=atol, rtol=0
    )


def test_the_two_stage_path_takes_the_image_out_of_its_list():
    model = create_model("wiener-unet").eval()
    held = [torch.from_numpy(blurred_photo_uint8()[:64, :64]).permute(2, 0, 1)[None] / 255.0]
    with torch.inference_mode():
        out = restore_two_stage(model, held, torch.device("cpu"), 32, 8, 1)
    assert held == [] and out.shape == (1, 3, 64, 64)
