"""Batches as slices of contiguous tensors: no per-sample __getitem__, no collate.

`RowBatchSampler` yields, per batch, either a `slice` (evaluation: contiguous rows, zero copy) or a
tensor of row indices (training: a seeded permutation per epoch, gathered in one `index_select`).
Under DDP it shards by itself (Lightning's `use_distributed_sampler=False`): every global batch of
`batch_size` rows is split across ranks, so the effective batch and the sequence of updates match a
single-process run; evaluation shards are contiguous and all ranks run the same number of batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, SequentialSampler

Index = slice | torch.Tensor


class TensorTable(Dataset):
    """Named tensors sharing their first dimension; indexed by a slice or an index tensor."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        sizes = {len(t) for t in tensors.values()}
        if len(sizes) != 1:
            raise ValueError(f"tensors differ in length: { {k: len(v) for k, v in tensors.items()} }")
        self.tensors = tensors
        self.n_rows = sizes.pop()

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, index: Index) -> dict[str, torch.Tensor]:
        if isinstance(index, slice):
            return {k: v[index] for k, v in self.tensors.items()}
        return {k: v.index_select(0, index) for k, v in self.tensors.items()}


class TableRows(Dataset):
    """The rows `rows` of a table, gathered batch by batch: nothing is copied up front, so a table that is
    memory-mapped and larger than memory can be trained on a subset of its rows (e.g. downsampled)."""

    def __init__(self, table: TensorTable, rows: torch.Tensor) -> None:
        self.table, self.rows = table, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: Index) -> dict[str, torch.Tensor]:
        return self.table[self.rows[index]]


class RowBatchSampler(Sampler[Index]):
    """Yields one index (slice or row tensor) per batch for this rank; `set_epoch` reshuffles."""

    def __init__(
        self, n_rows: int, batch_size: int, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1
    ) -> None:
        if n_rows < world_size:
            raise ValueError(f"{n_rows} rows cannot be shared by {world_size} processes")
        self.n_rows, self.batch_size, self.shuffle = n_rows, batch_size, shuffle
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls this before every training epoch
        self.epoch = epoch

    def _global_bounds(self) -> list[tuple[int, int]]:
        bounds = [(s, min(s + self.batch_size, self.n_rows)) for s in range(0, self.n_rows, self.batch_size)]
        if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < self.world_size:
            bounds[-2:] = [(bounds[-2][0], bounds[-1][1])]  # a tail too small to share joins the previous batch
        return bounds

    def _shard(self) -> tuple[int, int]:
        return self.rank * self.n_rows // self.world_size, (self.rank + 1) * self.n_rows // self.world_size

    def __len__(self) -> int:
        if self.shuffle:
            return len(self._global_bounds())
        largest = math.ceil(self.n_rows / self.world_size)
        return max(1, math.ceil(largest / self.batch_size))

    def __iter__(self) -> Iterator[Index]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.n_rows, generator=generator)
            for start, stop in self._global_bounds():
                rows = order[start:stop]
                yield torch.tensor_split(rows, self.world_size)[self.rank] if self.world_size > 1 else rows
        else:
            start, stop = self._shard()
            n_batches = len(self)
            for b in range(n_batches):  # equal batch counts on every rank; sizes differ by at most one row
                yield slice(start + (stop - start) * b // n_batches, start + (stop - start) * (b + 1) // n_batches)


class OrderedRowBatchSampler(RowBatchSampler, SequentialSampler):
    """An unshuffled RowBatchSampler that is also a SequentialSampler: with `overfit_batches`, Lightning
    replaces every loader's sampler that is not one by a per-row sampler, whose single rows our batches
    cannot use."""


def batch_loader(
    table: TensorTable | TableRows,
    batch_size: int,
    shuffle: bool,
    seed: int,
    trainer: Any = None,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader that yields whole batches of `table` (slices or gathered rows), sharded for the
    trainer's rank when there is one; what every data module's *_dataloader returns. Overfitting a few
    batches (trainer.overfit_batches) takes the same first batches every epoch: no shuffling."""
    rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
    shuffle = shuffle and not (trainer is not None and getattr(trainer, "overfit_batches", 0))
    kind = RowBatchSampler if shuffle else OrderedRowBatchSampler
    sampler = kind(len(table), batch_size, shuffle, seed, rank, world)
    return DataLoader(table, sampler=sampler, batch_size=None, num_workers=0, pin_memory=pin_memory)
