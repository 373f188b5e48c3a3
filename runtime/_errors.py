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
    ├── ServerUnfitError               one server of a pool cannot run the work (node types,
    │                                  versions or models); the pool leaves it out
    ├── LedgerError                    a pool's ledger file does not hold the run asked for, or
    │                                  holds one and ``resume`` was not asked
    ├── MissingExtraError              an optional dependency is not installed; names the extra
    │                                  to install (also an ImportError)
    ├── ServerURLError                 not an InvokeAI server's URL: no http(s) scheme, or a path
    │                                  that answers no API (also a ValueError)
    ├── ServeSetupError                `ivkgen serve` cannot start as asked: names the flag or path
    ├── OpenAIError                    a request the OpenAI Images routes refuse: status, param,
    │                                  code (in ivkgen.service.openai.errors)
    ├── GeneratorError                 input ``ivkgen gen`` cannot turn into code (in
    │   │                              ivkgen.generator); names the file
    │   ├── WorkflowFileError          a workflow file that cannot be read or is malformed
    │   └── OpenAPIError               an OpenAPI schema that cannot be read or used
    │                                  (in ivkgen.generator.openapi)
    ├── CommandError                   a command-line value that cannot be used
    │   │                              (in ivkgen.cli.errors)
    │   └── UsageError                 options that do not go together (exit code 2)
    ├── IvkgenWarning                  base of ivkgen's warnings: a UserWarning, and an IvkgenError
    │   │                              when warnings are turned into errors (``-W error``)
    │   ├── WorkflowWarning            loading skipped something, as the GUI does silently
    │   ├── QueueFullWarning           a server's queue took fewer items than asked
    │   ├── PriorityWarning            a queue priority other than 0 or 1, served as the closer
    │   │                              of the two (the InvokeAI queue only appends or prepends)
    │   ├── InvokeAIVersionWarning     the server runs another InvokeAI version than a generated
    │   │                              module was made for
    │   ├── SchemaDriftWarning         the server's schema differs, where the workflow uses it
    │   ├── SourceChangedWarning       a module's workflow JSON changed since it was generated
    │   └── FormerServerWarning        a resumed pool run's former server cannot be reached: its
    │                                  items run again on the others
    └── (internal: raised and caught inside ivkgen, never seen by a caller)
        ├── ShapeError                 a workflow value of the wrong JSON type or depth; becomes a
        │                              WorkflowError (ivkgen.runtime._workflow.shape)
        ├── _StructureError            a malformed node; becomes a WorkflowError
        │                              (ivkgen.runtime._workflow.definition)
        ├── SchemaError                an invocation schema the catalog cannot use; becomes an
        │                              OpenAPIError (ivkgen.runtime._workflow.schema)
        ├── UnknownNodeTypeError       the catalog has no such node type (also a KeyError;
        │                              ivkgen.runtime._workflow.catalog)
        ├── UnknownFieldError          the node type has no such input (also a KeyError; idem)
        ├── Unsupported                a statement the generator's layout leaves to black
        │                              (ivkgen.generator.layout)
        ├── RunExists                  a run id or idempotency key the service stores already;
        │                              answered with the earlier run (ivkgen.service.store)
        ├── _Retryable                 a webhook delivery to try again (ivkgen.service.webhooks)
        └── _Refused                   a webhook delivery not to try again (idem)

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
        errors: list[dict[str, Any]],
        node_id: str | None,
        field: str | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
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


class ServerUnfitError(IvkgenError):
    """A server of a pool that cannot run the work (node types, versions or models)."""


class LedgerError(IvkgenError):
    """The ledger file does not hold the run asked for (or holds one and ``resume`` was not
    asked)."""


class IvkgenWarning(IvkgenError, UserWarning):
    """Base class of every warning ivkgen issues; an ``IvkgenError`` too, so that a warning
    turned into an error (``-W error``) is caught with the others."""


class WorkflowWarning(IvkgenWarning):
    """Something in a workflow was skipped on load (a form field pointing nowhere)."""


class QueueFullWarning(IvkgenWarning):
    """A server's queue took fewer items than asked (its ``max_queue_size``)."""


class PriorityWarning(IvkgenWarning):
    """A queue priority other than 0 (append) or 1 (ahead of the pending items), which the
    InvokeAI queue cannot honour: it is served as the closer of the two."""


class InvokeAIVersionWarning(IvkgenWarning):
    """The server runs another InvokeAI version than the module was generated against."""


class SchemaDriftWarning(IvkgenWarning):
    """The server's schema differs from the one a module was generated for, where the workflow
    uses it."""


class SourceChangedWarning(IvkgenWarning):
    """The workflow JSON changed since its module was generated."""


class FormerServerWarning(IvkgenWarning):
    """A resumed run's ledger names a server, no longer among the run's servers, that holds
    items of the run and cannot be reached: those items run again on the others."""
