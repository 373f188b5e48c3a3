"""Several InvokeAI servers as one pool: a run's items spread over their queues.

``ServerPool`` / ``AsyncServerPool`` run a ``Work`` (``grid_work`` for a handle's runs and
sweeps, ``module_work`` for a generated module's inputs), record it in a ``Ledger`` and return
one ``ItemResult`` per item, in input order.
"""

from ivkgen.runtime.pool.ledger import Ledger, LedgerError
from ivkgen.runtime.pool.pool import AsyncServerPool, ServerPool
from ivkgen.runtime.pool.run import FormerServerWarning, ItemResult, PoolProgress, ServerProgress
from ivkgen.runtime.pool.work import Work, grid_work, module_work

__all__ = [
    "AsyncServerPool",
    "FormerServerWarning",
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
