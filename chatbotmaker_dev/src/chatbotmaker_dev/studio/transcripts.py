"""Conversations as tests: "save as transcript" and "run tests" (DESIGN §12).

Saving writes the ``*.chat.yaml`` format itself (name, config, user, steps of say / expect /
state). Running is the transcripts runner's job: :func:`run_project_transcripts` turns
``chatbotmaker_core.transcripts.run_project`` (what ``chatbotmaker test`` runs) into JSON.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from chatbotmaker_core.errors import ConfigError
from chatbotmaker_core.transcripts import SUFFIX, TranscriptResult, run_project

from .chat import Step

_UNSAFE = re.compile(r"[^a-z0-9]+")


def file_name(name: str) -> str:
    """``orders a large pizza`` -> ``orders-a-large-pizza.chat.yaml``: only letters, digits
    and dashes, so no name from the browser can point anywhere but the config's folder."""
    slug = _UNSAFE.sub("-", name.lower()).strip("-")[:80]
    if not slug:
        raise ConfigError("a transcript needs a name with at least one letter or digit")
    return slug + SUFFIX


def transcript_document(name: str, user: str, steps: list[Step], config: str) -> CommentedMap:
    document = CommentedMap()
    document["name"] = name
    document["config"] = config
    document["user"] = user
    items = CommentedSeq()
    for step in steps:
        item = CommentedMap()
        item["say"] = step.say
        expect = CommentedSeq()
        for reply in step.replies:
            options = {
                key: [o["title"] for o in reply[key]]
                for key in ("quick_replies", "buttons")
                if reply[key]
            }
            if options:
                entry = CommentedMap(text=reply["text"])
                for key, titles in options.items():
                    sequence = CommentedSeq(titles)
                    sequence.fa.set_flow_style()
                    entry[key] = sequence
                expect.append(entry)
            else:
                expect.append(reply["text"])
        if not expect:
            expect.fa.set_flow_style()
        item["expect"] = expect
        if step.state is not None:
            item["state"] = step.state
        items.append(item)
    document["steps"] = items
    return document


def save_transcript(
    folder: Path, config_path: Path, name: str, user: str, steps: list[Step]
) -> Path:
    """Write the conversation as ``<folder>/<slug>.chat.yaml``; an existing file is kept."""
    if not steps:
        raise ConfigError("the conversation is empty: say something to the bot first")
    path = folder / file_name(name)
    if path.exists():
        raise ConfigError(f"{path.name} already exists; choose another name")
    config = os.path.relpath(config_path, folder).replace(os.sep, "/")
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    with path.open("x", encoding="utf-8") as file:
        yaml.dump(transcript_document(name, user, steps, config), file)
    return path


def run_project_transcripts(config_path: str | Path) -> list[dict[str, Any]]:
    """Every transcript of the project, run as ``chatbotmaker test`` runs them:
    ``[{"name", "file", "passed", "steps", "diff"}]``; ``diff`` is the failing step's
    readable diff, or why the transcript could not be run at all."""
    folder = Path(config_path).parent
    return [
        {
            "name": result.name,
            "file": os.path.relpath(result.path, folder).replace(os.sep, "/"),
            "passed": result.passed,
            "steps": result.steps_run,
            "diff": _diff(result),
        }
        for result in run_project(config_path)
    ]


def _diff(result: TranscriptResult) -> str:
    if result.error is not None:
        return result.error
    return result.failure.render() if result.failure is not None else ""
