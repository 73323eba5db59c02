"""Settings for the whole test session (every test directory)."""

import os

# Two xdist workers share two cores and LightGBM trains on two OpenMP threads (TrainingConfig.threads):
# with OpenMP's default active wait policy, oversubscribed threads spin and a fit can take 50x longer.
# Set before any test module imports LightGBM; stage subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
