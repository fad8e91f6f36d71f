"""Image-quality metrics: sharpness Q, ringing-aware Ω and Ω-n, index J, PSNR, SSIM, LPIPS."""

from defocus.metrics.base import METRICS, Metric, create_metric, list_metrics
from defocus.metrics.fidelity import PSNR, SSIM, psnr, ssim
from defocus.metrics.lpips import LPIPS, lpips
from defocus.metrics.omega import Omega, OmegaN, inner_q, omega, omega_n
from defocus.metrics.sharpness import SharpnessQ, sharpness_q
from defocus.metrics.sharpness_index import SharpnessIndexJ, sharpness_index_j

__all__ = [
    "LPIPS",
    "METRICS",
    "PSNR",
    "SSIM",
    "Metric",
    "Omega",
    "OmegaN",
    "SharpnessIndexJ",
    "SharpnessQ",
    "create_metric",
    "inner_q",
    "list_metrics",
    "lpips",
    "omega",
    "omega_n",
    "psnr",
    "sharpness_index_j",
    "sharpness_q",
    "ssim",
]
