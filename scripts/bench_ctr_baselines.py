#!/usr/bin/env python
"""Training throughput of an established CTR library (DeepCTR-Torch) on the same data, for BENCHMARKS.md.

Same file, same encoding (mlsd's reader and encoder), same model shape as scripts/bench_ctr.py's DCN:
embedding dim 16, 3 cross layers, MLP 256-128, batch 4096, Adam, one epoch on the train split.
DeepCTR-Torch is not a dependency of mlsd: install it in a separate environment with torch, polars and
numpy, and run this script with mlsd on the path:

    python -m venv /tmp/ctrlib && /tmp/ctrlib/bin/pip install torch==2.13.0 deepctr-torch polars pandas requests
    PYTHONPATH=. /tmp/ctrlib/bin/python scripts/bench_ctr_baselines.py --file bench_data/criteo_synthetic_1200000.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--file", type=Path, required=True, help="a DAC-format train file (scripts/bench_ctr.py writes one)"
    )
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--batch-size", type=int, default=4096)
    args = parser.parse_args()
    try:
        import torch
        from deepctr_torch.inputs import DenseFeat, SparseFeat
        from deepctr_torch.models import DCN
    except ImportError as exc:
        sys.exit(f"this benchmark needs deepctr-torch in its environment ({exc}); see the docstring")

    from framework.data.formats.criteo import read_criteo
    from framework.data.tabular.features import TabularEncoder
    from framework.data.tabular.table import split_sizes

    table = read_criteo(str(args.file), max_rows=args.rows)
    n_train = split_sizes(table.frame.height, [0.8, 0.1, 0.1])[0]
    encoder = TabularEncoder(min_count=10)
    spec = encoder.fit(table, n_train)
    encoded = encoder.transform(table).slice(0, n_train)

    sparse = [SparseFeat(f.name, vocabulary_size=f.cardinality, embedding_dim=16) for f in spec.categorical]
    dense = [DenseFeat(f.name, 1) for f in spec.numeric]
    model = DCN(sparse + dense, sparse + dense, cross_num=3, dnn_hidden_units=(256, 128), device="cpu")
    model.compile("adam", "binary_crossentropy")
    x = {f.name: encoded.categorical[:, i] for i, f in enumerate(spec.categorical)}
    x.update({f.name: encoded.numeric[:, i] for i, f in enumerate(spec.numeric)})
    start = time.perf_counter()
    model.fit(x, encoded.label, batch_size=args.batch_size, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    print(
        f"DeepCTR-Torch DCN: {n_train:,} training rows in {seconds:.1f} s = {n_train / seconds:,.0f} samples/s "
        f"({torch.get_num_threads()} threads)"
    )


if __name__ == "__main__":
    main()
