"""Benchmark contenders: each module is a worker process driven by ``benchmarks/turns.py``.

A worker reads one JSON command per line on stdin and answers one JSON line on stdout (see
:mod:`contenders.protocol`). Workers import only the standard library and the library they
measure, so a contender can run in its own virtualenv (0.0.13 does).
"""
