"""A pool run resumed from its ledger: finished items are kept with their files, items in flight
are looked up on the server the ledger sent them to, the others wait.

A resumed run whose ledger names a server that is no longer among its servers (a *former*
server) still looks up the items it sent there: it connects to the server's URL, follows those
items until they end (their outputs are collected as any other's) and deletes the run's uploads
there at the end; it sends the server nothing new. Only when the server cannot be reached do its
items run again on the others (the run warns with a ``FormerServerWarning``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from ivkgen.runtime._pool.ledger import Entry, Ledger
from ivkgen.runtime._pool.outcome import ItemResult
from ivkgen.runtime._pool.scheduler import Scheduler
from ivkgen.runtime._pool.servers import ServerState
from ivkgen.runtime._server.core import AsyncBound, SyncBound

log = logging.getLogger("ivkgen.runtime._pool")

Connect = Callable[[str], SyncBound | AsyncBound]
"""Makes the client of a former server from its URL (the ledger's name for it)."""


@dataclass
class Resumed:
    """Where a run starts: its scheduler and, when resumed, what the ledger recorded."""

    scheduler: Scheduler
    results: dict[int, ItemResult] = field(default_factory=dict)
    downloaded: set[Path] = field(default_factory=set)
    """Files the run saved (a cached node repeats an image: saved once)."""
    ended_before: int = 0
    """Items that had ended before this run started."""
    unreached: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Former servers holding items that cannot be reached: name -> (items, why)."""


def from_ledger(
    ledger: Ledger,
    states: dict[str, ServerState],
    *,
    count: int,
    window: int,
    connect: Connect | None,
) -> Resumed:
    """The run's start from what ``ledger`` recorded; ``states`` gains the former servers that
    can be reached."""
    entries = ledger.entries()
    servers = list(states)
    flying = _flying_on_others(entries, states)
    uploads = ledger.uploads()
    unreached = _connect_former(states, flying, uploads, connect)
    former = [name for name in states if name not in servers]
    pending = [e.index for e in entries if not e.ended]
    held = [e for e in entries if not e.ended and e.batch_id is not None and e.server in states]
    started = Resumed(
        Scheduler(
            [i for i in pending if i not in {e.index for e in held}],
            servers,
            window=window,
            retired=former,
        ),
        ended_before=count - len(pending),
        unreached=unreached,
    )
    for entry in entries:
        if entry.ended:
            started.results[entry.index] = _result(entry)
            started.downloaded.update(Path(f) for f in entry.files)
    for entry in held:
        assert entry.server is not None and entry.batch_id is not None
        state = states[entry.server]
        started.scheduler.holding(entry.server).add(entry.index)
        state.batches.add(entry.batch_id)
        if entry.status == "queued" and entry.item_id is not None:
            state.queued[entry.item_id] = entry.index
        else:
            state.sent.setdefault(entry.batch_id, []).append(entry.index)
    for server, files in uploads.items():
        if server in states:
            states[server].files.recorded.update(files)
    return started


def _result(entry: Entry) -> ItemResult:
    return ItemResult(
        entry.index,
        entry.server or "",
        entry.item_id,
        entry.status,
        files=[Path(f) for f in entry.files],
        error=entry.error,
        created=entry.images,
        session_id=entry.session_id,
    )


def _flying_on_others(
    entries: Sequence[Entry], states: Mapping[str, ServerState]
) -> dict[str, int]:
    """Servers not among the run's that hold items in flight: name -> how many."""
    flying: dict[str, int] = {}
    for entry in entries:
        server = entry.server
        if not entry.ended and entry.batch_id is not None and server and server not in states:
            flying[server] = flying.get(server, 0) + 1
    return flying


def _connect_former(
    states: dict[str, ServerState],
    flying: Mapping[str, int],
    uploads: Mapping[str, Mapping[int, str]],
    connect: Connect | None,
) -> dict[str, tuple[int, str]]:
    """Add states for the servers the ledger sent items (or uploads) to that are not among the
    run's servers; returns those holding items that no client can be made for (their items wait
    for the others)."""
    unreached: dict[str, tuple[int, str]] = {}
    names = list(flying) + [n for n in uploads if n not in states and n not in flying]
    for name in names:
        try:
            if connect is None:
                raise ValueError("the pool was given no way to connect to it")
            client = connect(name)
        except (ValueError, TypeError, httpx.InvalidURL) as exc:
            if name in flying:
                unreached[name] = (flying[name], str(exc))
            continue
        states[name] = ServerState(name, client, former=True)
        if name in flying:
            log.info(
                "server %s is not among this run's servers: following the %d item(s) the "
                "ledger sent it there",
                name,
                flying[name],
            )
    return unreached
