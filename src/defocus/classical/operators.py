"""Shared machinery of the FFT-based methods: a padded working domain and a blur operator.

Every FFT method works on a *domain*: the observed image, padded by the PSF's size with
the chosen boundary rule (and up to a fast FFT length), on which the blur is circular.
``padding="circular"`` uses the image as it is (periodic boundaries, the classical
textbook setting and scikit-image's); ``"reflect"`` / ``"replicate"`` extend the image
smoothly so that the periodic wrap-around happens in the margin, which is cropped away;
``"zeros"`` extends it with black (a blur with zero boundaries, scipy's ``mode="same"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from defocus.checks import check_batch
from defocus.degrade.blur import PADDINGS, Padding, blur, pad_image
from defocus.degrade.fft import fast_size, psf_to_otf

# Iterative methods convolve directly (OpenCV) for PSFs of at most this many taps and via
# FFT beyond. Measured on Richardson-Lucy, 3x768x768, one thread, zero padding, CPU s per
# 10 iterations, direct / FFT: float32 7x7 0.09 / 0.35, 9x9 0.12 / 0.30, 11x11 0.17 / 0.27,
# 13x13 0.47 / 0.30 (OpenCV switches to its own, slower, DFT); float64 7x7 0.22 / 0.52,
# 9x9 to 13x13 level (0.51 / 0.51).
DIRECT_MAX_TAPS = 121

_TORCH_MODES = {
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
    "zeros": "constant",
}


def check_padding(padding: str) -> Padding:
    """Return ``padding`` if it is a known boundary rule, else raise ``ValueError``."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {padding!r}")
    return padding  # type: ignore[return-value]


@dataclass(frozen=True)
class Domain:
    """Where an FFT method computes: the image plus margins (zero for ``"circular"``).

    Attributes:
        padding: Boundary rule used to fill the margins.
        top: Rows added above the image.
        bottom: Rows added below.
        left: Columns added on the left.
        right: Columns added on the right.
    """

    padding: Padding
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @classmethod
    def for_psf(
        cls, image_size: tuple[int, int], psf_size: tuple[int, int], padding: str
    ) -> Domain:
        """The working domain of a deconvolution.

        ``"reflect"``, ``"replicate"`` and ``"zeros"`` add margins of one PSF size on
        each side, grown to a fast FFT length; ``"circular"`` adds none; ``"mirror"``
        appends the image's reflect-101 mirror images (domain ``(2H-2, 2W-2)``), so
        that the periodic blur on the domain *equals* a reflect-101 blur of the image
        for centro-symmetric PSFs (disk, box, Gaussian): no boundary model error at
        all, at four times the FFT cost. Weakly regularised methods on noise-free
        data need it (a PSF-sized margin leaves a seam that they amplify).

        Args:
            image_size: ``(H, W)`` of the observed image.
            psf_size: ``(h, w)`` of the PSF.
            padding: ``"circular"``, ``"reflect"``, ``"replicate"``, ``"zeros"`` or
                ``"mirror"``.
        """
        (height, width), (h, w) = image_size, psf_size
        if padding == "mirror":
            return cls("reflect", 0, max(height - 2, 0), 0, max(width - 2, 0))
        padding = check_padding(padding)
        if padding == "circular":
            return cls(padding)
        bottom = fast_size(height + 2 * h) - height - h
        right = fast_size(width + 2 * w) - width - w
        return cls(padding, h, bottom, w, right)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Extend images to the domain.

        Shape:
            ``(..., H, W) -> (..., H + top + bottom, W + left + right)``.
        """
        widths = (self.left, self.right, self.top, self.bottom)
        if not any(widths):
            return x
        height, width = x.shape[-2:]
        if max(self.top, self.bottom) < height and max(self.left, self.right) < width:
            mode = _TORCH_MODES[self.padding]  # torch's native padding is much faster
            return F.pad(x, widths, mode=mode) if mode != "constant" else F.pad(x, widths)
        return pad_image(x, self.top, self.bottom, self.left, self.right, self.padding)

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Cut the image region out of a domain-sized tensor (inverse of :meth:`pad`).

        Shape:
            ``(..., H + top + bottom, W + left + right) -> (..., H, W)``.
        """
        height, width = x.shape[-2:]
        return x[..., self.top : height - self.bottom, self.left : width - self.right]


class FourierBlur:
    """Circular blur and its adjoint on a fixed domain size, OTF computed once (``rfft2``).

    Args:
        psf: Kernel(s) of shape ``(B or 1, C or 1, h, w)``, dtype of the images.
        size: ``(H, W)`` of the domain the operator acts on.

    Shape:
        Images ``(B, C, H, W)``; spectra ``(B, C, H, W // 2 + 1)``.
    """

    def __init__(self, psf: torch.Tensor, size: tuple[int, int]) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.otf = psf_to_otf(psf, self.size, onesided=True)

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """``rfft2`` of real images."""
        return torch.fft.rfft2(x)

    def image(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Real images of a half spectrum (``irfft2`` on the domain size)."""
        return torch.fft.irfft2(spectrum, s=self.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Blur: ``k ⊛ x`` (circular on the domain)."""
        return self.image(self.spectrum(x) * self.otf)

    def adjoint(self, x: torch.Tensor) -> torch.Tensor:
        """Adjoint blur: correlation with ``k`` (convolution with the flipped kernel)."""
        return self.image(self.spectrum(x) * self.otf.conj())


class DirectBlur:
    """Blur and its transpose by direct convolution (:func:`defocus.degrade.blur`).

    The counterpart of :class:`FourierBlur` for small PSFs, where a spatial convolution
    is several times cheaper than the four FFTs per blur and transpose.

    Args:
        psf: Kernel(s) of shape ``(B or 1, C or 1, h, w)``, dtype of the images.
        boundary: Boundary rule of the convolution: ``"circular"`` on a padded domain
            (then the same operator as :class:`FourierBlur` on it), ``"zeros"``, or
            ``"reflect"`` (for the mirror domain, see :func:`blur_on_domain`).
        method: ``"opencv"`` (CPU, no autograd) or ``"direct"`` (``conv2d``).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, psf: torch.Tensor, boundary: Padding, method: str = "opencv") -> None:
        self.psf = odd_sized(psf)
        self.flipped = self.psf.flip(-2, -1)
        self.boundary = boundary
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Blur: ``k ⊛ x``."""
        return blur(x, self.psf, self.boundary, self.method)  # type: ignore[arg-type]

    def adjoint(self, x: torch.Tensor) -> torch.Tensor:
        """Correlation with ``k`` (the adjoint for ``"zeros"`` and ``"circular"``)."""
        return blur(x, self.flipped, self.boundary, self.method)  # type: ignore[arg-type]


def odd_sized(psf: torch.Tensor) -> torch.Tensor:
    """Append a zero row / column to even-sized kernels: the same blur, odd-sized.

    The centre tap ``(h // 2, w // 2)`` then stays the centre when the kernel is flipped.

    Shape:
        ``(..., h, w) -> (..., h + 1 - h % 2, w + 1 - w % 2)``.
    """
    h, w = psf.shape[-2:]
    return F.pad(psf, (0, 1 - w % 2, 0, 1 - h % 2))


def blur_on_domain(
    psf: torch.Tensor, y: torch.Tensor, padding: str, method: str = "auto"
) -> tuple[Domain, FourierBlur | DirectBlur]:
    """Working domain and blur operator of an iterative method, direct or FFT.

    ``method="auto"`` convolves directly with OpenCV on CPU (no autograd) for PSFs of
    at most :data:`DIRECT_MAX_TAPS` taps, else uses FFTs. Both give the same iterates up
    to float rounding. Directly, ``"zeros"`` needs no margins, and ``"mirror"`` with a
    PSF symmetric about both axes through its centre (disk, box, Gaussian) is a
    reflect-101 blur of the image itself: the mirror domain stays mirror-symmetric.

    Args:
        psf: Kernel(s) ``(B or 1, C or 1, h, w)`` in ``y``'s dtype and device.
        y: The observed images ``(B, C, H, W)``.
        padding: As for :meth:`Domain.for_psf`.
        method: ``"auto"``, ``"fft"``, ``"opencv"`` or ``"direct"`` (``conv2d``).
    """
    h, w = psf.shape[-2:]
    if method == "auto":
        cpu = y.device.type == "cpu" and y.dtype in (torch.float32, torch.float64)
        small = h * w <= DIRECT_MAX_TAPS
        method = "opencv" if cpu and small and not y.requires_grad else "fft"
    if method not in ("fft", "opencv", "direct"):
        raise ValueError(f"method must be auto, fft, opencv or direct; got {method!r}")
    if method == "fft":
        domain = Domain.for_psf(y.shape[-2:], (h, w), padding)
        size = (y.shape[-2] + domain.top + domain.bottom, y.shape[-1] + domain.left + domain.right)
        return domain, FourierBlur(psf, size)
    k = odd_sized(psf)
    symmetric = torch.equal(k, k.flip(-1)) and torch.equal(k, k.flip(-2))
    if padding == "zeros" or (padding == "mirror" and symmetric):
        boundary: Padding = "zeros" if padding == "zeros" else "reflect"
        return Domain(boundary), DirectBlur(psf, boundary, method)
    return Domain.for_psf(y.shape[-2:], (h, w), padding), DirectBlur(psf, "circular", method)


class BlurOperator:
    """``x ↦ blur(x, psf, padding)`` (see :func:`defocus.degrade.blur`) via cached FFTs.

    Equal to :func:`defocus.degrade.blur` up to float rounding, but the OTF is computed
    once per image size, which makes the many blur calls of iterative methods cheap.

    Args:
        psf: Kernel(s) of shape ``(B or 1, C or 1, h, w)``.
        padding: Boundary rule.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, psf: torch.Tensor, padding: str = "reflect") -> None:
        self.psf = psf
        self.padding = check_padding(padding)
        self._cache: dict[tuple[int, int], tuple[Domain, FourierBlur]] = {}

    def _setup(self, size: tuple[int, int]) -> tuple[Domain, FourierBlur]:
        if size not in self._cache:
            (height, width), (h, w) = size, self.psf.shape[-2:]
            top, left = h - 1 - h // 2, w - 1 - w // 2
            bottom = fast_size(height + h - 1) - height - top
            right = fast_size(width + w - 1) - width - left
            domain = Domain(self.padding, top, bottom, left, right)
            full = (height + top + bottom, width + left + right)
            self._cache[size] = (domain, FourierBlur(self.psf, full))
        return self._cache[size]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Blur ``x``."""
        domain, op = self._setup((int(x.shape[-2]), int(x.shape[-1])))
        return domain.crop(op.forward(domain.pad(x)))


def check_observation(y: object, psf_shape: tuple[int, ...] | None = None) -> None:
    """Validate the blurry images given to a deblurring method (see :func:`check_batch`).

    Args:
        y: The images.
        psf_shape: The PSF's shape, when the method has one: its last two sizes may
            not exceed the image's.

    Raises:
        TypeError: If ``y`` is not a tensor.
        ValueError: If it is not a floating-point ``(B, C, H, W)`` batch, is empty,
            holds NaN or infinite values, or is smaller than the PSF.
    """
    check_batch(y, finite=True, psf_shape=psf_shape)


def check_positive(name: str, value: float | torch.Tensor) -> None:
    """Refuse a parameter (scalar or tensor) that is not finite and ``> 0``.

    Raises:
        ValueError: Naming the parameter.
    """
    t = torch.as_tensor(value, dtype=torch.float64)
    if t.numel() == 0 or not bool(((t > 0) & t.isfinite()).all()):
        shown = value if t.numel() == 1 else "a tensor with values outside (0, inf)"
        raise ValueError(f"{name} must be finite and > 0, got {shown}")


def as_batch_parameter(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A scalar, ``(B,)`` or ``(B, C)`` parameter as a tensor broadcasting to ``(B, C, 1, 1)``."""
    t = torch.as_tensor(value, dtype=like.real.dtype if like.is_complex() else like.dtype)
    t = t.to(like.device)
    if t.ndim == 1:
        t = t[:, None]
    return t.reshape(*t.shape, 1, 1) if t.ndim == 2 else t
