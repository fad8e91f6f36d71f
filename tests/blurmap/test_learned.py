"""The learned estimator: weights by metadata, the pyramid's choice of scale, tiling."""

import itertools
import math
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from safetensors.torch import save_file

from defocus.blurmap import learned as learned_module
from defocus.blurmap.learned import (
    DETECTION_SIDE_KEY,
    DETECTION_ZOOMS,
    MIN_SIDE,
    PYRAMID_STEP,
    RELIABLE_RADIUS,
    detect_defocus,
    detection_scale,
    learned_blur_map,
    load_estimator,
    pyramid_scales,
)
from defocus.blurmap.network import BLUR_MAP_NETWORKS, BlurMapNetwork
from defocus.errors import DefocusError
from defocus.io.weights import architecture_metadata


@BLUR_MAP_NETWORKS.register("test-constant")
class ConstantRadius(BlurMapNetwork):
    """Claims the same radius (in its own pixels) everywhere, defocused on the right."""

    def __init__(self, in_channels: int = 3, radius: float = 3.0) -> None:
        super().__init__(in_channels)
        self.radius = torch.nn.Parameter(torch.tensor(float(radius)))

    def raw(self, image: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = image.shape
        level = torch.log1p(self.radius).expand(batch, 1, height, width)
        side = torch.arange(width, dtype=image.dtype) >= width / 2
        logit = (side.float() * 8 - 4).expand(batch, 1, height, width)
        return torch.cat([level, logit], dim=1)


def weights(tmp_path, name="test-constant", radius=3.0, **options):
    network = BLUR_MAP_NETWORKS.create(name, in_channels=3, **options)
    if name == "test-constant":
        network.radius.data.fill_(radius)
    path = tmp_path / f"{name}-{radius}.safetensors"
    metadata = architecture_metadata(name, 3, options)
    save_file(network.state_dict(), str(path), metadata=metadata)
    return path


def test_pyramid_goes_down_to_the_smallest_side() -> None:
    assert pyramid_scales(100, 100) == [1.0]
    scales = pyramid_scales(3000, 4000)
    assert scales[0] == 1 and all(b == a / PYRAMID_STEP for a, b in itertools.pairwise(scales))
    assert 3000 * scales[-1] >= MIN_SIDE > 3000 * scales[-1] / PYRAMID_STEP
    assert detection_scale(427, 640) == 1 and detection_scale(3000, 4000) == 1 / 8


@pytest.mark.parametrize("radius", [1.0, 2.0])
def test_each_pixel_takes_the_finest_reliable_scale(tmp_path, radius) -> None:
    # the network says `radius` of its own pixels at every scale: the finest level,
    # where that is radius * 1 px, is trusted (radius < RELIABLE_RADIUS there)
    image = torch.rand(1, 3, 700, 900, generator=torch.Generator().manual_seed(0))
    maps = learned_blur_map(image, weights(tmp_path, radius=radius))
    assert maps.radius.shape == (1, 1, 700, 900)
    torch.testing.assert_close(maps.radius, torch.full_like(maps.radius, radius))


def test_beyond_the_reliable_range_the_coarse_scale_wins(tmp_path) -> None:
    radius = RELIABLE_RADIUS + 4  # unreliable at every scale: the coarsest one stands
    image = torch.rand(1, 3, 700, 900, generator=torch.Generator().manual_seed(0))
    maps = learned_blur_map(image, weights(tmp_path, radius=radius))
    coarsest = pyramid_scales(700, 900)[-1]
    torch.testing.assert_close(maps.radius, torch.full_like(maps.radius, radius / coarsest))


def test_probability_comes_from_the_detection_scale_and_is_a_probability(tmp_path) -> None:
    image = torch.rand(1, 3, 400, 1300, generator=torch.Generator().manual_seed(0))
    maps = learned_blur_map(image, weights(tmp_path))
    p = maps.probability[0, 0]
    assert p.min() >= 0 and p.max() <= 1
    assert p[:, :600].mean() < 0.1 and p[:, 700:].mean() > 0.9


@BLUR_MAP_NETWORKS.register("test-recorder")
class SizeRecorder(ConstantRadius):
    """Records the size of every image it reads; defocused where the image is bright."""

    sizes: ClassVar[list[tuple[int, int]]] = []

    def raw(self, image: torch.Tensor) -> torch.Tensor:
        SizeRecorder.sizes.append(tuple(image.shape[-2:]))
        logit = 16 * (image.mean(1, keepdim=True) - 0.5)
        return torch.cat([super().raw(image)[:, :1], logit], dim=1)


def test_a_detector_reads_the_whole_photo_at_its_detection_side(tmp_path) -> None:
    network = BLUR_MAP_NETWORKS.create("test-recorder", in_channels=3)
    path = tmp_path / "detector.safetensors"
    metadata = {**architecture_metadata("test-recorder", 3), DETECTION_SIDE_KEY: "100"}
    save_file(network.state_dict(), str(path), metadata=metadata)
    image = torch.zeros(2, 3, 300, 500)
    image[..., 250:] = 1  # bright (defocused to this network) on the right
    SizeRecorder.sizes.clear()
    p = detect_defocus(image, path)
    # one pass of the photo and its mirror per zoom, the long side 100 x zoom
    expected = [(round(300 * z / 5), round(500 * z / 5)) for z in DETECTION_ZOOMS]
    assert SizeRecorder.sizes == expected and 1.0 in DETECTION_ZOOMS
    assert p.shape == (2, 1, 300, 500) and p.min() >= 0 and p.max() <= 1
    assert p[..., :230].max() < 0.01 and p[..., 270:].min() > 0.99  # mirrored back
    # the blur map takes its probability from the detector, its radius from the pyramid
    maps = learned_blur_map(image, weights(tmp_path, radius=2.0), detector=path)
    torch.testing.assert_close(maps.probability, p)
    torch.testing.assert_close(maps.radius, torch.full_like(maps.radius, 2.0))


def test_a_bad_detection_side_is_refused(tmp_path) -> None:
    network = BLUR_MAP_NETWORKS.create("test-constant", in_channels=3)
    path = tmp_path / "bad.safetensors"
    metadata = {**architecture_metadata("test-constant", 3), DETECTION_SIDE_KEY: "wide"}
    save_file(network.state_dict(), str(path), metadata=metadata)
    with pytest.raises(DefocusError, match="bad detection_side"):
        load_estimator(path)


KODAK = Path(__file__).resolve().parents[3] / "shared" / "data" / "test" / "Kodak24"


@pytest.mark.parametrize("name", ["kodim01", "kodim05", "kodim20"])
def test_the_shipped_detector_finds_a_sharp_subject_on_a_blurred_photo(name) -> None:
    # a test photo (never trained on): a sharp ellipse over the rest blurred by r = 8
    from defocus.blurmap import defocus_scores
    from defocus.degrade import disk_kernel
    from defocus.degrade.scene import Layer, layered_defocus
    from defocus.io import read_image

    path = KODAK / f"{name}.png"
    if not path.exists():
        pytest.skip("the Kodak24 test photos of ../shared/data are absent")
    photo = read_image(path).pixels[None].double()
    height, width = photo.shape[-2:]
    y = torch.linspace(-1, 1, height, dtype=torch.float64)[:, None]
    x = torch.linspace(-1, 1, width, dtype=torch.float64)[None]
    matte = ((y / 0.5) ** 2 + (x / 0.5) ** 2 <= 1).double()[None, None]
    scene, radius = layered_defocus(photo, 8.0, [Layer(photo, matte, 0.0)], disk_kernel)
    scores = defocus_scores(detect_defocus(scene.float()), (radius > 1.5).float())
    assert float(scores["f_beta"]) > 0.85 and float(scores["mae"]) < 0.15


def test_tiles_agree_with_the_whole_image(tmp_path, monkeypatch) -> None:
    path = weights(tmp_path, name="blurmap-unet", widths=(4, 8))
    image = torch.rand(1, 3, 200, 300, generator=torch.Generator().manual_seed(0))
    whole = learned_blur_map(image, path, precision="fp32")
    monkeypatch.setattr(learned_module, "TILE", 96)
    tiled = learned_blur_map(image, path, precision="fp32")
    torch.testing.assert_close(tiled.radius, whole.radius, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(tiled.probability, whole.probability, atol=1e-4, rtol=1e-4)


def test_grey_images_and_dtypes(tmp_path) -> None:
    grey = torch.rand(2, 1, 50, 60, dtype=torch.float64)
    maps = learned_blur_map(grey, weights(tmp_path))
    assert maps.radius.dtype == torch.float64 and maps.radius.shape == (2, 1, 50, 60)


def test_bad_weights_are_refused(tmp_path) -> None:
    with pytest.raises(DefocusError, match="not found"):
        load_estimator(tmp_path / "missing.safetensors")
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(1)}, str(other), metadata={"architecture": "arknet"})
    with pytest.raises(DefocusError, match="not blur-map weights"):
        load_estimator(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"junk")
    with pytest.raises(DefocusError, match="not a readable"):
        load_estimator(junk)


def test_non_finite_images_are_refused(tmp_path) -> None:
    image = torch.full((1, 3, 20, 20), math.nan)
    with pytest.raises(ValueError):
        learned_blur_map(image, weights(tmp_path))


def test_calibration_in_the_metadata_is_applied(tmp_path) -> None:
    from defocus.blurmap.network import CALIBRATION_KEY

    network = BLUR_MAP_NETWORKS.create("test-constant", in_channels=3)
    path = tmp_path / "calibrated.safetensors"
    metadata = {**architecture_metadata("test-constant", 3), CALIBRATION_KEY: "0.5,1.0"}
    save_file(network.state_dict(), str(path), metadata=metadata)
    image = torch.rand(1, 3, 40, 80, generator=torch.Generator().manual_seed(0))
    p = learned_blur_map(image, path).probability[0, 0]
    # logits -4 (left) and +4 (right) become -1 and 3
    torch.testing.assert_close(
        p[:, :30].mean(), torch.sigmoid(torch.tensor(-1.0)), atol=1e-3, rtol=0
    )
    torch.testing.assert_close(
        p[:, 50:].mean(), torch.sigmoid(torch.tensor(3.0)), atol=1e-3, rtol=0
    )


def test_every_registered_estimator_takes_image_and_precision() -> None:
    from defocus.blurmap import ESTIMATORS, estimate_blur_map

    image = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    for name in ESTIMATORS.names():
        maps = estimate_blur_map(image, name, "fp32")
        assert maps.radius.shape == maps.probability.shape == (1, 1, 48, 64), name
