"""Hyperparameter sweeps: an Optuna study run by mlsd's own Hydra sweeper plugin (hydra_plugins/mlsd_sweeper).

space      search spaces in Hydra's sweep syntax, with conditions
plan       the sweep of one invocation, checked against the composed config
samplers   TPE / random / grid (seeded per trial) and median / Hyperband pruners
storage    SQLite by default, any database URL for distributed sweeps; retries with back-off
guard      the fixed config and search space a study was created with; refuses an invocation that differs
runner     the worker loop and the trial objective (a Hydra job in this process)
pruning    the Lightning callback that reports each validation to the trial
context    the running trial, handed from the sweeper to the job
report     best-trials table, summary.json, plots; best_config: the winner as an experiment preset
"""
