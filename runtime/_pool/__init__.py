"""Several InvokeAI servers as one pool: a run's items spread over their queues.

``ServerPool`` / ``AsyncServerPool`` (``pool``) run a ``Work`` (``work.grid_work`` for a handle's
runs and sweeps, ``work.module_work`` for a generated module's inputs), record it in a ``Ledger``
(``ledger``) and return one ``ItemResult`` (``outcome``) per item, in input order.
"""
