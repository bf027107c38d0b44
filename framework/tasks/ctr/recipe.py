"""The ctr recipe: tabular data -> ranking model -> CTRTask -> fit/test -> scoring latency."""

from __future__ import annotations

import shutil
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig
from torchmetrics import Metric

from framework.data import prepared
from framework.data.tabular.datamodule import TabularDataModule
from framework.data.tabular.features import ENCODER_FILE
from framework.serving.latency import row_scoring_latency
from framework.tasks.ctr.module import CTRTask
from framework.tasks.result import RecipeResult
from framework.tracking.records import atomic_file, write_json_atomic
from framework.training.loop import RunContext, fit_and_test, parameter_count
from framework.training.optimizers import optimizer_factories, sparse_embeddings


def load_data(cfg: DictConfig) -> TabularDataModule:
    """Read, check and encode the dataset (or load it from the cache), before any tracker starts."""
    return prepared(TabularDataModule, cfg)


def run_case(ctx: RunContext, data: TabularDataModule, metrics: dict[str, Metric]) -> RecipeResult | None:
    """Train and test the ranking model, then time it scoring one request's candidates.
    None on non-zero DDP ranks, which record nothing."""
    cfg = ctx.cfg
    spec = data.spec
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=spec)
    task = CTRTask(
        model,
        metrics,
        **optimizer_factories(cfg.optim),
        monitor=f"val/{cfg.eval.monitor}",
        sparse_embeddings=sparse_embeddings(cfg),
        logit_shift=data.info["downsampling"]["logit_shift"],  # log(dataset.negative_rate): recalibration
    )
    result = fit_and_test(ctx, task, data)
    if not result.is_global_zero:
        return None
    save_encoder(data, ctx.run_dir / ENCODER_FILE)  # what `mlsd export` needs to encode rows as training did
    with ctx.timer("serving"):
        serving = row_scoring_latency(task.scorer(), data.tables["test"], cfg.case, cfg.seed)
    metrics_out = {k: v for k, v in result.best.items() if k.startswith("val/")}
    metrics_out.update(result.test)
    metrics_out.update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
    return RecipeResult(
        metrics=metrics_out,
        objective=result.best.get(f"val/{cfg.eval.monitor}"),
        epochs=result.epochs,
        history=result.history,
        train_samples_per_s=result.samples_per_s,
        checkpoints={"best": result.best_checkpoint, "last": str(ctx.run_dir / "checkpoints" / "last.ckpt")},
        extras={
            "serving": serving,
            "data": data.info,
            "feature_spec": spec.to_dict(),
            "parameters": parameter_count(model),
        },
    )


def save_encoder(data: TabularDataModule, path: Path) -> None:
    """The train-fit encoder's state at `path`, atomically: the cache entry's file copied as it is when there
    is one (a Criteo vocabulary is tens of MB of JSON: not parsed only to be written again), else the state
    the data module built in memory."""
    if data.encoder_file is not None:
        with atomic_file(path, "wb") as out, data.encoder_file.open("rb") as cached:
            shutil.copyfileobj(cached, out)
    elif data.encoder_state is not None:
        write_json_atomic(path, data.encoder_state)
