"""The web stack's ceiling: a Flask app that reads the webhook's body and answers 200.

Served by the same gunicorn command as the bot (``gunicorn 'load_bot.bare_app:app'``), so the
difference between the two is what chatbotmaker does per request.
"""

from __future__ import annotations

from flask import Flask, Response, request

app = Flask("bare")


@app.post("/webhook")
def webhook() -> Response:
    request.get_data()
    return Response("EVENT_RECEIVED", status=200, mimetype="text/plain")


@app.get("/healthz")
def healthz() -> Response:
    return Response('{"status": "ok"}', status=200, mimetype="application/json")
