"""One server of a pool run: what the run knows of it (``ServerState``) and whether it can run
the work (``fitness_plan``: the checks of ``ivkgen check``, the uploads it needs, its enqueue
body)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ivkgen.runtime._errors import NotFoundError
from ivkgen.runtime._jobs.plans import MODELS, ClientDownloader, Plan, file_dto_plan
from ivkgen.runtime._jobs.resolve import candidates, not_installed
from ivkgen.runtime._jobs.uploads import upload_plan
from ivkgen.runtime._pool.ledger import Ledger
from ivkgen.runtime._pool.work import Work, server_body
from ivkgen.runtime._repositories.models import ModelOps
from ivkgen.runtime._server.core import AsyncBound, SyncBound
from ivkgen.runtime._server.dto import ModelConfig, SessionQueueItem
from ivkgen.runtime._server.features import ServerFeatures, ServerSchema, schema_call
from ivkgen.runtime._workflow.checks import missing_models, node_findings


@dataclass
class ServerFiles:
    """The run's files on one server: file number -> name."""

    uploaded: dict[int, str] = field(default_factory=dict)
    recorded: dict[int, str] = field(default_factory=dict)
    """Recorded by the ledger as uploaded there by an earlier run, not looked up yet."""

    def forget(self, names: set[str]) -> None:
        """These files were deleted from the server."""
        self.uploaded = {n: name for n, name in self.uploaded.items() if name not in names}
        self.recorded = {n: name for n, name in self.recorded.items() if name not in names}


@dataclass
class ServerState:
    """What the run knows about one server: its files, its items in flight, its health."""

    name: str
    client: SyncBound | AsyncBound
    former: bool = False
    """Not among the run's servers: the ledger sent it items in an earlier run."""
    features: ServerFeatures = field(default_factory=ServerFeatures)
    body: dict[str, Any] | None = None
    """The enqueue body of the work on this server (its models and shared files filled in)."""
    files: ServerFiles = field(default_factory=ServerFiles)
    sent: dict[str, list[int]] = field(default_factory=dict)
    """Chunks whose enqueue answer is not known: batch id -> item indexes."""
    queued: dict[int, int] = field(default_factory=dict)
    """Queue item id -> item index, for the items in the server's queue."""
    batches: set[str] = field(default_factory=set)
    """Every chunk the run sent the server."""
    heard_ended: dict[int, SessionQueueItem | None] = field(default_factory=dict)
    """Queued items the server's event socket said ended, with the item as heard there when
    every event of it was (see ``HeardItems``): the next step takes those as read, and reads
    the others at once without first reading their status."""
    running: int = 0
    """Items running there at the last step."""
    failures: int = 0
    """Steps that failed in a row."""

    @cached_property
    def downloader(self) -> ClientDownloader:
        """Downloads the run's output images through ``client`` (shared by all of them)."""
        return ClientDownloader(self.client)

    @property
    def in_flight(self) -> bool:
        return bool(self.sent or self.queued)

    def let_go(self) -> list[int]:
        """Forget the items in flight there; returns their indexes."""
        back = sorted(self.queued.values()) + [i for chunk in self.sent.values() for i in chunk]
        self.sent.clear()
        self.queued.clear()
        return back


def fitness_plan(
    state: ServerState, work: Work, labels: Mapping[str, str], ledger: Ledger
) -> Plan[list[str]]:
    """Check that the server can run ``work`` (node types, versions, models: the checks of
    ``ivkgen check``); when it can, upload the files all items share and build its enqueue
    body. Returns what it lacks (nothing: fit)."""
    handle = work.handle
    schema: ServerSchema = yield schema_call()
    state.features = schema.features
    findings = node_findings(handle.definition, schema.versions, labels)
    errors = [f.message for f in findings if f.severity == "error"]
    if errors:
        return errors
    models: list[ModelConfig] = yield ModelOps.list_models.call(MODELS)
    graph = handle.build_enqueue_body(board=work.board_id)["batch"]["graph"]
    missing = [
        not_installed(
            f"node {labels.get(node_id, node_id)!r} ({node_id}) field {field_name!r}",
            value,
            candidates(value, models),
        )
        for node_id, field_name, value in missing_models(graph, handle.catalog, models)
    ]
    if missing:
        return missing
    yield from send_files_plan(state, work, work.shared_files, ledger)
    state.body = server_body(work, models, state.files.uploaded)
    return []


def send_files_plan(
    state: ServerState, work: Work, numbers: Sequence[int], ledger: Ledger
) -> Plan[None]:
    """Upload the run's files ``numbers`` that the server lacks; one the ledger records there is
    looked up first (an earlier run's upload may be gone)."""
    files = state.files
    for number in numbers:
        if number in files.uploaded:
            continue
        recorded = files.recorded.pop(number, None)
        if recorded is not None:
            try:
                yield from file_dto_plan(work.files[number].kind, recorded)
                files.uploaded[number] = recorded
                continue
            except NotFoundError:
                pass
        uploaded = yield from upload_plan(work.files[number])
        files.uploaded[number] = uploaded.name
        ledger.uploaded(state.name, number, uploaded.name)
