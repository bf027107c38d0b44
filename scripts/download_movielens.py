"""Download MovieLens 100K or 1M from GroupLens into a cache, check md5 and sha256, unpack.

    python scripts/download_movielens.py 100k            # -> ~/.cache/mlsd/datasets/ml-100k
    python scripts/download_movielens.py 1m --cache-dir /data
    python run.py case=video_recommendation dataset=movielens_100k dataset.path=<printed folder>

The run itself never downloads: it reads the folder given as dataset.path. Exit code 2 with a message
when the machine is offline or the archive does not match its published checksums.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from framework.data.download import ARCHIVES, fetch
from framework.errors import DataError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=list(ARCHIVES), help="which MovieLens archive")
    default_cache = Path(os.environ.get("MLSD_CACHE_DIR", "~/.cache/mlsd")) / "datasets"
    parser.add_argument("--cache-dir", default=str(default_cache), help=f"where to keep it (default {default_cache})")
    parser.add_argument("--url", help="a mirror of the official archive (checksums are still checked)")
    args = parser.parse_args()
    try:
        folder = fetch(args.name, args.cache_dir, args.url)
    except DataError as exc:
        print(f"data error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(folder)
    print(
        f"python run.py case=video_recommendation dataset=movielens_{args.name} dataset.path={folder}", file=sys.stderr
    )


if __name__ == "__main__":
    main()
