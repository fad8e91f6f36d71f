"""Datasets: paired folders, DPDD/RealDOF/ARK layouts and synthetic defocus pairs."""

from defocus.data.paired import PairedImageDataset, ark_dataset, dpdd_dataset, realdof_dataset
from defocus.data.realistic import RealisticDefocusDataset, RealisticDegradation, render_realistic
from defocus.data.synthetic import (
    DEGRADATIONS,
    DegradationConfig,
    SyntheticDefocusDataset,
    degradation_preset,
    mmsp_synthetic_dataset,
)

__all__ = [
    "DEGRADATIONS",
    "DegradationConfig",
    "PairedImageDataset",
    "RealisticDefocusDataset",
    "RealisticDegradation",
    "SyntheticDefocusDataset",
    "ark_dataset",
    "degradation_preset",
    "dpdd_dataset",
    "mmsp_synthetic_dataset",
    "realdof_dataset",
    "render_realistic",
]
