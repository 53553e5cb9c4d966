"""Benchmarks: ``python -m fast_langgraph.bench <case>``. Every figure is a side-by-side ratio
against the exact thing replaced, measured in the same run."""
