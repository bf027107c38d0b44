"""Two-stage (video recommendation) export and serving: a user index in, the top k items out.

The artefact of a two_stage run holds, beside the files of `framework.serving.artifact`:
    user_vectors.npy    stage 1's user tower applied to every known user (their features and training
                        history are fixed at export, so the vectors are precomputed, as item vectors are)
    item_vectors.npy    the item tower applied to every item: the index is built from them at load
    seen_indptr.npy     CSR of the items each user already interacted with (train + valid): never
    seen_items.npy      recommended again (the run's test-time history)
    ranker_tables.pt    `RankerFeatures.tables()`: the lookup tables and statistics of stage 2's features
and model.* / feature_spec.json are the stage-2 ranker (its logits order each list), in every backend.
The manifest's `index` is the run's index config (exact, faiss flat / IVF / HNSW), `candidates` is K.

    >>> recommender = Recommender(read_artifact("outputs/video/serving"), backend="onnx")
    >>> items, scores = recommender.recommend(user=17, k=10)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from framework.data.interactions.table import UserItemSets
from framework.errors import DataError
from framework.serving.artifact import ENCODER_FILE, MODEL_CONFIG, SPEC_FILE, Artifact, write_artifact
from framework.serving.graph import save_backends, versions
from framework.serving.run_dir import TrainedRun, model_weights

_ARRAYS = ("user_vectors", "item_vectors", "seen_indptr", "seen_items")
RANKER_TABLES = "ranker_tables.pt"
_BLOCK = 65_536  # rows per tower call at export


def export_two_stage(run: TrainedRun, out: Path, backends: list[str]) -> Path:
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from framework.data import prepared
    from framework.data.interactions.datamodule import InteractionDataModule
    from framework.serving.backends import build_model, scored_model
    from framework.tasks.two_stage.ranker_features import RankerFeatures

    cfg = run.cfg
    if cfg.get("ranker") is None:
        raise DataError(f"{run.run_dir}: a run without a ranker (ranker=none); export needs stage 2's model.")
    data = prepared(InteractionDataModule, cfg)  # the run's data (its cache): the features' lookup tables
    retrieval = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    retrieval.load_state_dict(model_weights(run.state_dict("retrieval")))
    retrieval.eval()
    with torch.inference_mode():
        users = _vectors(retrieval.user_vectors, data.users)
        items = _vectors(retrieval.item_vectors, data.items)
    seen = data.history("test")

    ranking_state = run.state_dict("ranking")
    features = RankerFeatures(data)
    features.mean.copy_(ranking_state["features.mean"])
    features.std.copy_(ranking_state["features.std"])
    ranker_spec = features.spec.to_dict()
    ranker = build_model(cfg.ranker, ranker_spec)
    ranker.load_state_dict(model_weights(ranking_state))
    scored = scored_model(ranker, 0.0, probability=False)
    some_users = torch.arange(min(2, data.spec.n_users))
    example = features.rows(
        some_users, torch.arange(8).repeat(len(some_users), 1) % data.spec.n_items, torch.zeros(len(some_users), 8)
    )

    def write(folder: Path) -> dict[str, Any]:
        for name, array in zip(_ARRAYS, (users, items, seen.indptr.numpy(), seen.indices.numpy()), strict=True):
            np.save(folder / f"{name}.npy", array)
        torch.save(features.tables(), folder / RANKER_TABLES)
        (folder / SPEC_FILE).write_text(json.dumps(ranker_spec, indent=1) + "\n")
        (folder / ENCODER_FILE).write_text("{}\n")  # users and items arrive as indices: no raw encoding here
        OmegaConf.save(cfg.ranker, folder / MODEL_CONFIG)
        return {
            "kind": "two_stage",
            "case": str(cfg.case.name),
            "latency_budget_ms": cfg.case.design.get("latency_budget_ms"),  # the card's, for servers and load tests
            "model": str(run.record.get("model")),
            "ranker": str(cfg.ranker._target_),
            "logit_shift": 0.0,
            "output": "logit",
            "candidates": int(cfg.case.serving.candidates_per_request),
            "index": OmegaConf.to_container(cfg.index, resolve=True),
            "n_users": int(data.spec.n_users),
            "n_items": int(data.spec.n_items),
            "backends": save_backends(scored, example, folder, backends),
            "run": {"run_dir": str(run.run_dir.resolve()), "git": run.record.get("git")},
            "versions": versions(),
        }

    return write_artifact(out, write)


def _vectors(tower: Any, entities: Any) -> np.ndarray:
    import torch

    cat, num = torch.from_numpy(entities.categorical), torch.from_numpy(entities.numeric)
    parts = [tower(cat[s : s + _BLOCK], num[s : s + _BLOCK]) for s in range(0, len(cat), _BLOCK)]
    return torch.cat(parts).float().numpy()


class Recommender:
    """Stage 1 (user vector -> index -> unseen candidates) then stage 2 (ranker logits -> order), one user
    per request, the same steps as the run's `Retriever.request` and `rerank`."""

    def __init__(self, artifact: Artifact, backend: str = "torch", threads: int | None = None) -> None:
        import torch
        from hydra.utils import instantiate

        from framework.data.tabular.features import FeatureSpec
        from framework.serving.backends import load_scorer
        from framework.tasks.two_stage.ranker_features import RankerFeatures

        if artifact.manifest["kind"] != "two_stage":
            raise DataError(f"{artifact.path}: a {artifact.manifest['kind']} artefact, not a two-stage recommender.")
        arrays = {name: np.load(artifact.path / f"{name}.npy") for name in _ARRAYS}
        self.users = arrays["user_vectors"]
        indptr, n_items = arrays["seen_indptr"], len(arrays["item_vectors"])
        owners = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))  # the run's history, as the run held it
        self.seen = UserItemSets(owners, arrays["seen_items"], len(indptr) - 1, n_items)
        self.k = int(artifact.manifest["candidates"])
        self.index = instantiate(artifact.manifest["index"])
        self.index.build(arrays["item_vectors"])
        tables = torch.load(artifact.path / RANKER_TABLES, map_location="cpu", weights_only=True)
        self.features = RankerFeatures.from_tables(tables, FeatureSpec.from_dict(artifact.feature_spec))
        self.scorer = load_scorer(artifact, backend, threads)

    def candidates(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1: the user's top K unseen items and their inner products (-1 / -inf pad a short list)."""
        if not 0 <= user < len(self.users):
            raise DataError(f"user {user} is unknown: users are indices 0..{len(self.users) - 1}.")
        import torch

        from framework.serving.retriever import unseen_top_k

        items, scores = unseen_top_k(self.index, self.users[user : user + 1], torch.tensor([user]), self.seen, self.k)
        return items[0].numpy(), scores[0].numpy()

    def recommend(self, user: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The top `k` items for `user` after both stages, and their ranker logits."""
        import torch

        from framework.serving.encode import EncodedRows

        items, scores = self.candidates(user)
        with torch.inference_mode():
            categorical, numeric = self.features.rows(
                torch.tensor([user]), torch.from_numpy(items)[None, :], torch.from_numpy(scores)[None, :]
            )
        logits = self.scorer.score(EncodedRows(categorical.numpy(), numeric.numpy()))
        logits = np.where(items >= 0, logits, -np.inf)
        order = np.argsort(-logits, kind="stable")[:k]
        return items[order], logits[order]
