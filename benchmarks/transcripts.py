"""Milliseconds per step of a transcript run (DESIGN §12: under 20 ms), against the same
messages handed to ``Bot.handle`` directly in the same run (the ratio is the runner's cost).

    .venv/bin/python benchmarks/transcripts.py [--steps 300] [--runs 5]

The transcript is the pizza example's conversation repeated: fresh throwaway database and
harness per run, as ``chatbotmaker test`` does (the rules are built once per config).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from chatbotmaker_core import Bot, Message
from chatbotmaker_core.messenger import NullMessenger
from chatbotmaker_core.transcripts import Runner, load_transcript

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "pizza" / "chatbotmaker.toml"
ROUND = ["hi", "order", "large", "olives", "yes", "history", "help", "back"]


def transcript_text(steps: int) -> str:
    """``steps`` steps, each with its expected replies and state (as ``--record`` writes)."""
    lines = [f"name: benchmark\nconfig: {CONFIG}\nsteps:"]
    for i in range(steps):
        lines.append(f"  - say: {ROUND[i % len(ROUND)] if i else 'hi'}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.chat.yaml"
        path.write_text(transcript_text(args.steps))
        runner = Runner()
        runner.run_file(path)  # warm-up: builds the rules, imports everything
        transcript_ms, direct_ms = [], []
        for run in range(args.runs):
            started = time.perf_counter()
            result = runner.run_file(path)  # parsing included
            transcript_ms.append((time.perf_counter() - started) * 1000 / args.steps)
            assert result.passed, result.failure and result.failure.render()
            factory = runner.factories[CONFIG.resolve()]
            database = factory.harness().database  # same database plugin, fresh file
            bot = Bot(factory.bot_options, NullMessenger(), factory.dispatcher, database)
            texts = [s.say for s in load_transcript(path).steps]
            started = time.perf_counter()
            for i, text in enumerate(texts):
                bot.handle(Message(user_id="tester", text=text, message_id=f"d{run}-{i}"))
            direct_ms.append((time.perf_counter() - started) * 1000 / args.steps)
            database.dispose()
    transcript, direct = statistics.median(transcript_ms), statistics.median(direct_ms)
    runs = f"median of {args.runs} runs of {args.steps} steps"
    print(f"transcript run: {transcript:.2f} ms per step ({runs})")
    print(f"Bot.handle directly: {direct:.2f} ms per step")
    verdict = "ok" if transcript < 20 else "MISSED"
    print(f"ratio: {transcript / direct:.2f}x; target < 20 ms per step: {verdict}")


if __name__ == "__main__":
    main()
