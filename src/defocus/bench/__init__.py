"""Evaluation tables, statistics and plots."""

from defocus.bench.evaluate import evaluate, restorer, wiener_oracle
from defocus.bench.protocols import Case, Protocol, list_protocols, load_cases
from defocus.bench.sharpening import SweepResult, sharpening_sweep
from defocus.bench.stats import PairedTest, compare, paired_ttest

__all__ = [
    "Case",
    "PairedTest",
    "Protocol",
    "SweepResult",
    "compare",
    "evaluate",
    "list_protocols",
    "load_cases",
    "paired_ttest",
    "restorer",
    "sharpening_sweep",
    "wiener_oracle",
]
