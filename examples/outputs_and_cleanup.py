"""Run the SD1.5 workflow into a new board, download its outputs, clean up.

    python examples/outputs_and_cleanup.py [--out DIR] [--keep] [--server URL] ...

Without ``--keep`` the run's images, queue item and board are deleted from the server once the
PNGs are saved in DIR.
"""

from __future__ import annotations

import uuid

from ivkgen.runtime import InvokeAIClient

from examples import _common
from examples.set_inputs import prepare


def run() -> None:
    parser = _common.parser(__doc__)
    parser.add_argument("--out", default="outputs", help="folder for the PNGs")
    parser.add_argument("--keep", action="store_true", help="leave the outputs on the server")
    args = parser.parse_args()

    with InvokeAIClient.from_url(args.server) as client:
        board = client.board_repo.create_board(f"ivkgen example {uuid.uuid4().hex[:8]}")
        with prepare(client, args) as handle:
            handle.submit_sync(board_id=board.board_id)  # for outputs whose board is unset
            item = handle.wait_for_completion_sync(timeout=args.timeout)
            print(f"Workflow {item.status}: item {item.item_id}, session {item.session_id}")

            outputs = handle.get_outputs()  # per output node, from the final session
            for image in outputs:
                print(f"Output of {image.node_label!r} ({image.node_type}): {image.image_name}")
            for path in handle.download_outputs(args.out):
                print(f"Downloaded: {path} ({path.stat().st_size} bytes)")
            picture = outputs[0].to_pil()
            print(f"Loaded image: {picture.size} {picture.mode}")

            board_images = client.board_repo.get_board_handle(board.board_id).list_images()
            print(f"Board {board.board_name!r} holds {len(board_images)} image(s)")
            print(f"Uploaded assets: {handle.get_uploaded_assets()}")  # none: no image inputs

            if args.keep:
                return
            print(f"Deleted outputs: {handle.cleanup_outputs()}")
            print(f"Deleted queue items: {handle.cleanup_queue_items()}")
            print(f"Deleted uploads: {handle.cleanup_inputs()}")
        client.board_repo.delete_board(board.board_id)
        print(f"Deleted board {board.board_name!r}")


if __name__ == "__main__":
    _common.main(run)
