"""The load test's HTTP client: it posts the lanes' bodies to the webhook and retries as Meta
would, recording when each body was sent and answered.
"""

from __future__ import annotations

import http.client
import threading
import time

from load_bot.scenarios import Load
from load_bot.workload import Body


class Client:
    """Posts the lanes' bodies, one thread per lane, each on its own HTTP connection."""

    def __init__(self, port: int, load: Load) -> None:
        self.port = port
        self.load = load

    def run(self, lanes: list[list[Body]], deadline: float, rate: float = 0.0) -> None:
        """Post every lane's bodies; with ``rate`` (events/s in all), each lane is paced in
        proportion to its share of the events, so that all lanes end together."""
        total = sum(len(b.events) for lane in lanes for b in lane)
        start = time.monotonic()
        threads = []
        for lane in lanes:
            share = sum(len(b.events) for b in lane) / total if total else 0.0
            args = (lane, start, rate * share, deadline)
            threads.append(threading.Thread(target=self._lane, args=args, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # short joins: Ctrl-C stays responsive
                thread.join(0.2)

    def _lane(self, lane: list[Body], start: float, rate: float, deadline: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.load.post_timeout)
        offered = 0
        try:
            for body in lane:
                if time.monotonic() > deadline:
                    return  # unsent bodies have started = None: reported
                if rate:
                    due = start + offered / rate
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    offered += len(body.events)
                self.post(conn, body)
        except Exception as error:  # noqa: BLE001 - reported with the scenario
            body.error = f"client: {type(error).__name__}: {error}"
        finally:
            conn.close()

    def post(self, conn: http.client.HTTPConnection, body: Body) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": body.signature,
            "User-Agent": "facebookexternalua",
        }
        pause = 0.1
        while True:
            body.attempts += 1
            now = time.monotonic()
            if body.started is None:
                body.started = now
                if not body.redelivery:
                    for event in body.events:
                        event.sent_at = now
            status: int | None = None
            try:
                conn.request("POST", body.path, body=body.raw, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                body.error = f"{type(error).__name__}: {error}"
            body.status = status
            if status is not None and status < 500:
                body.done = time.monotonic()
                return
            if body.attempts >= self.load.post_attempts:
                return
            time.sleep(pause)  # Meta retries a failed delivery, later
            pause = min(pause * 2, 2.0)
