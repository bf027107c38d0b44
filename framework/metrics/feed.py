"""Metrics of a multi-task feed ranker: per task (one head's predictions), and per feed request.

Every metric is updated with a `FeedOutputs`: each row's prediction and label per task, which labels
were observed (dwell time exists for clicked posts only; MIND has clicks only), the request the row was
shown in (`query`), the engagement score that orders the feed and the engagement the row earned (`gain`).

Per task, `OnTask(task, metric)` feeds any torchmetrics metric one head's observed rows:

    OnTask("click", BinaryAUROC())        ROC-AUC of P(click) over every observed row
    OnTask("dwell", MeanAbsoluteError())  dwell-time error, in seconds, over clicked rows
    MeanOverTasks([...], BinaryAUROC())   the mean of the reactions' ROC-AUCs (every head at once)

Per request (a feed is sorted by engagement score, best first; means over requests):

    FeedNDCG@k       DCG@k / IDCG@k with linear gains = the engagement earned, max(0, sum_t w_t y_t)
                     (torchmetrics' RetrievalNormalizedDCG; MIND's nDCG for 0/1 click gains); requests
                     whose gains are all 0 have no ideal order and are skipped
    ImpressionAUC    ROC-AUC within the request, positives = rows with gain > 0 (MIND's "AUC": the mean
                     of per-impression AUCs; torchmetrics' RetrievalAUROC); requests without both kinds of
                     row are skipped
    ImpressionMRR    MIND's MRR: the mean of 1 / rank over the request's positive rows (every click, not
                     only the first: torchmetrics' RetrievalMRR reads the first only)
    TopShare@k       share of the top k posts with a reaction (e.g. hide: lower is better), over requests

Request metrics keep their rows (cat states) and sort them once in `compute`, so a request split over
batches or DDP ranks is scored whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchmetrics import Metric


@dataclass
class FeedOutputs:
    heads: tuple[str, ...]  # task names, in column order
    pred: torch.Tensor  # float [N, T]: P(reaction) for binary heads, the predicted value for regression heads
    label: torch.Tensor  # float [N, T]: 0/1 or values (anything where not observed)
    observed: torch.Tensor  # bool [N, T]
    query: torch.Tensor  # long [N]: the feed request of each row
    score: torch.Tensor  # float [N]: engagement score, sum_t w_t pred_t: what orders the feed
    gain: torch.Tensor  # float [N]: engagement earned, max(0, sum_t w_t label_t) over observed labels

    def column(self, task: str) -> int:
        if task not in self.heads:
            raise KeyError(f"task '{task}' is not one of the model's heads {list(self.heads)}")
        return self.heads.index(task)


def engagement_earned(label: torch.Tensor, observed: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """[N]: max(0, sum_t w_t y_t) over each row's observed labels [N, T]: what a post earned (a hide can
    cancel the rest, never go below 0). FeedOutputs.gain."""
    return ((label * observed) @ weights).clamp_min(0.0)


class OnTask(Metric):
    """A torchmetrics metric of one task: its head's predictions and labels on the rows where the label
    was observed (binary targets as ints, regression targets as floats)."""

    full_state_update = False

    def __init__(self, task: str, metric: Metric) -> None:
        super().__init__()
        self.task = task
        self.metric = metric

    @property
    def higher_is_better(self) -> bool | None:  # type: ignore[override]
        return self.metric.higher_is_better

    def update(self, outputs: FeedOutputs) -> None:
        t = outputs.column(self.task)
        keep = outputs.observed[:, t]
        pred, label = outputs.pred[keep, t].float(), outputs.label[keep, t]
        binary = type(self.metric).__module__.startswith("torchmetrics.classification")
        self.metric.update(pred, label.int() if binary else label.float())

    def compute(self) -> torch.Tensor:
        return self.metric.compute()

    def reset(self) -> None:
        super().reset()
        self.metric.reset()


class MeanOverTasks(Metric):
    """The mean over `tasks` of one metric, each on its task's observed rows (`OnTask` per task): a score
    of every head at once, e.g. the mean ROC-AUC of the reactions, to select an epoch by."""

    full_state_update = False

    def __init__(self, tasks: list[str], metric: Metric) -> None:
        super().__init__()
        if not tasks:
            raise ValueError("MeanOverTasks needs at least one task")
        self.tasks = list(tasks)
        self.per_task = torch.nn.ModuleList(OnTask(t, metric.clone()) for t in self.tasks)
        self._higher = metric.higher_is_better

    @property
    def higher_is_better(self) -> bool | None:  # type: ignore[override]
        return self._higher

    def update(self, outputs: FeedOutputs) -> None:
        for m in self.per_task:
            m.update(outputs)

    def compute(self) -> torch.Tensor:
        return torch.stack([m.compute().float() for m in self.per_task]).mean()

    def reset(self) -> None:
        super().reset()
        for m in self.per_task:
            m.reset()


class _RequestMetric(Metric):
    """Rows kept whole (request, score, gain, and the 0/1 labels of one reaction where asked); a value per
    request computed once over the requests sorted best first; the mean over the requests that count."""

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, reaction: str | None = None) -> None:
        super().__init__()
        self.reaction = reaction
        for name in ("query", "score", "gain", *(["flag"] if reaction is not None else [])):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, outputs: FeedOutputs) -> None:
        self.query.append(outputs.query.long())
        self.score.append(outputs.score.double())
        self.gain.append(outputs.gain.double())
        if self.reaction is not None:
            t = outputs.column(self.reaction)
            self.flag.append(((outputs.label[:, t] > 0) & outputs.observed[:, t]).double())

    def compute(self) -> torch.Tensor:
        def whole(state: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:  # a list before a DDP sync
            return torch.cat(state) if isinstance(state, list) else state

        if not len(self.query):
            return torch.tensor(float("nan"))
        query, score, gain = whole(self.query), whole(self.score), whole(self.gain)
        flag = whole(self.flag) if self.reaction is not None else gain
        # best first within each request: sort by score (descending), then stably by request
        order = torch.argsort(score, descending=True, stable=True)
        order = order[torch.argsort(query[order], stable=True)]
        rows = SortedRequests(query[order], score[order], gain[order], flag[order])
        values, counts = self.per_request(rows)
        return (values[counts].sum() / counts.sum().clamp_min(1)).float()

    def per_request(self, rows: SortedRequests) -> tuple[torch.Tensor, torch.Tensor]:
        """(value per request, whether it counts), both [requests]."""
        raise NotImplementedError


class SortedRequests:
    """Rows sorted by request, best score first within each: `request` (0..n-1), `rank` (1-based within
    its request), `sum(values)` per request."""

    def __init__(self, query: torch.Tensor, score: torch.Tensor, gain: torch.Tensor, flag: torch.Tensor) -> None:
        self.score, self.gain, self.flag = score, gain, flag
        starts = torch.ones_like(query, dtype=torch.bool)
        starts[1:] = query[1:] != query[:-1]
        self.starts = starts
        self.request = torch.cumsum(starts.long(), 0) - 1
        first = torch.nonzero(starts).squeeze(1)
        self.n = len(first)
        self.rank = torch.arange(len(query), device=query.device) - first[self.request] + 1

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(self.n, dtype=torch.float64, device=values.device)
        return out.index_add_(0, self.request, values.double())


class FeedNDCG(_RequestMetric):
    def __init__(self, k: int) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        self.k = k

    def per_request(self, rows: SortedRequests) -> tuple[torch.Tensor, torch.Tensor]:
        top = rows.rank <= self.k
        discount = torch.where(top, 1.0 / torch.log2(rows.rank.double() + 1.0), 0.0)
        dcg = rows.sum(rows.gain * discount)
        # the ideal order: each request's gains sorted descending (requests stay in place)
        ideal = torch.argsort(rows.gain, descending=True, stable=True)
        ideal = ideal[torch.argsort(rows.request[ideal], stable=True)]
        idcg = rows.sum(rows.gain[ideal] * discount)
        counts = idcg > 0
        return torch.where(counts, dcg / idcg.clamp_min(1e-300), 0.0), counts


class ImpressionAUC(_RequestMetric):
    def per_request(self, rows: SortedRequests) -> tuple[torch.Tensor, torch.Tensor]:
        positive = (rows.gain > 0).double()
        negative = 1.0 - positive
        n_pos, n_neg = rows.sum(positive), rows.sum(negative)
        # Mann-Whitney: each positive wins over the negatives scored below it, half over those tied with it
        tie_start = rows.starts.clone()
        tie_start[1:] |= rows.score[1:] != rows.score[:-1]
        tie = torch.cumsum(tie_start.long(), 0) - 1
        tied_negatives = torch.zeros(int(tie[-1]) + 1, dtype=torch.float64).index_add_(0, tie, negative)
        negatives_through = torch.cumsum(negative, 0)  # negatives in this row and every row above
        before_request = (negatives_through - negative)[rows.starts]
        tie_end = torch.ones_like(tie_start)
        tie_end[:-1] = tie_start[1:]
        above = negatives_through[tie_end][tie] - tied_negatives[tie] - before_request[rows.request]
        below = n_neg[rows.request] - above - tied_negatives[tie]
        won = rows.sum(positive * (below + 0.5 * tied_negatives[tie]))
        counts = (n_pos > 0) & (n_neg > 0)
        return torch.where(counts, won / (n_pos * n_neg).clamp_min(1.0), 0.0), counts


class ImpressionMRR(_RequestMetric):
    def per_request(self, rows: SortedRequests) -> tuple[torch.Tensor, torch.Tensor]:
        positive = (rows.gain > 0).double()
        n_pos = rows.sum(positive)
        counts = n_pos > 0
        return torch.where(counts, rows.sum(positive / rows.rank.double()) / n_pos.clamp_min(1.0), 0.0), counts


class TopShare(_RequestMetric):
    """Share of a request's top k posts with `reaction` (a hide at the top of the feed is a bad feed)."""

    higher_is_better = False

    def __init__(self, reaction: str, k: int) -> None:
        super().__init__(reaction)
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        self.k = k

    def per_request(self, rows: SortedRequests) -> tuple[torch.Tensor, torch.Tensor]:
        top = (rows.rank <= self.k).double()
        shown = rows.sum(top)
        return rows.sum(rows.flag * top) / shown.clamp_min(1.0), shown > 0
