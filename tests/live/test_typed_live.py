"""Generated modules run on the real server through run(), arun() and sweep()."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from ivkgen.runtime import InvokeAIVersionWarning
from ivkgen.runtime._client import AsyncInvokeAIClient, InvokeAIClient
from ivkgen.runtime._errors import WorkflowError
from PIL import Image

from generated.image_pipeline import ImagePipeline, ImagePipelineInputs, ImagePipelineOutputs
from generated.sd15_text_to_image import Sd15TextToImage, Sd15TextToImageInputs
from generated.width_sweep import WidthSweep, WidthSweepInputs


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url) as client:
        yield client


def test_run_returns_typed_outputs_whose_images_download(client: InvokeAIClient) -> None:
    outputs = ImagePipeline().run(client, ImagePipelineInputs(canvas_width=80, crop_size=40))
    assert isinstance(outputs, ImagePipelineOutputs)
    (image,) = outputs.save
    assert image.to_pil().size == (40, 48)
    assert image.node_label == "Save"
    client.image_repo.delete_image(image.image_name)


def test_model_given_by_name_is_resolved_and_the_sd15_module_runs(client: InvokeAIClient) -> None:
    inputs = Sd15TextToImageInputs(model="tiny-sd15", width=64, height=64, steps=2)
    outputs = Sd15TextToImage().run(client, inputs, timeout=300)
    (image,) = outputs.decode
    assert image.to_pil().size == (64, 64)
    client.image_repo.delete_image(image.image_name)


def test_unknown_model_name_is_reported_before_submission(client: InvokeAIClient) -> None:
    with pytest.raises(Exception, match="no model named 'no-such-model'"):
        Sd15TextToImage().run(client, Sd15TextToImageInputs(model="no-such-model"))


def test_a_model_of_another_base_is_refused_naming_those_the_input_takes(
    client: InvokeAIClient,
) -> None:
    before = client.queue_repo.get_status().queue.total
    with pytest.raises(WorkflowError) as caught:
        Sd15TextToImage().run(client, Sd15TextToImageInputs(model="tiny-sdxl"))
    assert str(caught.value) == (
        "input 'Model' (node main_model_loader:2pkAFEn3z5, field model): takes a main model of "
        "base sd-1 or sd-2; 'tiny-sdxl' is a main model of base sdxl; installed models it takes: "
        "'tiny-sd15' (sd-1)"
    )
    assert client.queue_repo.get_status().queue.total == before  # nothing was enqueued


async def test_arun_collects_every_iterated_image_and_its_images_save_awaited(
    server_url: str, tmp_path: Path
) -> None:
    async with AsyncInvokeAIClient.from_url(server_url) as client:
        with warnings.catch_warnings():  # the module was made for the server's InvokeAI
            warnings.simplefilter("error", InvokeAIVersionWarning)
            outputs = await WidthSweep().arun(client, WidthSweepInputs(count=2, height=16))
        paths = [await image.asave(tmp_path) for image in outputs.blur]
        assert sorted(path.name for path in paths) == sorted(i.image_name for i in outputs.blur)
        sizes = [(await image.ato_pil()).size for image in outputs.blur]
        assert sorted(Image.open(path).size for path in paths) == sorted(sizes)
        assert sorted(sizes) == [(32, 16), (48, 16)]
        with pytest.raises(TypeError, match="async client"):
            outputs.blur[0].save(tmp_path)
        for image in outputs.blur:
            await client.image_repo.delete_image(image.image_name)


def test_sweep_returns_one_output_per_value(client: InvokeAIClient) -> None:
    results = ImagePipeline().sweep(client, ImagePipelineInputs(), "crop_size", [16, 24, 32])
    sizes = [result.save[0].to_pil().size for result in results]
    assert sizes == [(16, 48), (24, 48), (32, 48)]
    for result in results:
        client.image_repo.delete_image(result.save[0].image_name)


async def test_asweep_and_asubmit_run_on_an_async_client(server_url: str) -> None:
    async with AsyncInvokeAIClient.from_url(server_url) as client:
        pipeline, inputs = ImagePipeline(), ImagePipelineInputs()
        results = await pipeline.asweep(client, inputs, "crop_size", [16, 24])
        sizes = [(await result.save[0].ato_pil()).size for result in results]
        assert sizes == [(16, 48), (24, 48)]
        async with await pipeline.asubmit(client, inputs) as handle:
            job = await handle.wait_for_completion(timeout=60)
            assert job.status == "completed"
            (image,) = pipeline.outputs(await handle.aget_output_files()).save
            assert (await image.ato_pil()).size == (48, 48)
            await handle.acleanup_outputs()
            await handle.acleanup_queue_items()
        for result in results:
            await client.image_repo.delete_image(result.save[0].image_name)


def test_the_sdxl_module_runs_with_the_tiny_model(
    client: InvokeAIClient, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivkgen.generator.package import generate_modules

    source = shared_dir / "data" / "workflows" / "sdxl-text-to-image.json"
    generate_modules([source], tmp_path / "sdxl")
    monkeypatch.syspath_prepend(str(tmp_path))
    from sdxl.sdxl_text_to_image import (  # type: ignore[import-not-found]
        SdxlTextToImage,
        SdxlTextToImageInputs,
    )

    inputs = SdxlTextToImageInputs(model="tiny-sdxl", width=64, height=64, steps=2)
    outputs = SdxlTextToImage().run(client, inputs, timeout=300)
    images = [image for node in outputs.model_dump().values() for image in node]
    assert images, "the SDXL module produced no output image"
    for image in images:
        client.image_repo.delete_image(image["image_name"])
