"""mlsd's Optuna sweeper for Hydra (hydra/sweeper=mlsd): see framework.sweeps."""
