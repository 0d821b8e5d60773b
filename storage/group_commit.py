"""Group commit: dialog steps that arrive while a commit is in flight share the next one.

Each step is still committed before its caller returns, and each succeeds or
fails on its own (a savepoint each); only the transaction, the hop to the
database thread and the commit are shared. Under load that is most of the
cost of a step; with one person at a time every step is a batch of one.
"""

from __future__ import annotations

import asyncio
import logging

from storage.errors import StorageError
from storage.sessions import SessionRepo, StepWrite

log = logging.getLogger(__name__)

MAX_BATCH = 64


class GroupCommit:
    def __init__(self, sessions: SessionRepo) -> None:
        self._sessions = sessions
        self._pending: list[tuple[StepWrite, asyncio.Future[int]]] = []
        self._draining = False

    async def save(self, write: StepWrite) -> int:
        """Commit the step (with whatever else is waiting); its new revision, or its error."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    results = await self._sessions.save_steps([write for write, _ in batch])
                except BaseException as error:  # the transaction itself failed: all of it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if isinstance(error, asyncio.CancelledError):
                        raise
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue  # its caller was cancelled; the step is committed regardless
                    if isinstance(result, StorageError):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._draining = False
