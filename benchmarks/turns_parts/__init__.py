"""The driver side of ``benchmarks/turns.py``, the script that stays the entry point.

``workers`` starts the contenders' worker processes (``benchmarks/contenders/``, the worker
side) and the 0.0.13 virtualenv, ``rounds`` sets up their databases and runs the alternated
rounds, ``report`` turns the rounds into ratios, verdicts and tables.
"""
