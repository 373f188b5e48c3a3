"""The output board of a submission: a board id or name, put on every board input of the run.

``submit_sync(board_id=...)`` / ``submit(board_id=...)`` take a board's id or, when the value is
not spelled as an id, the name of an existing board (looked up once). The board then holds
every output of the run: each board input of the workflow (saved, ``"auto"`` or unset) is set
to it, except the board inputs the handle's user changed.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ivkgen.runtime._jobs.plans import Plan
from ivkgen.runtime._repositories.boards import BoardOps, is_board_id
from ivkgen.runtime._server.dto import BoardDTO
from ivkgen.runtime._workflow.catalog import Catalog
from ivkgen.runtime._workflow.definition import FieldRef, WorkflowDefinition

BOARD_FIELD_TYPE = "BoardField"
BOARDS = BoardOps()


def board_id_plan(board: str | None) -> Plan[str | None]:
    """The id of ``board`` (an id as it is; a name looked up, ``NotFoundError`` if unknown)."""
    if board is None or is_board_id(board):
        return board
    found: BoardDTO = yield BoardOps.find_board.call(BOARDS, board)
    return found.board_id


def board_overrides(
    definition: WorkflowDefinition,
    catalog: Catalog,
    board_id: str | None,
    *,
    user_set: Collection[FieldRef] = (),
) -> dict[FieldRef, dict[str, Any]]:
    """``(node id, input)`` -> ``{"board_id": board_id}`` for each board input the workflow
    holds that no edge feeds and the user did not set (nothing without ``board_id``)."""
    if board_id is None:
        return {}
    fed = {
        (edge["target"], edge.get("targetHandle"))
        for edge in definition.edges
        if edge.get("type", "default") == "default"
    }
    overrides: dict[FieldRef, dict[str, Any]] = {}
    for node in definition.invocation_nodes():
        spec = catalog.nodes.get(node["data"]["type"])
        if spec is None:
            continue
        for name in node["data"].get("inputs", {}):
            field = spec.inputs.get(name)
            ref = (node["id"], name)
            if field is None or field.type != BOARD_FIELD_TYPE or ref in fed or ref in user_set:
                continue
            overrides[ref] = {"board_id": board_id}
    return overrides
