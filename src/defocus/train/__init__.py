"""Training loop, configs, checkpoints and distributed training."""

from defocus.train.config import Config, load_config
from defocus.train.trainer import RunResult, StageResult, Trainer, train

__all__ = ["Config", "RunResult", "StageResult", "Trainer", "load_config", "train"]
