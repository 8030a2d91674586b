"""What ``benchmarks/webhook_load.py`` runs: the counter bot, a bare Flask app, the Graph API."""
