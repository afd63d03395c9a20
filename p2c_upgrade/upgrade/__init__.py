"""The upgrade: the runner, the ledger (runs, steps, journal), status, and the steps in order."""
