"""Learning-rate schedules as pure functions of the step (so resuming needs no state)."""

from __future__ import annotations

import math

from defocus.train.config import ScheduleConfig


def learning_rate(step: int, total_steps: int, peak: float, schedule: ScheduleConfig) -> float:
    """Learning rate of optimiser step ``step`` (0-based) out of ``total_steps``.

    A linear warm-up rises over ``schedule.warmup_steps`` steps to ``peak``
    (``peak · (step + 1) / warmup_steps``); after it, ``"cosine"`` decays along half a
    cosine from ``peak`` to ``schedule.min_lr`` at the last step, ``"step"`` multiplies
    ``peak`` by ``gamma`` every ``step_size`` steps and ``"constant"`` keeps ``peak``.

    Args:
        step: Index of the optimiser step, ``0 <= step < total_steps``.
        total_steps: Steps in the stage.
        peak: Peak learning rate.
        schedule: Schedule settings.

    Returns:
        The learning rate.
    """
    warmup = schedule.warmup_steps
    if step < warmup:
        return peak * (step + 1) / warmup
    after = step - warmup
    if schedule.name == "cosine":
        span = max(total_steps - warmup - 1, 1)
        progress = min(after / span, 1.0)
        return schedule.min_lr + 0.5 * (peak - schedule.min_lr) * (1 + math.cos(math.pi * progress))
    if schedule.name == "step":
        return peak * schedule.gamma ** (after // max(schedule.step_size, 1))
    return peak
