"""What every hookgate package shares: typed config, ids, durations and logging."""
