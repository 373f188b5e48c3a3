"""A sweep: one enqueue, one queue item per value of one input of the generated SD1.5 module.

    python examples/sweep.py [--input NAME] [--values V ...] [--out DIR] [--server URL] ...

Each value's PNGs go to DIR/<input>-<value>/ and are deleted from the server.
"""

from __future__ import annotations

from pathlib import Path

from ivkgen.runtime import InvokeAIClient

from examples import _common
from generated.sd15_text_to_image import Sd15TextToImage, Sd15TextToImageInputs


def run() -> None:
    parser = _common.parser(__doc__)
    parser.add_argument("--input", default="cfg_scale", help="an attribute of the inputs class")
    parser.add_argument("--values", nargs="+", default=["1.5", "4", "7.5"])
    parser.add_argument("--out", default="outputs", help="folder for the PNGs")
    args = parser.parse_args()
    if args.input not in Sd15TextToImageInputs.model_fields:
        names = ", ".join(Sd15TextToImageInputs.model_fields)
        raise SystemExit(f"error: --input must be one of: {names}")

    inputs = Sd15TextToImageInputs(
        model=args.model, width=args.size, height=args.size, steps=args.steps
    )
    with InvokeAIClient.from_url(args.server) as client:
        results = Sd15TextToImage().sweep(
            client, inputs, args.input, args.values, timeout=args.timeout
        )
        for value, outputs in zip(args.values, results, strict=True):
            for image in outputs.decode:
                path = image.save(Path(args.out) / f"{args.input}-{value}")
                print(f"{args.input}={value}: {path} (queue item {image.item_id})")
                client.image_repo.delete_image(image.image_name)


if __name__ == "__main__":
    _common.main(run)
