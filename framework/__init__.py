"""mlsd: declarative, config-driven experiments for machine-learning system design.

Keep this package's import light: `python run.py --help` and config errors must answer before
torch, Lightning or polars are imported. Heavy imports live inside the functions that need them.
"""

__version__ = "0.1.0"
