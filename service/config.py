"""What one service instance is given: its workflows, its InvokeAI servers, its store and its
limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.outbound import UrlPolicy

DEFAULT_MEDIA_BYTES = 20 * 1024 * 1024
ANONYMOUS = "anonymous"
"""The owner of every run when the service has no API keys."""


def anyone(authorization: str | None) -> str:
    """The owner of a request when the service has no API keys: one owner for all."""
    return ANONYMOUS


@dataclass(frozen=True)
class ServiceConfig:
    """``store``: the sqlite file (``":memory:"`` for none); ``files``: where run outputs are
    kept (default: beside the store); ``keep_hours``: how long finished runs and their files are
    kept; ``max_pending``: unfinished runs accepted at most; ``owner``: the caller's owner id
    from its ``Authorization`` header (raises to refuse it)."""

    catalog: Mapping[str, ServedWorkflow]
    servers: Sequence[str]
    store: Path | str = ":memory:"
    files: Path | None = None
    keep_hours: float = 24.0
    max_pending: int = 100
    poll_interval: float = 0.5
    max_in_flight: int | None = None
    """Runs sent to InvokeAI at once (default: 4 per server); the others wait in order."""
    inline_limit: int = 4 * 1024 * 1024
    """Output files up to this size come as base64 in a run asked with ``?inline=true``."""
    lease: float = 15.0
    """With a shared PostgreSQL store: seconds without a heartbeat before another replica takes
    over a replica's runs."""
    max_body_bytes: int = 32 * 1024 * 1024
    """Request bodies larger than this are refused (413)."""
    max_wait: float = 600.0
    """The longest ``Prefer: wait=N`` honoured, in seconds."""
    owner: Callable[[str | None], str] = field(default=anyone)
    urls: UrlPolicy = field(default_factory=lambda: UrlPolicy(frozenset(), DEFAULT_MEDIA_BYTES))
    """The hosts media inputs may be fetched from and webhooks sent to, and the media size cap
    (data URIs, base64 and uploads are always taken)."""
    webhook_secret: bytes | None = None
    """The service's secret: webhook events and links to output files are signed with it;
    None: runs may not name a webhook, and a file is served to its owner only."""

    def files_folder(self) -> Path:
        if self.files is not None:
            return self.files
        if str(self.store).startswith(("postgresql://", "postgres://")):
            from ivkgen.runtime._errors import ServeSetupError

            raise ServeSetupError(
                "--store postgresql://...: give --files DIR, a folder every replica reaches"
            )
        if str(self.store) == ":memory:":
            import tempfile

            return Path(tempfile.mkdtemp(prefix="ivkgen-serve-"))
        store = Path(self.store)
        return store.with_name(store.name + ".files")


__all__ = ["ANONYMOUS", "DEFAULT_MEDIA_BYTES", "ServiceConfig", "anyone"]
