"""Helpers of the job, event and output tests: clients, small workflows, image counts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ivkgen.runtime import InvokeAIClient
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.unit._workflows import edge, field, node, workflow

REPO = Path(__file__).resolve().parents[2]
TEAM = REPO / "data" / "workflows"


def image_count(client: InvokeAIClient) -> int:
    """Every image on the server, gallery and intermediates."""
    return sum(
        client.image_repo.list_images(is_intermediate=flag, limit=1).total for flag in (True, False)
    )


def png(width: int = 24, height: int = 16, color: tuple[int, int, int] = (0, 90, 200)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def blur_inputs_workflow(count: int) -> dict[str, Any]:
    """``count`` img_blur nodes (saved to the gallery), each with an image input on the form."""
    nodes = [
        node(
            f"blur:{i}",
            "img_blur",
            label=f"Blur {i}",
            is_intermediate=False,
            radius=1.0,
            image=field("image"),
        )
        for i in range(count)
    ]
    return workflow(nodes, exposed=[(f"blur:{i}", "image") for i in range(count)], name="blurs")


def failing_workflow() -> dict[str, Any]:
    """A crop of an image that does not exist: the crop node fails on the server."""
    crop = node(
        "crop",
        "img_crop",
        label="Crop Missing",
        is_intermediate=False,
        use_cache=False,
        image={"image_name": "ivkgen-no-such-image.png"},
        width=8,
        height=8,
    )
    return workflow([crop], name="fails")


def slow_workflow(size: int = 2048, radius: float = 120.0, blurs: int = 6) -> dict[str, Any]:
    """A big blank canvas blurred several times in a chain: seconds of model-free work."""
    nodes = [node("canvas", "blank_image", width=size, height=size, use_cache=False)]
    edges = []
    for i in range(blurs):
        nodes.append(node(f"blur:{i}", "img_blur", radius=radius, use_cache=False))
        edges.append(edge(nodes[-2]["id"], "image", f"blur:{i}", "image"))
    return workflow(nodes, edges, name="slow")


def sdxl_handle(
    client: InvokeAIClient, shared_dir: Path, tiny: dict[str, Any], steps: int
) -> WorkflowHandle:
    """The GUI's SDXL text-to-image export on the tiny SDXL model, small and ``steps`` long."""
    from ivkgen.bundled import IvkModelIdentifierField

    handle = client.workflow_repo.create_workflow_handle(
        shared_dir / "data" / "workflows" / "sdxl-text-to-image.json"
    )
    handle.set_input_value(0, IvkModelIdentifierField(**tiny))
    handle.find_input("Width").field.value = 64  # type: ignore[attr-defined]
    handle.find_input("Height").field.value = 64  # type: ignore[attr-defined]
    handle.find_input("Steps").field.value = steps  # type: ignore[attr-defined]
    handle.find_input("Scheduler").field.value = "euler"  # type: ignore[attr-defined]
    return handle


def sd15_handle(
    client: InvokeAIClient, tiny: dict[str, Any], steps: int = 4
) -> WorkflowHandle[InvokeAIClient]:
    from ivkgen.bundled import IvkModelIdentifierField

    handle = client.workflow_repo.create_workflow_handle(TEAM / "sd15-text-to-image.json")
    handle.set_input_value(handle.find_input("Model").input_index, IvkModelIdentifierField(**tiny))
    handle.find_input("Width").field.value = 64  # type: ignore[attr-defined]
    handle.find_input("Height").field.value = 64  # type: ignore[attr-defined]
    handle.find_input("Steps").field.value = steps  # type: ignore[attr-defined]
    return handle
