"""Stage-2 data: stage 1's candidate lists, labelled by the interactions they were meant to find.

The ranker learns what it will see when serving: the K candidates stage 1 retrieves for a user (items
seen in training excluded), labelled 1 when the user interacted with the item in the validation split.
Stage 1 never trained on those interactions, so its scores on them are as honest as at serving time.
Users with validation items are divided, by a seeded draw, into the ranker's training users and the
ranker's own validation users (`val_fraction`), on whose re-ranked lists the best epoch is chosen.
Test lists are stage 1's candidates for the test split (training and validation items excluded).

Every batch holds whole lists {user, items, scores, hits, n_relevant} ([B, K] each; `batch_size`
counts lists): training scores them with a ranking loss, evaluation re-ranks them and scores the
re-ranked lists with the suite.
"""

from __future__ import annotations

import lightning.pytorch as L
import torch
from torch.utils.data import DataLoader

from framework.data.batching import TensorTable, batch_loader
from framework.data.interactions.table import UserItemSets
from framework.errors import DataError
from framework.serving.retriever import Candidates


def list_table(candidates: Candidates, targets: UserItemSets) -> TensorTable:
    return TensorTable(
        {
            "user": candidates.users,
            "items": candidates.items,
            "scores": candidates.scores,
            "hits": candidates.hits(targets),
            "n_relevant": targets.counts(candidates.users),
        }
    )


class RerankDataModule(L.LightningDataModule):
    def __init__(
        self,
        valid: Candidates,
        valid_targets: UserItemSets,
        test: Candidates,
        test_targets: UserItemSets,
        val_fraction: float,
        batch_size: int,
        eval_batch_size: int,
        seed: int,
    ) -> None:
        super().__init__()
        lists = list_table(valid, valid_targets)
        n = len(lists)
        n_val = round(n * val_fraction)
        if n_val < 1 or n - n_val < 1:
            raise DataError(
                f"{n} users have validation items: too few to give the ranker both training users and "
                f"validation users (ranking.val_fraction={val_fraction}). Use more data."
            )
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        self.tables = {
            "train": TensorTable(lists[order[n_val:].sort().values]),
            "valid": TensorTable(lists[order[:n_val].sort().values]),
            "test": list_table(test, test_targets),
        }
        if not self.tables["train"].tensors["hits"].any():
            raise DataError(
                "stage 1's candidates for the ranker's training users hold no validation item: there is nothing "
                "to learn a ranking from. Raise case.serving.candidates_per_request or train stage 1 longer."
            )
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        train = self.tables["train"].tensors
        self.info = {
            "train_users": len(self.tables["train"]),
            "train_rows": int((train["items"] >= 0).sum()),
            "train_positives": int(train["hits"].sum()),
            "valid_users": len(self.tables["valid"]),
            "test_users": len(self.tables["test"]),
        }

    def _loader(self, split: str, shuffle: bool, batch_size: int) -> DataLoader:
        return batch_loader(self.tables[split], batch_size, shuffle, self.seed, self.trainer)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", False, self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, self.eval_batch_size)
