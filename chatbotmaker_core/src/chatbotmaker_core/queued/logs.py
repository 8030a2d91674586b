"""Keep message texts (personal data) out of procrastinate's INFO and ERROR log records.

procrastinate writes each job's arguments into its messages ("Starting job
chatbotmaker.turn[7](message={'text': ...})") and into the records' ``job`` / ``jobs`` extras.
A turn's arguments are a user's message and a delivery's are the bot's replies, so at INFO and
above a job is named by task and id only; DEBUG keeps the full record for a developer.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: procrastinate's loggers that write job arguments: deferring (the webhook side), and the
#: worker's module logger and its child named after the worker ("worker", our default)
LOGGERS = ("procrastinate.jobs", "procrastinate.worker", "procrastinate.worker.worker")


#: the start of a job's call string, ``task.name[id](``
_CALL = re.compile(r"[\w.]+\[\d+\]\(")


def strip_arguments(text: str) -> str:
    """``... chatbotmaker.turn[7](message={...}) ...`` -> ``... chatbotmaker.turn[7] ...``.

    The arguments are the ``repr`` of a dict: the closing parenthesis is found by depth,
    skipping quoted strings (a user's text may hold any parenthesis or quote).
    """
    out, position = [], 0
    for match in _CALL.finditer(text):
        if match.start() < position:
            continue
        end = _closing(text, match.end())
        out.append(text[position : match.end() - 1])
        position = end
    out.append(text[position:])
    return "".join(out)


def _closing(text: str, start: int) -> int:
    """The index after the parenthesis closing the one before ``start`` (or the text's end)."""
    depth, quote, index = 1, "", start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(text)


class HideJobArguments(logging.Filter):
    """Rewrites ``task[id](arguments)`` as ``task[id]`` in records of INFO and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        message = record.getMessage()
        if _CALL.search(message):
            record.msg, record.args = strip_arguments(message), None
        job = getattr(record, "job", None)
        if isinstance(job, dict):
            record.job = self._hide(record, job)
        jobs = getattr(record, "jobs", None)
        if isinstance(jobs, list):
            record.jobs = [self._hide(record, j) if isinstance(j, dict) else j for j in jobs]
        return True

    @staticmethod
    def _hide(record: logging.LogRecord, job: dict[str, Any]) -> dict[str, Any]:
        short = f"{job.get('task_name')}[{job.get('id')}]"
        return {**job, "call_string": short, "task_kwargs": "(hidden)"}


def hide_job_arguments() -> None:
    """Install the filter on procrastinate's loggers, once per process.

    A logger's filters see only the records logged on that logger, not its children's.
    """
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HideJobArguments) for f in logger.filters):
            logger.addFilter(HideJobArguments())
