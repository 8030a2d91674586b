"""What ``benchmarks/webhook_load.py`` runs and what it is made of.

Run by it: the counter bot (``rules``), a bare Flask app (``bare_app``), the hand-written
contender (``handwritten_app`` on ``handwritten_db``), the fake Graph API (``graph_server``).
Its parts: what to run (``scenarios``), what is sent (``workload``) and who posts it
(``client``), the processes it starts (``processes``, ``graph_api``) and their CPU (``cpu``),
running a scenario (``harness``), then ``measure``, ``checks`` and ``report``.
"""
