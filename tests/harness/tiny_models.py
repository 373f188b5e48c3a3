"""Build tiny, randomly initialised SD1.5 and SDXL diffusers pipelines (no downloads).

Run with the InvokeAI venv's python: ``python tiny_models.py OUT_DIR``. Writes
``OUT_DIR/tiny-sd15``, ``OUT_DIR/tiny-sdxl`` and ``OUT_DIR/tiny-vae`` (the SD1.5 VAE on its own).
The images these models make are noise, but every node and event on the server is the real one.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)


def _byte_table() -> list[str]:
    """The byte-to-unicode table of byte-level BPE tokenizers."""
    visible = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = visible[:]
    extra = 0
    for byte in range(256):
        if byte not in visible:
            visible.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def _tokenizer(folder: Path, pad_token: str) -> CLIPTokenizer:
    folder.mkdir(parents=True, exist_ok=True)
    chars = _byte_table()
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(
        vocab_file=str(folder / "vocab.json"),
        merges_file=str(folder / "merges.txt"),
        pad_token=pad_token,
        model_max_length=77,
    )


def _text_encoder(layers: int) -> CLIPTextModel:
    config = CLIPTextConfig(
        vocab_size=514,
        hidden_size=768,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=2,
        max_position_embeddings=77,
    )
    return CLIPTextModel(config)


def _vae() -> AutoencoderKL:
    return AutoencoderKL(
        latent_channels=4,
        block_out_channels=(8, 8, 8, 8),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=64,
    )


def build_sd15(out: Path, scratch: Path) -> None:
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=768,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    pipe = StableDiffusionPipeline(
        vae=_vae(),
        text_encoder=_text_encoder(1),
        tokenizer=_tokenizer(scratch / "tok-sd15", "<|endoftext|>"),
        unet=unet,
        scheduler=PNDMScheduler(skip_prk_steps=True),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out)


def build_sdxl(out: Path, scratch: Path) -> None:
    encoder_2 = CLIPTextModelWithProjection(
        CLIPTextConfig(
            vocab_size=514,
            hidden_size=1280,
            projection_dim=1280,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=2048,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=1280 + 6 * 256,
        transformer_layers_per_block=(1, 1),
        norm_num_groups=8,
    )
    pipe = StableDiffusionXLPipeline(
        vae=_vae(),
        text_encoder=_text_encoder(2),
        text_encoder_2=encoder_2,
        tokenizer=_tokenizer(scratch / "tok-sdxl-1", "<|endoftext|>"),
        tokenizer_2=_tokenizer(scratch / "tok-sdxl-2", "!"),
        unet=unet,
        scheduler=EulerDiscreteScheduler(),
    )
    pipe.save_pretrained(out)


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        build_sd15(out / "tiny-sd15", Path(scratch))
        build_sdxl(out / "tiny-sdxl", Path(scratch))
    shutil.copytree(out / "tiny-sd15" / "vae", out / "tiny-vae", dirs_exist_ok=True)


if __name__ == "__main__":
    main(sys.argv[1])
