"""Benchmarks of the bot at scale; run them with `.venv/bin/python -m bench` (not under pytest).

Each benchmark is a module with `run(ctx) -> Report`; `bench/RESULTS.md` holds the last full run.
"""
