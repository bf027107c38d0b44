#!/usr/bin/env python
"""Reading + encoding a Criteo-format file out of core: peak memory and time against the number of rows.

    python scripts/bench_ctr_memory.py                                  # 1M, 5M, 10M generated rows
    python scripts/bench_ctr_memory.py --rows 200000 1000000 --chunk-rows 250000
    python scripts/bench_ctr_memory.py --file /data/dac/train.txt --rows 5000000 20000000 45840617
    python scripts/bench_ctr_memory.py --rows 1200000 --baseline --baseline-python /tmp/ctrlib/bin/python
    python scripts/bench_ctr_memory.py --vocabulary 250000 1000000 2000000   # memory per distinct value counted

Each size runs in a fresh interpreter: the real data path (`TabularDataModule.prepare` with the composed
`case=ad_click dataset=criteo` config and `dataset.out_of_core=true`: count the rows, fit on the train
split, encode every row, write the cache entry), reporting that process's peak resident memory (its
getrusage ru_maxrss), its memory once the imports are done, the wall time of prepare, rows/s and the
seconds per stage. The table ends with a linear fit of time against rows, extrapolated to the full
Criteo file (45,840,617 rows), and the fitted growth of peak memory per row (~0: bounded).

Generated data: the embedded click-log generator written as a DAC train.txt in pieces of 500,000 rows
(seeds 0, 1, ...) appended to one file, so the generator holds one piece in memory, never the file.
Smaller sizes read the first rows of that file (dataset.max_rows), which is what a file of that size gives.

--vocabulary: what the fit's value counts cost per distinct categorical value, the one term of peak memory
that grows with the data (with the number of distinct values, not the rows). In a fresh interpreter,
26 fields of N distinct values each (every row a new value, decimal strings of up to 10 characters, like
Criteo's 8 hex digits) go through `TrainStatistics` in 1M-row chunks. Reported: the size of the counts
held, per distinct value counted, and how far the peak rose above that of one chunk alone.

--baseline: DeepCTR-Torch's preprocessing as in its Criteo example (pandas read_csv, fillna, a
LabelEncoder per sparse field, MinMaxScaler on the dense ones) against mlsd's read + encode (in memory,
as out_of_core=auto picks for a file this size, and out of core) of the same file, scripts/bench_ctr.py's
1.2M-row one, each in a fresh interpreter. It needs pandas and scikit-learn, e.g. in DeepCTR's environment:

    python -m venv /tmp/ctrlib
    /tmp/ctrlib/bin/pip install torch==2.13.0 deepctr-torch polars pandas scikit-learn requests
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CRITEO_ROWS = 45_840_617
PIECE_ROWS = 500_000

PANDAS_PIPELINE = """
import json, resource, sys, time
import pandas as pd
from sklearn.preprocessing import LabelEncoder, MinMaxScaler
path, rows = sys.argv[1], int(sys.argv[2])
sparse, dense = [f"C{i}" for i in range(1, 27)], [f"I{i}" for i in range(1, 14)]
start = time.perf_counter()
data = pd.read_csv(path, sep="\\t", header=None, names=["label", *dense, *sparse], nrows=rows)
read = time.perf_counter()
data[sparse] = data[sparse].fillna("-1")
data[dense] = data[dense].fillna(0)
for feat in sparse:
    data[feat] = LabelEncoder().fit_transform(data[feat])
data[dense] = MinMaxScaler(feature_range=(0, 1)).fit_transform(data[dense])
end = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times = {"seconds": end - start, "read_s": read - start, "encode_s": end - read}
print(json.dumps({"rows": len(data), "peak_mb": peak, **times}))
"""


def make_file(rows: int, path: Path) -> Path:
    """A DAC-format file of `rows` generated rows, written a piece at a time (bounded generator memory)."""
    from framework.data.formats.criteo import write_criteo
    from framework.data.synthetic.click_log import generate

    if path.exists():
        return path
    print(f"writing {rows:,} synthetic rows in Criteo format to {path} ...", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    for k, start in enumerate(range(0, rows, PIECE_ROWS)):
        n = min(PIECE_ROWS, rows - start)
        write_criteo(generate(n_rows=max(n, 10), max_rows=n, seed=k), tmp, append=k > 0)
    tmp.rename(path)
    return path


def child(path: str, rows: int, out_of_core: str, chunk_rows: int) -> None:
    """In a fresh interpreter: prepare the data module once, print what it measured as one JSON line."""
    import resource
    import time

    from hydra import compose, initialize_config_dir

    from framework.data.tabular.datamodule import TabularDataModule

    imports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    overrides = ["case=ad_click", "dataset=criteo", f"dataset.path={path}", f"dataset.max_rows={rows}"]
    overrides += [f"dataset.out_of_core={out_of_core}", f"dataset.chunk_rows={chunk_rows}"]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("run", overrides=overrides)
    cache_dir = tempfile.mkdtemp(prefix="mlsd-bench-memory-")
    try:
        start = time.perf_counter()
        data = TabularDataModule(cfg.dataset, cache_dir, seed=0)
        data.prepare()
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    info = data.info
    result = {
        "rows": sum(info["rows"].values()),
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "imports_mb": imports_mb,
        "stages": info.get("out_of_core", {}).get("seconds")
        or {"read": info.get("read_seconds"), "encode": info.get("encode_seconds")},
    }
    print(json.dumps(result))


def vocabulary_child(fields: int, distinct: int, chunk_rows: int) -> None:
    """In a fresh interpreter: peak memory of counting `fields` x `distinct` distinct values chunk by chunk."""
    import resource

    import numpy as np
    import polars as pl

    from framework.data.tabular.statistics import TrainStatistics

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def chunk(start: int, rows: int) -> pl.DataFrame:  # distinct values: an odd multiplier permutes 2^32
        ids = (np.arange(start, start + rows, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
        values = pl.Series(ids).cast(pl.String)
        return pl.DataFrame({f"C{j}": values for j in range(fields)})

    names = [f"C{j}" for j in range(fields)]
    TrainStatistics(names, {}).update(chunk(0, min(chunk_rows, distinct)))  # one chunk alone: the baseline
    baseline = peak_mb()
    statistics = TrainStatistics(names, {})
    for start in range(0, distinct, chunk_rows):
        statistics.update(chunk(start, min(chunk_rows, distinct - start)))
    counts = [statistics.value_counts(c) for c in names]
    counted = sum(f.height for f in counts)
    held = sum(f.estimated_size() for f in counts) / 2**20
    grown = peak_mb() - baseline
    result = {
        "distinct": counted,
        "baseline_mb": baseline,
        "grown_mb": grown,
        "held_mb": held,
        "bytes": held * 2**20 / counted,
    }
    print(json.dumps(result))


def vocabulary(args: argparse.Namespace) -> None:
    head = "| distinct per field | values counted | one chunk peak MB | peak growth MB | counts MB | bytes per value |"
    print(f"\n{head}\n|---:|---:|---:|---:|---:|---:|")
    for n in args.vocabulary:
        r = run_child(sys.executable, [__file__, "--vocab-child", "26", str(n), str(args.chunk_rows)])
        print(
            f"| {n:,} | {r['distinct']:,} | {r['baseline_mb']:,.0f} | {r['grown_mb']:,.0f} | {r['held_mb']:,.0f} | "
            f"{r['bytes']:.0f} |",
            flush=True,
        )


def run_child(python: str, args: list[str]) -> dict:
    done = subprocess.run([python, *args], cwd=ROOT, capture_output=True, text=True, env={**os.environ})
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(path: Path, rows: int, out_of_core: str, chunk_rows: int, repeats: int) -> dict:
    """The fastest of `repeats` fresh runs (its peak memory with it)."""
    args = [__file__, "--child", str(path), str(rows), out_of_core, str(chunk_rows)]
    runs = [run_child(sys.executable, args) for _ in range(repeats)]
    return min(runs, key=lambda r: r["seconds"])


def stages_text(stages: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if v is not None)


def scaling(args: argparse.Namespace, path: Path) -> None:
    import numpy as np

    results = []
    print("| rows | chunk rows | read + encode s | rows/s | peak RSS MB | after imports MB | seconds per stage |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for rows in args.rows:
        r = measure(path, rows, "true", args.chunk_rows, args.repeats)
        results.append(r)
        print(
            f"| {r['rows']:,} | {args.chunk_rows:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | "
            f"{r['peak_mb']:,.0f} | {r['imports_mb']:,.0f} | {stages_text(r['stages'])} |",
            flush=True,
        )
    if len(results) >= 2:
        n = np.array([r["rows"] for r in results], dtype=float)
        slope, intercept = np.polyfit(n, [r["seconds"] for r in results], 1)
        chunked = [r for r in results if r["rows"] > args.chunk_rows]  # one chunk holds all its rows: no bound yet
        growth = np.polyfit([r["rows"] for r in chunked], [r["peak_mb"] for r in chunked], 1)[0] if chunked[1:] else 0
        peak = max(r["peak_mb"] for r in results)
        print(
            f"\nTime: {intercept:.1f} s + {slope * 1e6:.2f} s per million rows, so about "
            f"{intercept + slope * CRITEO_ROWS:,.0f} s for the full Criteo file ({CRITEO_ROWS:,} rows).\n"
            f"Peak memory grows {growth * 2**20:.1f} bytes per row beyond one chunk (0: bounded); the bound is the "
            f"largest peak, "
            f"{peak:,.0f} MB, set by dataset.chunk_rows={args.chunk_rows:,} (~1.3 KB per chunk row of Criteo) "
            f"and the vocabulary."
        )


def baseline(args: argparse.Namespace) -> None:
    from bench_ctr import make_file as make_bench_file  # the 1.2M-row file BENCHMARKS.md uses

    rows = args.baseline_rows
    path = args.baseline_file or make_bench_file(rows, ROOT / "bench_data" / f"criteo_synthetic_{rows}.txt")
    print(f"\nRead + encode of {rows:,} rows of {path.name}, each in a fresh interpreter (best of {args.repeats}):")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(PANDAS_PIPELINE)
    runs = [run_child(args.baseline_python, [f.name, str(path), str(rows)]) for _ in range(args.repeats)]
    os.unlink(f.name)
    pandas = min(runs, key=lambda r: r["seconds"])
    print("| pipeline | seconds | peak RSS MB | vs pandas |\n|---|---:|---:|---:|")
    print(
        f"| DeepCTR-Torch example (pandas + scikit-learn) | {pandas['seconds']:.2f} | {pandas['peak_mb']:,.0f} | 1.0x |"
    )
    for mode in ("false", "true"):
        r = measure(path, rows, mode, args.chunk_rows, args.repeats)
        name = "mlsd, in memory" if mode == "false" else f"mlsd, out of core ({args.chunk_rows:,}-row chunks)"
        print(f"| {name} | {r['seconds']:.2f} | {r['peak_mb']:,.0f} | {pandas['seconds'] / r['seconds']:.1f}x |")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--vocab-child":
        vocabulary_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000])
    parser.add_argument("--file", type=Path, help="a DAC-format file with at least max(--rows) rows; default: generate")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000, help="dataset.chunk_rows")
    parser.add_argument("--repeats", type=int, default=1, help="fresh runs per measurement (the fastest is kept)")
    parser.add_argument("--baseline", action="store_true", help="also time DeepCTR-Torch's pandas preprocessing")
    parser.add_argument("--baseline-only", action="store_true", help="only the baseline comparison")
    parser.add_argument("--baseline-rows", type=int, default=1_200_000)
    parser.add_argument("--baseline-file", type=Path, help="default: scripts/bench_ctr.py's generated file")
    parser.add_argument("--baseline-python", default=sys.executable, help="an interpreter with pandas, scikit-learn")
    parser.add_argument("--vocabulary", type=int, nargs="+", help="only: memory per distinct value at these counts")
    args = parser.parse_args()
    if args.vocabulary:
        vocabulary(args)
        return
    if not args.baseline_only:
        path = args.file or make_file(max(args.rows), ROOT / "bench_data" / f"criteo_pieces_{max(args.rows)}.txt")
        scaling(args, path)
    if args.baseline or args.baseline_only:
        baseline(args)


if __name__ == "__main__":
    main()
