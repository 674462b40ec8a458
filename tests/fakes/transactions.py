"""`shared.db.Transactions` in memory, for every service's fake repository: like the real unit of work, a
transaction works on a copy of the state and replaces it only when the handler commits."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S")
R = TypeVar("R")


@dataclass
class FakeWork(Generic[R]):
    repo: R
    committed: bool = False

    def commit(self) -> None:
        self.committed = True


class CopyOnCommit(Generic[S, R]):
    """`Transactions[R]` over a state `S`: `state` is what has been committed so far, `commits` how often."""

    def __init__(self, state: S, repository: Callable[[S], R]) -> None:
        self.state = state
        self.commits = 0
        self._repository = repository

    def __call__(self) -> AbstractAsyncContextManager[FakeWork[R]]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[FakeWork[R]]:
        working = copy.deepcopy(self.state)
        work = FakeWork(self._repository(working))
        yield work
        if work.committed:
            self.state = working
            self.commits += 1
