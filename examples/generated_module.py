"""The SD1.5 pipeline through its generated module: named, typed inputs instead of indices.

    python examples/generated_module.py [--async] [--out DIR] [--server URL] ...

``generated/sd15_text_to_image.py`` comes from
``make gen WORKFLOW=data/workflows/sd15-text-to-image.json``. The PNGs are saved in DIR and
deleted from the server.
"""

from __future__ import annotations

import argparse
import asyncio

from ivkgen.runtime import AsyncInvokeAIClient, InvokeAIClient

from examples import _common
from generated.sd15_text_to_image import Sd15TextToImage, Sd15TextToImageInputs


def inputs(args: argparse.Namespace) -> Sd15TextToImageInputs:
    # mypy checks every name and type here; the model is given by its name on the server
    return Sd15TextToImageInputs(
        model=args.model,
        positive_prompt="a lighthouse on a cliff, watercolor",
        width=args.size,
        height=args.size,
        steps=args.steps,
        scheduler="euler",
    )


def run_sync(args: argparse.Namespace) -> None:
    with InvokeAIClient.from_url(args.server) as client:
        outputs = Sd15TextToImage().run(client, inputs(args), timeout=args.timeout)
        for image in outputs.decode:  # one attribute per output node
            print(f"Saved {image.save(args.out)} (node {image.node_label!r})")
            client.image_repo.delete_image(image.image_name)


async def run_async(args: argparse.Namespace) -> None:
    async with AsyncInvokeAIClient.from_url(args.server) as client:
        outputs = await Sd15TextToImage().arun(client, inputs(args), timeout=args.timeout)
        for image in outputs.decode:
            print(f"Saved {await image.asave(args.out)} (node {image.node_label!r})")
            await client.image_repo.delete_image(image.image_name)


def run() -> None:
    parser = _common.parser(__doc__)
    parser.add_argument("--out", default="outputs", help="folder for the PNGs")
    parser.add_argument("--async", dest="use_async", action="store_true", help="use arun()")
    args = parser.parse_args()
    if args.use_async:
        asyncio.run(run_async(args))
    else:
        run_sync(args)


if __name__ == "__main__":
    _common.main(run)
