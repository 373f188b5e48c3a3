"""The InvokeAI 7.0 routes of :class:`tests.harness.fake_invokeai.FakeInvokeAI` (its
``version`` 7 or later), written from 7.0's published API facts (no 7.0 server can run here):

* enqueue receipts: a ``Batch`` may carry an ``idempotency_key`` (the same key with another
  payload is refused with 409); ``GET .../enqueue_batch/receipt?idempotency_key=`` answers
  ``batch_id``, ``enqueued``, ``requested``, ``item_ids`` or 404; ``POST .../acknowledge``;
* the workflow library: records with a ``revision``, updates with ``expected_revision`` (409
  ``revision-conflict`` with ``current_revision``), creates with a client-chosen ``workflow_id``
  (created again: the record it has);
* sign-in: ``GET /api/v1/auth/status`` (``setup_required`` while there is no user), logins that
  hand out tokens, ``revoke_tokens()`` (a password change elsewhere), ``refresh_next`` (an answer
  carrying ``X-Refreshed-Token``).

The OpenAPI document lists the receipt routes and ``Batch.idempotency_key``
(``fake_records.openapi_7``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.harness.fake_records import QUEUE, library_record


class InvokeAI7Routes:
    """The 7.0 routes, mixed into ``FakeInvokeAI`` (whose fields they use)."""

    def revoke_tokens(self) -> None:
        """Every token stops working (a user's password changed)."""
        self.tokens.clear()

    def handle_7(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        if path == "/openapi.json":
            return self.handle_6(request)
        if path.startswith("/api/v1/auth/"):
            self.requests.append(f"{request.method} {path}")
            return self._auth(path, body)
        if self.multiuser and request.headers.get("authorization", "")[7:] not in self.tokens:
            self.requests.append(f"{request.method} {path} -> 401")
            return httpx.Response(401, json={"detail": "Invalid or expired token"})
        if self.forbid is not None:
            self.requests.append(f"{request.method} {path} -> 403")
            return httpx.Response(403, json={"detail": self.forbid})
        answer = self._route(request, path, body)
        if self.refresh_next and answer.status_code < 400:
            self.refresh_next = False
            answer.headers["X-Refreshed-Token"] = self._new_token()
        return answer

    def _route(self, request: httpx.Request, path: str, body: Any) -> httpx.Response:
        if path == f"{QUEUE}/enqueue_batch" and "idempotency_key" in body["batch"]:
            self.requests.append(f"POST {path} (keyed)")
            self.reset_if_due(request)
            self.last_enqueued = body
            return self._keyed_enqueue(request, body)
        if path == f"{QUEUE}/enqueue_batch/receipt":
            self.requests.append(f"GET {path}")
            known = self.receipts.get(request.url.params["idempotency_key"])
            if known is None:
                return httpx.Response(404, json={"detail": "no receipt"})
            return httpx.Response(200, json=known[1])
        if path == f"{QUEUE}/enqueue_batch/acknowledge":
            self.requests.append(f"POST {path}")
            self.acknowledged.append(body["idempotency_key"])
            return httpx.Response(200, json=None)
        if path.startswith("/api/v1/workflows/"):
            self.requests.append(f"{request.method} {path}")
            return self._library(request.method, path, body)
        return self.handle_6(request)

    # Receipts --------------------------------------------------------------------------------

    def _keyed_enqueue(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        batch = body["batch"]
        key = batch["idempotency_key"]
        payload = json.dumps(batch, sort_keys=True)
        if key in self.receipts:
            if self.receipts[key][0] != payload:
                detail = "idempotency_key was used with another batch"
                return httpx.Response(409, json={"detail": detail})
            receipt = self.receipts[key][1]
            result = {**receipt, "queue_id": "default", "batch": batch, "priority": 0}
            return httpx.Response(200, json=result)
        self.advance()
        result = self._enqueue(batch)
        receipt = {k: result[k] for k in ("enqueued", "requested", "item_ids")}
        self.receipts[key] = (payload, {"batch_id": batch["batch_id"], **receipt})
        if self.lose_enqueue_answers:
            self.lose_enqueue_answers -= 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(200, json=result)

    # Sign-in ---------------------------------------------------------------------------------

    def _new_token(self) -> str:
        token = f"token-{next(self._token_ids)}"
        self.tokens.add(token)
        return token

    def _auth(self, path: str, body: Any) -> httpx.Response:
        if path == "/api/v1/auth/status":
            status = {"setup_required": self.multiuser and not self.users}
            return httpx.Response(200, json={**status, "multiuser_enabled": self.multiuser})
        if path == "/api/v1/auth/login":
            if self.users.get(body["email"]) != body["password"]:
                return httpx.Response(401, json={"detail": "Incorrect email or password"})
            user = {"user_id": "u1", "email": body["email"], "is_admin": True}
            return httpx.Response(200, json={"token": self._new_token(), "user": user})
        return httpx.Response(404, json={"detail": f"fake server has no {path}"})

    # Library ---------------------------------------------------------------------------------

    def _library(self, method: str, path: str, body: Any) -> httpx.Response:
        if method == "POST":
            workflow_id = body.get("workflow_id") or f"wf-{len(self.workflows) + 1}"
            if workflow_id not in self.workflows:
                self.workflows[workflow_id] = library_record(workflow_id, body["workflow"], 1)
            return httpx.Response(200, json=self.workflows[workflow_id])
        workflow_id = path.rsplit("/", 1)[-1]
        record = self.workflows.get(workflow_id)
        if record is None:
            return httpx.Response(404, json={"detail": "workflow not found"})
        if method == "PATCH":
            expected = body.get("expected_revision")
            if expected is not None and expected != record["revision"]:
                conflict = {"reason": "revision-conflict", "current_revision": record["revision"]}
                return httpx.Response(409, json={"detail": conflict})
            record = library_record(workflow_id, body["workflow"], record["revision"] + 1)
            self.workflows[workflow_id] = record
        return httpx.Response(200, json=record)
