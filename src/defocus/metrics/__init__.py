"""Image-quality metrics: sharpness Q, ringing-aware Ω, index J, PSNR, SSIM, LPIPS."""
