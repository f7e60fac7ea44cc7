"""wstail's benchmark: `bench/run` (python -m bench); see bench/README.md.

Importing any module of this package does nothing but define things: the
signal handlers, atexit hook, directories and processes come from
bench.runner.main().
"""
