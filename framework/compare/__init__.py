"""Comparing design choices across runs: what `scripts/compare.py` runs.

Where `framework.tracking` is about one run (it writes run.json, feeds the loggers, prints the run's
console summary and fills its W&B summary), this package reads many finished runs back and asks which
choice wins. `runs` reads run.json files (or, through `wandb_source`, W&B runs) into one polars table
and finds the config keys the runs vary; `case_comparison` summarises one case of that table per choice
(mean ± std over seeds, the paired difference to a baseline from `stats`, the Pareto front); `build`
turns records into one such comparison per case; `report` renders them as terminal tables, Markdown,
HTML, runs.csv and summary.json, with the figures drawn by `plots`.
"""
