import itertools
import math

import pytest

from defocus.train.config import ScheduleConfig
from defocus.train.schedule import learning_rate


def test_warmup_then_cosine_reaches_min_lr() -> None:
    schedule = ScheduleConfig(name="cosine", warmup_steps=4, min_lr=1e-6)
    rates = [learning_rate(s, 21, 1e-3, schedule) for s in range(21)]
    assert rates[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert rates[4] == pytest.approx(1e-3)
    assert rates[-1] == pytest.approx(1e-6)
    # decay spans steps 4..20; step 12 is half way: cos(pi/2) = 0
    assert rates[12] == pytest.approx(1e-6 + 0.5 * (1e-3 - 1e-6))
    assert rates[8] == pytest.approx(1e-6 + 0.5 * (1e-3 - 1e-6) * (1 + math.cos(math.pi / 4)))
    assert all(a >= b for a, b in itertools.pairwise(rates[4:]))


def test_step_and_constant_schedules() -> None:
    step = ScheduleConfig(name="step", step_size=3, gamma=0.1)
    assert [learning_rate(s, 10, 1.0, step) for s in (0, 2, 3, 6)] == pytest.approx(
        [1.0, 1.0, 0.1, 0.01]
    )
    constant = ScheduleConfig(name="constant")
    assert learning_rate(7, 10, 0.5, constant) == 0.5
