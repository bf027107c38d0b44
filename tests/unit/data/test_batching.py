"""Batches are slices; shuffling is seeded per epoch; DDP ranks split each global batch."""

from __future__ import annotations

import torch

from framework.data.batching import RowBatchSampler, TensorTable


def rows(sampler: RowBatchSampler) -> list[list[int]]:
    out = []
    for index in sampler:
        out.append(list(range(index.start, index.stop)) if isinstance(index, slice) else index.tolist())
    return out


def test_eval_batches_are_contiguous_slices_covering_all_rows() -> None:
    batches = rows(RowBatchSampler(10, 4, shuffle=False))
    assert [r for b in batches for r in b] == list(range(10))
    assert len(batches) == 3


def test_training_visits_every_row_once_per_epoch_in_a_new_order() -> None:
    sampler = RowBatchSampler(10, 3, shuffle=True, seed=1)
    first = rows(sampler)
    assert sorted(r for b in first for r in b) == list(range(10))
    sampler.set_epoch(1)
    second = rows(sampler)
    assert first != second
    sampler.set_epoch(0)
    assert rows(sampler) == first  # same seed + epoch: same order (what resume relies on)


def test_ddp_ranks_share_each_global_batch() -> None:
    single = rows(RowBatchSampler(11, 4, shuffle=True, seed=3))
    ranks = [rows(RowBatchSampler(11, 4, shuffle=True, seed=3, rank=r, world_size=2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == len(single)
    for b, batch in enumerate(single):
        assert ranks[0][b] + ranks[1][b] == batch


def test_a_tail_smaller_than_the_world_joins_the_previous_batch() -> None:
    ranks = [rows(RowBatchSampler(9, 4, shuffle=True, rank=r, world_size=2)) for r in range(2)]
    assert all(len(batch) > 0 for rank in ranks for batch in rank)
    assert sorted(i for rank in ranks for batch in rank for i in batch) == list(range(9))


def test_ddp_eval_shards_have_equal_batch_counts() -> None:
    ranks = [rows(RowBatchSampler(10, 3, shuffle=False, rank=r, world_size=2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])
    assert sorted(i for rank in ranks for batch in rank for i in batch) == list(range(10))


def test_tensor_table_indexing() -> None:
    t = TensorTable({"x": torch.arange(5), "y": torch.arange(5) * 2})
    assert t[slice(1, 3)]["y"].tolist() == [2, 4]
    assert t[torch.tensor([4, 0])]["x"].tolist() == [4, 0]
    assert len(t) == 5
