"""Classical and iterative non-blind deconvolution baselines."""

from defocus.classical.blackbox import blur_operator, landweber_al, modified_lm, modified_rl
from defocus.classical.denoisers import guided_filter, nl_means
from defocus.classical.methods import BLIND_METHODS, create_method, list_methods
from defocus.classical.noise_estimate import estimate_noise_sigma, noise_to_signal_ratio
from defocus.classical.red import red
from defocus.classical.richardson_lucy import RichardsonLucy, richardson_lucy
from defocus.classical.wiener import Wiener, wiener

__all__ = [
    "BLIND_METHODS",
    "RichardsonLucy",
    "Wiener",
    "blur_operator",
    "create_method",
    "estimate_noise_sigma",
    "guided_filter",
    "landweber_al",
    "list_methods",
    "modified_lm",
    "modified_rl",
    "nl_means",
    "noise_to_signal_ratio",
    "red",
    "richardson_lucy",
    "wiener",
]
