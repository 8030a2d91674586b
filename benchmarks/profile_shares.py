"""Where a process tree's time goes, from a py-spy recording: shares of frames, self and inclusive.

    .venv/bin/py-spy record --subprocesses --rate 250 --format raw -o /tmp/inline.txt -- \\
        .venv/bin/python benchmarks/webhook_load.py --scenarios inline-sqlite
    .venv/bin/python benchmarks/profile_shares.py /tmp/inline.txt --within handle_request

``--within TEXT`` keeps the stacks that contain ``TEXT`` (``handle_request``: gunicorn serving
a request; ``run_worker``: a queue worker) and gives each frame's share of them: ``self`` (the
top of the stack, grouped by package or file) and ``inclusive`` (anywhere on the stack, once
per stack). That is how docs/performance.md attributes a webhook request's time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LOCATION = re.compile(r"\((?P<file>[^()]*?):\d+\)$")


def shares(path: Path, within: str) -> tuple[int, Counter[str], Counter[str]]:
    """(samples kept, self samples by package, inclusive samples by frame)."""
    by_package: Counter[str] = Counter()
    by_frame: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if within not in stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += samples
        found = _LOCATION.search(frames[-1])
        top = found.group("file") if found else frames[-1]
        by_package[top.split("/")[0]] += samples
        for frame in dict.fromkeys(re.sub(r":\d+\)$", ")", f) for f in frames):
            by_frame[frame] += samples
    return total, by_package, by_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recording", type=Path, help="py-spy record --format raw output")
    parser.add_argument("--within", default="", help="keep stacks containing this text")
    parser.add_argument("--top", type=int, default=40, help="inclusive frames shown (40)")
    args = parser.parse_args()
    total, by_package, by_frame = shares(args.recording, args.within)
    if not total:
        raise SystemExit(f"no samples with {args.within!r} in {args.recording}")
    print(f"{total} samples")
    print("self, by package or file:")
    for name, samples in by_package.most_common(15):
        print(f"  {samples / total:6.1%}  {name}")
    print("inclusive, by frame:")
    for name, samples in by_frame.most_common(args.top):
        print(f"  {samples / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
