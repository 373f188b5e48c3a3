"""What the service tells others about its runs: each status change counted in the metrics and,
for a run that named a ``webhook``, delivered there as a signed Standard Webhooks event whose id
(``run id.event number``) stays the same across retries and restarts."""

from __future__ import annotations

import asyncio
import time

from ivkgen.service.metrics import Metrics
from ivkgen.service.store import FINAL_STATUSES, RunRecord, StoredEvent
from ivkgen.service.webhooks import WebhookSender

STATUS_EVENTS = frozenset({"queued", "running", *FINAL_STATUSES})
CLOSING_SECONDS = 5.0


class RunNotices:
    """A runner listener (see ``Runner.listeners``): metrics and webhooks of status events."""

    def __init__(self, metrics: Metrics, sender: WebhookSender | None) -> None:
        self.metrics = metrics
        self.sender = sender
        self._deliveries: set[asyncio.Task[None]] = set()

    async def __call__(self, record: RunRecord, event: StoredEvent) -> None:
        if event.type not in STATUS_EVENTS:
            return
        if event.type in FINAL_STATUSES:
            ended = record.finished or time.time()
            self.metrics.run_ended(record.workflow, event.type, ended - record.created)
        else:
            self.metrics.run_status(record.workflow, event.type)
        if record.webhook and self.sender is not None:
            body = {
                "type": f"run.{event.type}",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "data": {"run_id": record.id, "workflow": record.workflow, **event.data},
            }
            delivery = self.sender.send(record.webhook, f"{record.id}.{event.seq}", body)
            task = asyncio.create_task(delivery, name=f"webhook {record.id}.{event.seq}")
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def aclose(self) -> None:
        """Let the deliveries under way finish for up to ``CLOSING_SECONDS``, stop the rest
        (their retries end) and close the sender."""
        if self._deliveries:
            await asyncio.wait(self._deliveries, timeout=CLOSING_SECONDS)
        for task in self._deliveries:
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self.sender is not None:
            await self.sender.aclose()


__all__ = ["RunNotices"]
