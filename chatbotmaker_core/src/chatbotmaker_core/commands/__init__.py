"""The ``chatbotmaker`` subcommands, one module per group; ``cli`` wires them into argparse.

Each module imports what it needs (SQLAlchemy, waitress, procrastinate) inside its commands, so
``chatbotmaker --help`` stays fast.
"""
