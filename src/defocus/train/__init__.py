"""Training loop, configs, checkpoints and distributed training."""
