"""Each repository `Protocol` checked against both its implementations, by mypy (`make test`), never run.

A handler is written against its service's `Protocol`; unit tests hand it the in-memory fake, production the
Postgres repository. Each function below says "this class is that Protocol": when a method is added to a
Protocol and not to the fake (or its signature drifts), mypy fails here, naming the member, instead of a test
failing later with an `AttributeError`. A new service's fake gets its line here.
"""

from __future__ import annotations

from services.channels.repository import ChannelsRepository, PostgresChannelsRepository
from services.console.repository import ConsoleRepository, PostgresConsoleRepository
from services.dispatch.repository import DispatchRepository, PostgresDispatchRepository
from services.followup.repository import FollowupRepository, PostgresFollowupRepository
from services.followup.repository.contact_reads import ContactReadLog, PostgresContactReadLog
from services.intake.repository import IntakeRepository, PostgresIntakeRepository
from services.notify.repository import NotifyRepository, PostgresNotifyRepository
from services.reporting.repository import ProjectionStore, ReadModels, ReportQueries
from services.reporting.repository.access_log import PostgresReadAccessLog, ReadAccessLog
from shared.db import Transactions
from shared.handling import HandlingRepository
from tests.fakes.channels import FakeChannelsRepository
from tests.fakes.channels import FakeTransactions as ChannelsTransactions
from tests.fakes.dispatch import FakeDispatchRepository
from tests.fakes.dispatch import FakeTransactions as DispatchTransactions
from tests.fakes.followup import FakeFollowupRepository
from tests.fakes.followup import FakeTransactions as FollowupTransactions
from tests.fakes.followup_contact_reads import InMemoryContactReadLog
from tests.fakes.intake import FakeIntakeRepository
from tests.fakes.intake import FakeTransactions as IntakeTransactions
from tests.fakes.reporting import InMemoryReadModels, InMemoryTransactions
from tests.fakes.reporting_access import InMemoryReadAccessLog

# The fakes, and the in-memory `Transactions` that hand them out.


def _dispatch_fake(repo: FakeDispatchRepository) -> DispatchRepository:
    return repo


def _dispatch_transactions(transactions: DispatchTransactions) -> Transactions[DispatchRepository]:
    return transactions


def _followup_fake(repo: FakeFollowupRepository) -> FollowupRepository:
    return repo


def _followup_transactions(transactions: FollowupTransactions) -> Transactions[FollowupRepository]:
    return transactions


def _followup_contact_reads_fake(repo: InMemoryContactReadLog) -> ContactReadLog:
    return repo


def _followup_contact_reads_postgres(repo: PostgresContactReadLog) -> ContactReadLog:
    return repo


def _reporting_fake(repo: InMemoryReadModels) -> ProjectionStore:
    return repo


def _reporting_transactions(transactions: InMemoryTransactions) -> Transactions[ProjectionStore]:
    return transactions


def _reporting_access_fake(repo: InMemoryReadAccessLog) -> ReadAccessLog:
    return repo


def _reporting_access_postgres(repo: PostgresReadAccessLog) -> ReadAccessLog:
    return repo


def _intake_fake(repo: FakeIntakeRepository) -> IntakeRepository:
    return repo


def _intake_transactions(transactions: IntakeTransactions) -> Transactions[IntakeRepository]:
    return transactions


def _channels_fake(repo: FakeChannelsRepository) -> ChannelsRepository:
    return repo


def _channels_transactions(transactions: ChannelsTransactions) -> Transactions[ChannelsRepository]:
    return transactions


# What the door (`shared.handling.Door`) needs of every repository: dedupe marks and the outbox.


def _doors(
    dispatch: DispatchRepository,
    followup: FollowupRepository,
    intake: IntakeRepository,
    notify: NotifyRepository,
    console: ConsoleRepository,
    reporting: ProjectionStore,
    channels: ChannelsRepository,
) -> list[HandlingRepository]:
    return [dispatch, followup, intake, notify, console, reporting, channels]


# The Postgres repositories: the Protocol is what production offers, not only what the fake offers.


def _dispatch_postgres(repo: PostgresDispatchRepository) -> DispatchRepository:
    return repo


def _followup_postgres(repo: PostgresFollowupRepository) -> FollowupRepository:
    return repo


def _reporting_projections(repo: ReadModels) -> ProjectionStore:
    return repo


def _reporting_queries(repo: ReadModels) -> ReportQueries:
    return repo


def _intake_postgres(repo: PostgresIntakeRepository) -> IntakeRepository:
    return repo


def _notify_postgres(repo: PostgresNotifyRepository) -> NotifyRepository:
    return repo


def _channels_postgres(repo: PostgresChannelsRepository) -> ChannelsRepository:
    return repo


def _console_postgres(repo: PostgresConsoleRepository) -> ConsoleRepository:
    return repo
