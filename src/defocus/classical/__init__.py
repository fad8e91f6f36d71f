"""Classical and iterative non-blind deconvolution baselines."""
