"""Image-quality metrics: sharpness Q, ringing-aware Ω, index J, PSNR, SSIM, LPIPS."""

from defocus.metrics.lpips import LPIPS, lpips

__all__ = ["LPIPS", "lpips"]
