"""Helpers of the benchmark driver (run_bench.py): servers, the load generator, the measurements
and the report. Python 3 standard library only (matplotlib for the plot)."""
