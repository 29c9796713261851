"""Benchmark scripts that print their figures (not tests): `python -m bench.scheduler_bench`."""
