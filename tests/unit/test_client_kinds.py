"""Handles are typed by their client: mypy rejects a blocking call on an async client's handle,
awaiting a blocking call, and running a handle that has no client."""

from __future__ import annotations

from pathlib import Path

from tests.unit._mypy import mypy_report

HEADER = (
    "from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient, WorkflowDefinition, "
    "WorkflowHandle\n"
    "from generated.image_pipeline import ImagePipeline, ImagePipelineInputs\n\n\n"
)


def test_both_client_kinds_type_check_when_used_as_meant(tmp_path: Path) -> None:
    good = HEADER + (
        "async def main(client: InvokeAIClient, aclient: AsyncInvokeAIClient) -> None:\n"
        "    handle = client.workflow_repo.create_workflow_handle('flow.json')\n"
        "    with handle:\n"
        "        handle.submit_sync()\n"
        "        handle.wait_for_completion_sync()\n"
        "        paths = [image.save('out') for image in handle.get_outputs()]\n"
        "        handle.cleanup_outputs()\n"
        "    async with handle:  # a sync client's handle can be awaited too\n"
        "        await handle.submit()\n"
        "        await handle.wait_for_completion()\n"
        "        paths += [await image.asave('out') for image in await handle.aget_outputs()]\n"
        "    ahandle = aclient.workflow_repo.create_workflow_handle('flow.json')\n"
        "    async with ahandle:\n"
        "        await ahandle.submit()\n"
        "        await ahandle.wait_for_completion()\n"
        "        await ahandle.cancel_async()\n"
        "        await ahandle.acleanup_outputs()\n"
        "    typed: WorkflowHandle[InvokeAIClient] = ImagePipeline().submit(\n"
        "        client, ImagePipelineInputs()\n"
        "    )\n"
        "    typed.wait_for_completion_sync()\n"
        "    outputs = await ImagePipeline().arun(aclient, ImagePipelineInputs())\n"
        "    paths.append(await outputs.save[0].asave('out'))\n"
        "    loose = WorkflowHandle(WorkflowDefinition.from_file('flow.json'))\n"
        "    await loose.bind_client(aclient).submit()\n"
    )
    assert "Success" in mypy_report(good, tmp_path)


def test_mypy_rejects_calls_that_do_not_fit_the_client_kind(tmp_path: Path) -> None:
    bad = HEADER + (
        "async def main(client: InvokeAIClient, aclient: AsyncInvokeAIClient) -> None:\n"
        "    handle = client.workflow_repo.create_workflow_handle('flow.json')\n"
        "    await handle.submit_sync()\n"
        "    ahandle = aclient.workflow_repo.create_workflow_handle('flow.json')\n"
        "    ahandle.wait_for_completion_sync()\n"
        "    ahandle.get_outputs()\n"
        "    with ahandle:\n"
        "        pass\n"
        "    loose = WorkflowHandle(WorkflowDefinition.from_file('flow.json'))\n"
        "    await loose.submit()\n"
        "    ImagePipeline().run(aclient, ImagePipelineInputs())\n"
    )
    report = mypy_report(bad, tmp_path)
    assert 'pipeline.py:7: error: Incompatible types in "await"' in report
    wrong_kind = 'Invalid self argument "WorkflowHandle[AsyncInvokeAIClient]" to attribute function'
    assert f'pipeline.py:9: error: {wrong_kind} "wait_for_completion_sync"' in report
    assert f'pipeline.py:10: error: {wrong_kind} "get_outputs"' in report
    assert f'pipeline.py:11: error: {wrong_kind} "__enter__"' in report
    unbound = 'Invalid self argument "WorkflowHandle[None]" to attribute function "submit"'
    assert f"pipeline.py:14: error: {unbound}" in report
    assert 'pipeline.py:15: error: Argument 1 to "run" of "Workflow"' in report
    assert "Found 7 errors" in report  # `with` names __enter__ and __exit__
