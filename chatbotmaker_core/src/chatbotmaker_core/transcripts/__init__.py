"""Conversation tests (DESIGN §12): ``*.chat.yaml`` transcripts, their runner, the readable
diff of a failure, coverage against the graph, and recording a chat as a transcript."""

from __future__ import annotations

from .coverage import Coverage
from .diff import StepFailure
from .model import SUFFIX, ExpectedReply, Option, Step, Transcript, TranscriptError, load_transcript
from .project import find_transcripts, run_project, run_transcripts
from .runner import BotFactory, Runner, TranscriptResult, find_config

__all__ = [
    "SUFFIX",
    "BotFactory",
    "Coverage",
    "ExpectedReply",
    "Option",
    "Runner",
    "Step",
    "StepFailure",
    "Transcript",
    "TranscriptError",
    "TranscriptResult",
    "find_config",
    "find_transcripts",
    "load_transcript",
    "run_project",
    "run_transcripts",
]
