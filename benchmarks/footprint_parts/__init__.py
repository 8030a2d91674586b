"""The pieces of ``benchmarks/footprint.py``, the script that stays the entry point.

``worker`` is the memory worker (a process of its own: ``footprint.py --worker SPEC``),
``memory`` drives it per backend and judges the curve, ``startup`` times fresh processes and
``report`` prints the tables and the verdicts.
"""
