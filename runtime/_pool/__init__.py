"""Several InvokeAI servers as one pool: a run's items spread over their queues.

``ServerPool`` / ``AsyncServerPool`` run a ``Work`` (``grid_work`` for a handle's runs and
sweeps, ``module_work`` for a generated module's inputs), record it in a ``Ledger`` and return
one ``ItemResult`` per item, in input order. The names below load their module on first use
(PEP 562).
"""

from typing import TYPE_CHECKING

from ivkgen.runtime._lazy import lazy_attributes

if TYPE_CHECKING:
    from ivkgen.runtime._errors import FormerServerWarning, LedgerError
    from ivkgen.runtime._pool.ledger import Ledger
    from ivkgen.runtime._pool.outcome import ItemError, ItemResult
    from ivkgen.runtime._pool.pool import AsyncServerPool, ServerPool
    from ivkgen.runtime._pool.progress import PoolProgress, ServerProgress
    from ivkgen.runtime._pool.work import Work, grid_work, module_work

__all__ = [
    "AsyncServerPool",
    "FormerServerWarning",
    "ItemError",
    "ItemResult",
    "Ledger",
    "LedgerError",
    "PoolProgress",
    "ServerPool",
    "ServerProgress",
    "Work",
    "grid_work",
    "module_work",
]

_HOME = {
    "Ledger": ".ledger",
    "LedgerError": "ivkgen.runtime._errors",
    "AsyncServerPool": ".pool",
    "ServerPool": ".pool",
    "FormerServerWarning": "ivkgen.runtime._errors",
    "ItemError": ".outcome",
    "ItemResult": ".outcome",
    "PoolProgress": ".progress",
    "ServerProgress": ".progress",
    "Work": ".work",
    "grid_work": ".work",
    "module_work": ".work",
}

__getattr__, __dir__ = lazy_attributes(__name__, _HOME)
