"""What the compared runs shared: dataset, rows, epochs, debug mode, hardware; and the caveats that follow.

A report states these so that a smoke test (`debug=fast`, a few batches) or a one-seed comparison
cannot pass for a measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Record = dict[str, Any]


def _rows(r: Record) -> str | None:
    rows = (r.get("data") or {}).get("rows")
    if not isinstance(rows, dict):
        return None
    return " · ".join(f"{split} {n:,}" for split, n in rows.items() if isinstance(n, int))


def _dataset(r: Record) -> str | None:
    dataset = r["config"].get("dataset") or {}
    name = r.get("dataset") or dataset.get("name")
    cap = dataset.get("max_rows")
    return f"{name} (max_rows={cap})" if cap is not None else name


def _training(r: Record) -> str | None:
    if r.get("trained") is False:  # a heuristic or one-feature baseline: nothing was fit
        return "not trained"
    if "lightgbm_curve" in r:  # trees fit by LightGBM: `epochs` holds the boosting rounds kept
        return f"{r['epochs']} boosting round(s) kept"
    trainer = r["config"].get("trainer") or {}
    parts = [f"{r['epochs']} epoch(s) run" if r.get("epochs") is not None else None]
    parts.append(f"max_epochs={trainer['max_epochs']}" if trainer.get("max_epochs") is not None else None)
    for key in ("limit_train_batches", "limit_val_batches", "limit_test_batches"):
        if trainer.get(key) not in (None, 1.0):
            parts.append(f"{key}={trainer[key]}")
    return ", ".join(p for p in parts if p) or None


def _hardware(r: Record) -> str | None:
    machine = r.get("machine") or {}
    gpus = len(machine.get("cuda_devices") or [])
    parts = [str(r.get("hardware") or (r.get("choices") or {}).get("hardware") or "?")]
    if machine.get("cpu_count"):
        parts.append(f"{machine['cpu_count']} CPU cores")
    if gpus:
        parts.append(f"{gpus} GPU(s)")
    return ", ".join(parts)


SETTINGS: dict[str, Callable[[Record], str | None]] = {
    "dataset": _dataset,
    "rows": _rows,
    "training": _training,
    "debug": lambda r: (r.get("choices") or {}).get("debug") or "none",
    "hardware": _hardware,
}


def fixed_settings(records: Sequence[Record]) -> dict[str, str]:
    """Each setting's value over the runs: the one value they share, or "varies: a; b"."""
    out = {}
    for name, read in SETTINGS.items():
        values = list(dict.fromkeys(v for v in map(read, records) if v is not None))
        if values:
            out[name] = values[0] if len(values) == 1 else "varies: " + "; ".join(map(str, values[:4]))
    return out


def caveats(records: Sequence[Record], most_paired_seeds: int) -> list[str]:
    """Why these numbers may not say which choice is better: a debug run, capped training, one seed."""
    notes = []
    debug = sorted({str(d) for r in records if (d := (r.get("choices") or {}).get("debug"))})
    capped = any((r["config"].get("trainer") or {}).get("limit_train_batches") not in (None, 1.0) for r in records)
    if debug:
        notes.append(
            f"smoke test: debug={','.join(debug)} trained on a few batches; these numbers show that the "
            "pipeline runs, not which choice is better"
        )
    elif capped:
        notes.append("training was capped (trainer.limit_train_batches): not a full measurement")
    if most_paired_seeds < 2:
        notes.append("one seed per choice: no difference can be judged (the Δ table says n/a); repeat with seed=1,2,3")
    return notes
