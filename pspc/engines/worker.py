"""Engines in a second process, so that `pspc eval --engine all` on a large dump uses a
second core: the Rego engines (regorus holds the interpreter lock while it evaluates, so a
thread would not run beside Python) take batches of requests from this process and send
back their verdicts, while this process runs the other engines on the same batch.

The worker is forked once the engines are built, so it inherits them (regorus and CEL
programs cannot be pickled); where the platform cannot fork, the engines run here.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import queue
import signal
import threading
from collections.abc import Sequence

from pspc.engines import Engine, Verdict
from pspc.workloads import PodRequest


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class EngineWorker:
    """`engines` evaluated in a forked process, batch by batch, in the order submitted.

    A thread here receives the verdicts as soon as they are sent, so the worker never waits
    for this process to read them, and this process may submit the next batch before it
    collects the last: the worker is never idle while this process works.
    """

    def __init__(self, engines: Sequence[Engine]) -> None:
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, daemon=True,
                                       args=(child, self.connection, list(engines)))
        self.process.start()
        child.close()
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self.receiver = threading.Thread(target=self._receive, daemon=True)
        self.receiver.start()

    def _receive(self) -> None:
        while True:
            try:
                answer = self.connection.recv()
            except (EOFError, OSError):
                self.answers.put(EOFError("the engine worker ended"))
                return
            self.answers.put(answer)

    def submit(self, requests: list[PodRequest]) -> None:
        self.connection.send(requests)

    def verdicts(self) -> list[dict[str, Verdict]]:
        """The verdicts for the oldest batch not yet collected, by engine name, request by
        request."""
        answer = self.answers.get()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a worker that ended already
            self.connection.send(None)  # the end of the input: the worker exits
        self.process.join()
        self.receiver.join()
        self.connection.close()


def _serve(connection, parent_end, engines: list[Engine]) -> None:
    parent_end.close()
    # the parent handles Ctrl-C and ends the worker; the inherited objects are never
    # collected here, so the collector need not walk (and copy) the parent's pages
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    while True:
        try:
            requests = connection.recv()
        except EOFError:  # the parent is gone
            return
        if requests is None:
            return
        try:
            answer = [{engine.name: engine.evaluate(request) for engine in engines}
                      for request in requests]
        except Exception as exc:  # the parent raises it, as it would have in one process
            answer = exc
        connection.send(answer)
