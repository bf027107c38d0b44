"""The config node of the session_embedding kind and its checks (read before any heavy import).

skipgram  how skip-gram pairs and negatives are made: window, the booked listing as global context,
          random and same-market negatives (the paper's three ingredients, each a switch)
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from framework.checks import Problems, check_dataclass, value_of


@dataclass
class SkipGramConfig:
    window: int = 3  # context: clicks at most this many positions away in the session
    global_context: bool = True  # the booked listing is context of every click of its session
    negatives: int = 5  # random negatives per pair (by popularity^0.75, as word2vec)
    market_negatives: int = 0  # negatives per pair from the center listing's market (0 = off)
    negative_sampling: str = "sampled"  # sampled (word2vec) | shared (per chunk of pairs) | expected (small catalogues)
    shared_negatives: int = 16  # negative_sampling=shared: random negatives drawn per chunk of 2,048 pairs


@dataclass
class SessionDatasetKeys:
    """Dataset keys of click sessions (framework.data.sessions explains them)."""

    min_item_count: int = 1  # items clicked fewer times are dropped (Diginetica's protocol: 5)
    valid_days: float = 5.0  # sessions starting in these days before the test days validate
    test_days: float = 5.0  # sessions starting in the last days are test (Diginetica's protocol: 7)


SCHEMAS = {"skipgram": SkipGramConfig}
NEGATIVE_SAMPLING = ("sampled", "shared", "expected")
EXPECTED_MAX_ITEMS = 20_000  # expected negatives score every center of a batch against every item
DATASET_SCHEMA = SessionDatasetKeys


def check(cfg: DictConfig, problems: Problems) -> None:
    """skipgram is required; counts in range; the booking metrics need a market attribute-free reading."""
    node = cfg.get("skipgram")
    if node is None:
        problems.add(f"Case '{value_of(cfg.case, 'name')}' is a session_embedding case and needs 'skipgram'.")
        return
    check_dataclass(node, SkipGramConfig, "skipgram", problems)
    for key, low in (("window", 1), ("negatives", 0), ("market_negatives", 0), ("shared_negatives", 1)):
        value = value_of(node, key)
        if isinstance(value, int) and value < low:
            problems.add(f"'skipgram.{key}' must be at least {low}, got {value}.")
    mode = value_of(node, "negative_sampling")
    if isinstance(mode, str) and mode not in NEGATIVE_SAMPLING:
        problems.add(f"'skipgram.negative_sampling' must be one of {', '.join(NEGATIVE_SAMPLING)}, got '{mode}'.")
    negatives, market = value_of(node, "negatives"), value_of(node, "market_negatives")
    if mode == "shared" and negatives == 0:
        problems.add("skipgram.negative_sampling=shared shares the random negatives: set skipgram.negatives above 0.")
    if negatives == 0 and market == 0:
        problems.add("skip-gram needs negatives: set skipgram.negatives or skipgram.market_negatives above 0.")
    for key in ("valid_days", "test_days"):
        days = value_of(cfg.dataset, key)
        if isinstance(days, int | float) and days <= 0:
            problems.add(f"'dataset.{key}' must be positive (days of sessions), got {days}.")


def extra_target_nodes(cfg: DictConfig) -> list[tuple[str, DictConfig]]:
    return []
