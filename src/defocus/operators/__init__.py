"""Linear blur operators: boundary models, the blur and its adjoint, Fourier/DCT domains."""

from defocus.operators.blur import DIRECT_MAX_TAPS, BlurOperator, convolve_valid
from defocus.operators.boundary import BOUNDARIES, boundary_name, extend, extend_adjoint
from defocus.operators.domain import DOMAINS, Domain
from defocus.operators.fourier import psf_to_otf

__all__ = [
    "BOUNDARIES",
    "DIRECT_MAX_TAPS",
    "DOMAINS",
    "BlurOperator",
    "Domain",
    "boundary_name",
    "convolve_valid",
    "extend",
    "extend_adjoint",
    "psf_to_otf",
]
