"""Benchmarks of issue 5: each ``p*.py`` prints its figures as ratios measured in one run."""
