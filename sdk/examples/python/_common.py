"""What every Python sample shares: arguments, a worker + client pair, the result line.

A sample's contract (tests/samples checks it): it connects to a running taskhubd
(`--address HOST:PORT`, default $TASKHUB_ADDRESS or localhost:4001), starts its own worker
(the real `durabletask` SDK) and client, prints progress lines and then exactly one
`RESULT: <json>` line, and exits 0 only when the result checks out (1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from durabletask import client as dtclient
from durabletask import worker as dtworker


def parse_args(description: str, add: Callable[[argparse.ArgumentParser], None] | None = None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--address", default=os.environ.get("TASKHUB_ADDRESS", "localhost:4001"),
                   help="taskhubd's gRPC address (default: $TASKHUB_ADDRESS or localhost:4001)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for the orchestrations to finish")
    if add:
        add(p)
    return p.parse_args()


def new_id(prefix: str) -> str:
    """A fresh instance id (or entity key): samples can run any number of times."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _quiet_logger(name: str, level: int = logging.WARNING) -> logging.Logger:
    log = logging.getLogger(f"sample.{name}")
    if not log.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter(f"[{name}] %(levelname)s %(message)s"))
        log.addHandler(h)
        log.setLevel(level)
        log.propagate = False
    return log


@contextmanager
def worker_and_client(address: str, *, orchestrators: Iterable[Callable] = (),
                      activities: Iterable[Callable] = (),
                      entities: Iterable[Any] = ()) -> Iterator[dtclient.TaskHubGrpcClient]:
    """Starts a worker registering the given functions and yields a client; both stopped after."""
    # Errors only: the worker logs a warning about its own stream when stopped.
    worker = dtworker.TaskHubGrpcWorker(host_address=address,
                                        logger=_quiet_logger("worker", logging.ERROR))
    for fn in orchestrators:
        worker.add_orchestrator(fn)
    for fn in activities:
        worker.add_activity(fn)
    for e in entities:
        worker.add_entity(e)
    worker.start()
    client = dtclient.TaskHubGrpcClient(host_address=address, logger=_quiet_logger("client"))
    try:
        yield client
    finally:
        worker.stop()
        client.close()


def run_to_completion(client: dtclient.TaskHubGrpcClient, orchestrator, input: Any = None, *,
                      instance_id: str | None = None, timeout: float = 60.0) -> Any:
    """Schedules an orchestration, waits for it, returns its output; raises if it did not
    complete successfully."""
    iid = client.schedule_new_orchestration(orchestrator, input=input,
                                            instance_id=instance_id or new_id("sample"))
    print(f"started {iid}", flush=True)
    return wait_output(client, iid, timeout)


def wait_output(client: dtclient.TaskHubGrpcClient, iid: str, timeout: float) -> Any:
    st = client.wait_for_orchestration_completion(iid, timeout=int(timeout))
    if st is None:
        raise RuntimeError(f"{iid}: no such instance")
    if st.runtime_status != dtclient.OrchestrationStatus.COMPLETED:
        raise RuntimeError(f"{iid} ended {st.runtime_status.name}: {st.failure_details}")
    return st.get_output()


def finish(result: Any, expected: Any = None, *, ok: bool | None = None) -> int:
    """Prints the RESULT line; returns the exit code (0 when result == expected, or ok)."""
    print("RESULT: " + json.dumps(result, sort_keys=True), flush=True)
    good = ok if ok is not None else result == expected
    if not good:
        print(f"CHECK FAILED: expected {json.dumps(expected, sort_keys=True)}", file=sys.stderr)
        return 1
    return 0


def main(body: Callable[[], int]) -> None:
    """Runs a sample's body: its exit code, or 1 (with the reason) if it raised."""
    try:
        code = body()
    except Exception as e:  # the sample's one place that turns any error into exit 1
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        code = 1
    sys.exit(code)
