"""The harness: what every scenario shares (a work folder, PostgreSQL, the fake Graph API) and
running one scenario, from starting its servers to checking what they did.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from machine import machine

from devsupport.net import free_port
from devsupport.postgres import start_postgres
from load_bot.channels import build_mixed_lanes, build_mixed_warmup, check_channels, mixed_config
from load_bot.checks import check
from load_bot.client import Client
from load_bot.cpu import cpu_snapshot
from load_bot.graph_api import GraphApi
from load_bot.handwritten_db import create_schema
from load_bot.measure import measure
from load_bot.processes import BENCHMARKS, PYTHON, Processes, child_env, wait_healthy
from load_bot.scenarios import CONFIG_TEMPLATE, Load, Scenario
from load_bot.workload import build_lanes, build_warmup, events_of


class Harness:
    """What the scenarios share: a work folder, the processes, PostgreSQL, the Graph API.

    ``with Harness(postgres=True) as harness: result = harness.run(scenario, load)``
    """

    def __init__(self, *, postgres: bool = True, keep: bool = False, verbose: bool = True) -> None:
        self.want_postgres = postgres
        self.keep = keep
        self.verbose = verbose
        self.workdir = Path(tempfile.mkdtemp(prefix="webhook-load-"))
        self.processes = Processes(self.workdir)
        self.postgres: Any = None
        self.graph: GraphApi | None = None
        self.secrets = {
            "FACEBOOK_PAGE_TOKEN": "load-" + secrets.token_hex(16),
            "FACEBOOK_APP_SECRET": secrets.token_hex(16),
            "FACEBOOK_VERIFY_TOKEN": secrets.token_hex(8),
            "WHATSAPP_TOKEN": "load-" + secrets.token_hex(16),  # two-channel scenarios
        }

    def __enter__(self) -> Harness:
        try:
            if self.want_postgres:
                self.say("starting PostgreSQL ...")
                self.postgres = start_postgres()
            self.graph = GraphApi(self.processes)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.graph is not None:
            self.graph.close()
        self.processes.stop_all()
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def say(self, text: str) -> None:
        if self.verbose:
            print(text, flush=True)

    def machine(self) -> dict[str, Any]:
        """:func:`machine.machine`, with the serving stack's versions and PostgreSQL's."""
        info = machine(("gunicorn", "flask", "sqlalchemy", "psycopg", "procrastinate", "requests"))
        if self.postgres is not None:
            from sqlalchemy import create_engine, text
            from sqlalchemy.pool import NullPool

            engine = create_engine(self.postgres.url, poolclass=NullPool)
            with engine.connect() as conn:
                info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
            engine.dispose()
        return info

    # -- running a scenario -----------------------------------------------------------------

    def run(self, scenario: Scenario, load: Load, round_: int = 1) -> dict[str, Any]:
        """Start the scenario's servers, send the load, check, stop them; the result.
        A later ``round_`` of a scenario gets databases, configs and logs of its own."""
        assert self.graph is not None
        graph = self.graph
        tag = scenario.name.replace("-", "_") + ("" if round_ == 1 else f"_r{round_}")
        secret = self.secrets["FACEBOOK_APP_SECRET"]
        started = time.monotonic()
        deadline = started + load.scenario_timeout + 60.0  # + start-up and warm-up
        result: dict[str, Any] = {"scenario": scenario.name, "setup": asdict(scenario)}
        problems: list[str] = []
        mark = graph.mark()
        phases: dict[str, float] = {}  # seconds each step took, to see where the time goes
        lap = [started]

        def phase(name: str) -> None:
            now = time.monotonic()
            phases[name] = round(now - lap[0], 2)
            lap[0] = now

        # a two-channel scenario builds, configures and checks with load_bot/channels.py
        lanes_of, warmup_of, checker = build_lanes, build_warmup, check
        if scenario.mixed:
            lanes_of, warmup_of, checker = build_mixed_lanes, build_mixed_warmup, check_channels
        own: list[subprocess.Popen[bytes]] = []
        database_url: str | None = None
        config: Path | None = None
        try:
            env = child_env(**self.secrets)
            if scenario.mode == "bare":
                app = "load_bot.bare_app:app"
            elif scenario.mode == "handwritten":  # its own tables, configured by environment
                database_url = self._database(scenario, tag)
                create_schema(database_url)
                env["HANDWRITTEN_DATABASE_URL"] = database_url
                env["HANDWRITTEN_GRAPH_URL"] = graph.url
                phase("database")
                app = "load_bot.handwritten_app:app"
            else:
                database_url = self._database(scenario, tag)
                config = self.workdir / f"{tag}.toml"
                config.write_text(
                    (mixed_config if scenario.mixed else CONFIG_TEMPLATE.format)(
                        scenario=scenario.name,
                        mode=scenario.mode,
                        graph_url=graph.url,
                        turn_action=load.turn_action,
                        database_url=database_url,
                        worker_concurrency=scenario.worker_concurrency,
                    )
                )
                env["CHATBOTMAKER_CONFIG"] = str(config)
                self._init_db(config, env)
                phase("database")
                app = "chatbotmaker_core.web:app_from_env()"
            port = free_port()
            web = self.processes.start(
                f"{tag}-gunicorn",
                [
                    PYTHON, "-m", "gunicorn",
                    "--bind", f"127.0.0.1:{port}",
                    "--workers", str(scenario.web_workers),
                    "--worker-class", scenario.web_worker_class,
                    "--timeout", "60",
                    "--graceful-timeout", "5",
                    "--log-level", "warning",
                    *scenario.gunicorn_args,
                    app,
                ],
                env,
            )  # fmt: skip
            own.append(web)
            workers = []  # they boot while gunicorn does; the warm-up waits for both
            for i in range(scenario.queue_workers):
                worker = self.processes.start(
                    f"{tag}-worker{i + 1}",
                    [PYTHON, "-m", "chatbotmaker_core.cli", "worker", str(config)],  # type: ignore
                    env,
                )
                own.append(worker)
                workers.append(worker)
            wait_healthy(port, web, time.monotonic() + 60)
            phase("servers")

            client = Client(port, load)
            # Warm-up: every gunicorn worker and queue worker has loaded the bot, opened its
            # pools and its connection to the Graph API before the clock starts.
            warmup = warmup_of(load, tag, secret)
            warm_events = events_of(warmup)
            if scenario.expects_replies:
                graph.expect(warm_events)
            client.run(warmup, deadline)
            if scenario.expects_replies and not graph.wait(time.monotonic() + 60):
                problems.append("warm-up: not every reply arrived within 60 s")
            graph.forget()
            phase("warmup")

            lanes = lanes_of(load, tag, secret)
            events = events_of(lanes)
            bodies = [b for lane in lanes for b in lane]
            if scenario.expects_replies:
                graph.expect(events)
            roots = {
                "gunicorn": [web.pid],
                "workers": [w.pid for w in workers],
                "postgres": [self._postmaster()] if scenario.needs_postgres else [],
                "graph": [graph.process.pid],
            }
            cpu_before = cpu_snapshot(roots)
            t0 = time.monotonic()
            self.say(
                f"  {scenario.name}: {len(events)} events in {len(bodies)} bodies "
                f"from {len(lanes)} lanes ..."
            )
            run_deadline = t0 + load.scenario_timeout
            client.run(lanes, run_deadline, load.rate)
            posted = time.monotonic()
            complete = True
            if scenario.expects_replies:
                complete = graph.wait(run_deadline)
                if not complete:
                    problems.append(
                        f"timed out after {load.scenario_timeout:.0f} s waiting for replies"
                    )
            t1 = time.monotonic()
            cpu_after = cpu_snapshot(roots)
            phase("load")
            graph.forget()
            if scenario.mode == "queued":
                idle = _wait_queue_idle(database_url, time.monotonic() + 30)
                if not idle:
                    problems.append("the queue still had todo/doing jobs 30 s after the run")
            time.sleep(0.3)  # a late duplicate delivery still reaches the record
            for process in own:
                if process.poll() is not None:
                    name = next((n for n, p in self.processes.running if p is process), "?")
                    problems.append(f"{name} exited early, status {process.returncode}")
            self.processes.stop(*workers)  # they finish their running jobs first
            self.processes.stop(web)
            records = graph.since(mark)
            phase("drain_and_stop")

            result.update(
                measure(scenario, events, bodies, t0, posted, t1, complete, cpu_before, cpu_after)
            )
            if scenario.expects_replies:
                result.update(
                    checker(
                        scenario,
                        database_url,
                        warm_events + events,
                        [b for lane in warmup for b in lane] + bodies,
                        records,
                        problems,
                    )
                )
            else:
                failed = [b for b in bodies if b.done is None or b.status != 200]
                if failed:
                    problems.append(f"{len(failed)} bodies did not get a 200")
                result.update(exactly_once=None, order_ok=None, duplicate_replies=None)
        except Exception as error:  # noqa: BLE001 - reported as the scenario's failure
            problems.append(f"{type(error).__name__}: {error}")
            result.setdefault("exactly_once", False)
            result.setdefault("order_ok", False)
        finally:
            self.processes.stop(*own)
        result["log_errors"] = self._log_errors(tag)
        if problems:
            self.keep = True  # the logs explain it
            for name in sorted(p.stem for p in self.workdir.glob(f"{tag}-*.log")):
                tail = self.processes.log_tail(name, 15)
                if tail:
                    problems.append(f"--- {self.workdir / name}.log ---\n{tail}")
        result["problems"] = problems
        result["ok"] = not problems
        result["seconds"] = round(time.monotonic() - started, 1)
        phase("check")
        result["phases"] = phases
        return result

    def _log_errors(self, tag: str) -> list[str]:
        """Error lines the scenario's servers logged (reported even when every check passed:
        a retried delivery or a restarted worker shows up here)."""
        found = []
        for path in sorted(self.workdir.glob(f"{tag}-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if "ERROR" in line or line.startswith("Traceback") or "Error:" in line:
                    found.append(f"{path.stem}: {line.strip()[:200]}")
        return found[:20]

    def _database(self, scenario: Scenario, tag: str) -> str:
        if scenario.database == "sqlite":
            return f"sqlite:///{self.workdir / (tag + '.db')}"
        if self.postgres is None:
            raise RuntimeError(f"{scenario.name} needs PostgreSQL")
        name = f"load_{tag}"
        self.postgres.drop_database(name)
        return self.postgres.create_database(name)

    def _init_db(self, config: Path, env: dict[str, str]) -> None:
        done = subprocess.run(
            [PYTHON, "-m", "chatbotmaker_core.cli", "init-db", str(config)],
            cwd=BENCHMARKS,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"chatbotmaker init-db failed:\n{done.stdout}{done.stderr}")

    def _postmaster(self) -> int:
        pid_file = Path(self.postgres.root) / "data" / "postmaster.pid"
        return int(pid_file.read_text().split()[0])


def _wait_queue_idle(url: str | None, deadline: float) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        while True:
            with engine.connect() as conn:
                busy = conn.execute(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                    )
                ).scalar()
            if not busy:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
    finally:
        engine.dispose()
