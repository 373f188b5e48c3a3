"""The default timeouts, in seconds: each defined once, here."""

REQUEST_TIMEOUT = 30.0
"""One HTTP request: the clients' ``timeout=``."""

SCHEMA_TIMEOUT = 120.0
"""Fetching a server's OpenAPI schema (its first request for it builds it: tens of seconds on a
busy machine)."""

JOB_TIMEOUT = 600.0
"""Waiting for a job to end: ``wait_for_completion()``, ``wait_for_completion_sync()``,
``Workflow.run()`` / ``arun()`` / ``sweep()`` and ``ivkgen run --timeout``."""

CONNECT_TIMEOUT = 10.0
"""Connecting the event socket."""

SUBSCRIBE_TIMEOUT = 5.0
"""The server's answer to a queue subscription on the event socket."""

SETTLE_TIMEOUT = 120.0
"""Waiting, before clean-up, for the node a cancel interrupted to finish or stop."""
