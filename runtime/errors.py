"""The errors ivkgen raises. Catch ``IvkgenError`` for all of them.

::

    IvkgenError
    ├── TransportError                 the request did not get an HTTP answer
    │   ├── ServerUnreachableError     connection refused or lost, name not resolved
    │   └── RequestTimeoutError        no answer within the client's timeout (also a TimeoutError)
    ├── HTTPStatusError                the server answered 4xx/5xx; carries its ``detail``
    │   ├── AuthError                  401/403: log in, or use an account allowed to do this
    │   │   └── SetupRequiredError     the multi-user server has no administrator yet
    │   ├── NotFoundError              404: the board, image, workflow, model or item is gone
    │   ├── RevisionConflictError      409: the library workflow changed since its revision was read
    │   └── ServerValidationError      422: the server rejected a body; names the node and field
    ├── Problem                        ``ivkgen serve`` refused a request: an RFC 9457 problem
    │   │                              (status, title, detail; in ivkgen.service.problems)
    │   ├── Unauthorized               401: no API key, or not one of the service's
    │   ├── Forbidden                  403: a link to a file that is forged or has expired
    │   ├── NotFound                   404: no such workflow, run or file (or another key's)
    │   ├── Unprocessable              422: an input the workflow does not take; names it
    │   ├── MediaRejected              413/422: a media input or URL refused (no SSRF)
    │   ├── TooManyPending             429: the pending runs are at the limit; ``Retry-After``
    │   ├── BadGateway                 502: InvokeAI answered the service with an error
    │   ├── Unavailable                503: no InvokeAI server answers
    │   └── GatewayTimeout             504: InvokeAI did not answer in time
    ├── JobError                       a queue item did not complete
    │   ├── JobFailedError             a node raised: error type, message, traceback, node id, label
    │   ├── JobCanceledError           the item was canceled
    │   └── JobTimeoutError            the wait ran out before the item ended (also a TimeoutError)
    ├── WorkflowError                  a workflow file the GUI would reject; names file, node, field
    │   └── InputLookupError           no input, or several, match an index, label or node/field
    │                                  (also a LookupError)
    ├── NoServerError                  no server of a pool can (still) run the work; says why
    ├── MissingExtraError              an optional dependency is not installed; names the extra
    │                                  to install (also an ImportError)
    ├── ServerURLError                 not an InvokeAI server's URL: no http(s) scheme, or a path
    │                                  that answers no API (also a ValueError)
    └── ServeSetupError                `ivkgen serve` cannot start as asked: names the flag or path

``WorkflowWarning`` (a ``UserWarning``) reports what loading skipped, as the GUI does silently;
``QueueFullWarning`` that a server's queue took fewer items than asked (``enqueued < requested``).

Messages name the request (method and path, never headers or bodies, so tokens and passwords
never appear) or the queue item, what the server said, and what to do next.
"""

from __future__ import annotations

from typing import Any


class IvkgenError(Exception):
    """Base class of every error raised by ivkgen."""


class TransportError(IvkgenError):
    """The request to the server got no HTTP answer."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class ServerUnreachableError(TransportError):
    """The server refused or dropped the connection, or its name did not resolve."""


class RequestTimeoutError(TransportError, TimeoutError):
    """The server did not answer within the client's timeout."""


class HTTPStatusError(IvkgenError):
    """The server answered with an error status; ``detail`` is its ``detail`` field."""

    def __init__(
        self, message: str, *, method: str, path: str, status_code: int, detail: Any
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status_code = status_code
        self.detail = detail


class AuthError(HTTPStatusError):
    """401 (not logged in, bad credentials, expired token) or 403 (not allowed)."""


class SetupRequiredError(AuthError):
    """A 401 from a multi-user server that says (``GET /api/v1/auth/status``) it still needs its
    first administrator: nobody can log in before that."""


class RevisionConflictError(HTTPStatusError):
    """409 ``revision-conflict``: the library workflow was changed since the revision the update
    expected; ``current_revision`` is the server's."""

    def __init__(self, message: str, *, current_revision: int | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.current_revision = current_revision


class NotFoundError(HTTPStatusError):
    """404: the requested object does not exist on the server."""


class ServerValidationError(HTTPStatusError):
    """422: the server rejected the request body.

    ``errors`` are the server's entries (``loc``, ``msg``, ``type``); ``node_id`` and ``field`` name
    the first graph node and node field the server complained about, when it named one.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status_code: int,
        detail: Any,
        errors: list[dict[str, Any]],
        node_id: str | None,
        field: str | None,
    ) -> None:
        super().__init__(message, method=method, path=path, status_code=status_code, detail=detail)
        self.errors = errors
        self.node_id = node_id
        self.field = field


class JobError(IvkgenError):
    """A queue item ended without completing, or did not end in time."""

    def __init__(self, message: str, *, item_id: int | None, batch_id: str | None = None) -> None:
        super().__init__(message)
        self.item_id = item_id
        self.batch_id = batch_id


class JobFailedError(JobError):
    """A node of the job raised on the server."""

    def __init__(
        self,
        message: str,
        *,
        item_id: int | None,
        batch_id: str | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
        error_traceback: str | None = None,
        node_id: str | None = None,
        node_label: str | None = None,
    ) -> None:
        super().__init__(message, item_id=item_id, batch_id=batch_id)
        self.error_type = error_type
        self.error_message = error_message
        self.error_traceback = error_traceback
        self.node_id = node_id
        self.node_label = node_label


class JobCanceledError(JobError):
    """The job was canceled (by this client, another client or a server restart)."""


class JobTimeoutError(JobError, TimeoutError):
    """The job did not reach a terminal status within the wait's timeout."""


class WorkflowError(IvkgenError):
    """A workflow cannot be loaded or converted; names the file, node and field when known."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        node_id: str | None = None,
        node_type: str | None = None,
        field_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.node_id = node_id
        self.node_type = node_type
        self.field_name = field_name


class InputLookupError(WorkflowError, LookupError):
    """No form input, or more than one, matches the index, label or node and field asked for."""


class NoServerError(IvkgenError):
    """No server of a pool can run the work (or every one was dropped); ``reasons`` maps each
    server to why."""

    def __init__(self, message: str, *, reasons: dict[str, str]) -> None:
        super().__init__(message)
        self.reasons = reasons


class MissingExtraError(IvkgenError, ImportError):
    """A feature needs an optional dependency that is not installed (Pillow for ``to_pil()``);
    the message names the ``pip install`` that adds it."""


class ServerURLError(IvkgenError, ValueError):
    """The server URL cannot be InvokeAI's: it lacks ``http://``, or its path answers something
    other than InvokeAI's API; the message gives the URL to use."""


class ServeSetupError(IvkgenError):
    """``ivkgen serve`` cannot start as asked (a served path, ``--set``/``--fix``/``--limit``,
    the store); the message names the flag or path."""


class QueueFullWarning(UserWarning):
    """A server's queue took fewer items than asked (its ``max_queue_size``)."""


class WorkflowWarning(UserWarning):
    """Something in a workflow was skipped on load (a form field pointing nowhere)."""


__all__ = [
    "AuthError",
    "HTTPStatusError",
    "InputLookupError",
    "IvkgenError",
    "JobCanceledError",
    "JobError",
    "JobFailedError",
    "JobTimeoutError",
    "MissingExtraError",
    "NoServerError",
    "NotFoundError",
    "QueueFullWarning",
    "RequestTimeoutError",
    "RevisionConflictError",
    "ServeSetupError",
    "ServerURLError",
    "ServerUnreachableError",
    "ServerValidationError",
    "SetupRequiredError",
    "TransportError",
    "WorkflowError",
    "WorkflowWarning",
]
