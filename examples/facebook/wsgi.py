"""The WSGI entry point for gunicorn: ``gunicorn --workers 4 --bind 0.0.0.0:8000 wsgi:app``.

Each worker imports this module after the fork and builds its own bot: its own database
engine and its own HTTP session to the Graph API. ``chatbotmaker serve`` is the single-process
alternative (waitress, threads).
"""

from pathlib import Path

from chatbotmaker_core import Bot
from chatbotmaker_core.web import create_app

app = create_app(Bot.from_config(Path(__file__).with_name("chatbotmaker.toml")))
