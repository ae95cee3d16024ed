"""The performance harness: every figure is a ratio measured in the same run."""
