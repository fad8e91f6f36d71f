import torch

from defocus.train.distributed import Context
from defocus.train.sampler import StepBatchSampler, batch_items


def context(rank: int, world: int) -> Context:
    return Context(rank=rank, world_size=world, local_rank=rank, device=torch.device("cpu"))


def test_each_epoch_visits_every_image_once() -> None:
    items = [item for step in range(6) for item in batch_items(step, 4, 8, seed=3)]
    epochs = {}
    for epoch, index in items:
        epochs.setdefault(epoch, []).append(index)
    assert sorted(epochs) == [0, 1, 2]
    for indices in epochs.values():
        assert sorted(indices) == list(range(8))
    assert epochs[0] != epochs[1]  # reshuffled each epoch


def test_order_depends_on_seed_and_step_only() -> None:
    assert batch_items(5, 4, 10, seed=1) == batch_items(5, 4, 10, seed=1)
    assert batch_items(5, 4, 10, seed=1) != batch_items(5, 4, 10, seed=2)
    full = list(StepBatchSampler(0, 6, 4, 10, 1, context(0, 1)))
    resumed = list(StepBatchSampler(3, 6, 4, 10, 1, context(0, 1)))
    assert resumed == full[3:]


def test_ranks_get_disjoint_shards_covering_the_batch() -> None:
    whole = list(StepBatchSampler(0, 3, 4, 10, 0, context(0, 1)))
    shards = [list(StepBatchSampler(0, 3, 4, 10, 0, context(r, 2))) for r in range(2)]
    for step, batch in enumerate(whole):
        parts = shards[0][step] + shards[1][step]
        assert sorted(parts) == sorted(batch)
        assert len(shards[0][step]) == len(shards[1][step]) == 2
