"""Frozen CLIP text tower (ViT-L/14 in the paper) loaded from a local path; nothing is downloaded.

Two on-disk formats are read:
- transformers: a directory with `config.json` (model_type `clip` or `clip_text_model`), its
  weights and tokenizer files, as written by `save_pretrained` (e.g. openai/clip-vit-large-patch14);
- open_clip: a directory with `open_clip_config.json` + `open_clip_model.safetensors` or
  `open_clip_pytorch_model.bin`, or a single OpenAI checkpoint file such as `ViT-L-14.pt`
  (needs the optional `open_clip` package).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from intersyn.errors import InterSynError
from intersyn.text.base import TextFeatures, validate_captions, warn_truncated

CLIP_CONTEXT = 77  # CLIP's positional table length; longer captions are truncated
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
OPEN_CLIP_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

ClipFormat = Literal["transformers", "open_clip"]


def detect_clip_format(path: Path) -> ClipFormat:
    """Say which CLIP format `path` holds, or raise `InterSynError` naming the path."""
    if not path.exists():
        raise InterSynError(
            f"CLIP path {path} does not exist; expected a local CLIP model (transformers or "
            "open_clip format). Nothing is downloaded"
        )
    if path.is_file():
        if path.suffix in WEIGHT_SUFFIXES:
            return "open_clip"
    elif (path / "config.json").is_file():
        return "transformers"
    elif (path / "open_clip_config.json").is_file():
        return "open_clip"
    raise InterSynError(
        f"CLIP path {path} holds no CLIP model; expected a directory with config.json "
        "(transformers), one with open_clip_config.json (open_clip) or an OpenAI .pt checkpoint"
    )


def _fingerprint(path: Path) -> str:
    """Hash the path, its config files and its weight files' sizes and mtimes (cheap, no reads)."""
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    digest = hashlib.sha256(str(path.resolve()).encode())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        if file.suffix == ".json":
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """Silence transformers' load report and progress bar, then restore both settings."""
    # Loading a full CLIPModel checkpoint into the text tower reports every unused vision
    # tensor; the keys that matter (missing or mismatched) are checked by the caller instead.
    verbosity, bars = (
        transformers.logging.get_verbosity(),
        transformers.logging.is_progress_bar_enabled(),
    )
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.logging.enable_progress_bar()


class _TransformersTower:
    """A transformers CLIP text model (with projection when the checkpoint has one)."""

    def __init__(self, path: Path) -> None:
        try:
            import transformers
        except ImportError:
            raise InterSynError(
                f"CLIP path {path} is in transformers format, which needs the transformers "
                "package; expected `pip install 'intersyn[clip]'`"
            ) from None
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InterSynError(f"CLIP path {path}: unreadable config.json ({exc})") from None
        model_type, architectures = config.get("model_type"), config.get("architectures") or []
        if model_type == "clip" or "CLIPTextModelWithProjection" in architectures:
            # Loads only the text tower (+ text_projection) even from a full CLIPModel checkpoint.
            model_cls: Any = transformers.CLIPTextModelWithProjection
        elif model_type == "clip_text_model":
            model_cls = transformers.CLIPTextModel
        else:
            raise InterSynError(
                f"CLIP path {path}: config.json has model_type {model_type!r}; expected 'clip' or "
                "'clip_text_model'"
            )
        try:
            with _quiet(transformers):
                load_kwargs: dict[str, Any] = {
                    "local_files_only": True,
                    "output_loading_info": True,
                }
                if model_type == "clip":
                    # The projection width lives on the outer config, not in text_config.
                    text_config = transformers.CLIPTextConfig.from_pretrained(
                        path, local_files_only=True
                    )
                    text_config.projection_dim = config.get(
                        "projection_dim", text_config.projection_dim
                    )
                    load_kwargs["config"] = text_config
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    path, local_files_only=True
                )
                self.model, info = model_cls.from_pretrained(path, **load_kwargs)
        except Exception as exc:  # transformers raises OSError/ValueError/KeyError variously
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise InterSynError(
                f"CLIP path {path}: could not load a transformers CLIP ({first_line})"
            ) from None
        bad = list(info.get("missing_keys", [])) + list(info.get("mismatched_keys", []))
        if bad:
            raise InterSynError(
                f"CLIP path {path}: {len(bad)} tensor(s) of the text tower are missing or of the "
                f"wrong shape (e.g. {bad[0]}); expected a complete CLIP checkpoint"
            )
        self.eos_id = int(self.tokenizer.eos_token_id)
        pad = self.tokenizer.pad_token_id
        self.pad_id = self.eos_id if pad is None else int(pad)
        self.context = int(self.model.config.max_position_embeddings)
        self.dim = int(self.model.config.hidden_size)
        projection = getattr(self.model.config, "projection_dim", None)
        has_projection = hasattr(self.model, "text_projection")
        self.pooled_dim = int(projection) if has_projection and projection else self.dim

    def token_ids(self, captions: list[str]) -> list[list[int]]:
        """Full token ids per caption with start and end tokens, untruncated."""
        return [list(ids) for ids in self.tokenizer(captions)["input_ids"]]

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the tower: `ids (B, L)` -> last hidden state `(B, L, C)`, pooled `(B, C')`."""
        out = self.model(input_ids=ids, attention_mask=mask.long())
        pooled = getattr(out, "text_embeds", None)  # projected EOT state (CLIPModel checkpoints)
        if pooled is None:
            pooled = out.pooler_output  # EOT state after the final layer norm
        return out.last_hidden_state, pooled


class _OpenClipTower:
    """An open_clip CLIP text tower (read from open_clip's own local formats)."""

    def __init__(self, path: Path) -> None:
        try:
            import open_clip
        except ImportError:
            raise InterSynError(
                f"CLIP path {path} is in open_clip format, which needs the open_clip package "
                "(not installed); expected `pip install open_clip_torch`, or convert it to a "
                "transformers-format directory"
            ) from None
        if path.is_file():
            # OpenAI's released checkpoint (e.g. ViT-L-14.pt, TorchScript or state dict).
            model = open_clip.load_openai_model(str(path), device="cpu")
            tokenizer_name = "ViT-L-14"
        else:
            model, tokenizer_name = self._from_directory(open_clip, path)
        self.tokenizer = open_clip.get_tokenizer(tokenizer_name)
        self.model = model
        self.tower = getattr(model, "text", model)  # CustomTextCLIP keeps its tower in `.text`
        self.eos_id = int(self.tokenizer.encoder["<end_of_text>"])
        self.sot_id = int(self.tokenizer.encoder["<start_of_text>"])
        self.pad_id = 0
        self.context = int(self.tower.positional_embedding.shape[0])
        self.dim = int(self.tower.positional_embedding.shape[1])
        projection = self.tower.text_projection
        self.pooled_dim = int(
            projection.out_features
            if isinstance(projection, torch.nn.Linear)
            else projection.shape[1]
        )

    @staticmethod
    def _from_directory(open_clip: Any, path: Path) -> tuple[Any, str]:
        """Build the model from `open_clip_config.json` and load the weights beside it."""
        try:
            model_cfg = json.loads((path / "open_clip_config.json").read_text("utf-8"))["model_cfg"]
        except (OSError, ValueError, KeyError) as exc:
            raise InterSynError(
                f"CLIP path {path}: unreadable open_clip_config.json ({exc!r}); expected a "
                "'model_cfg' entry"
            ) from None
        if "hf_tokenizer_name" in model_cfg.get("text_cfg", {}):
            raise InterSynError(
                f"CLIP path {path}: this open_clip model uses a Hugging Face tokenizer that would "
                "be downloaded; expected a standard CLIP text tower (e.g. ViT-L-14)"
            )
        weights = next((path / n for n in OPEN_CLIP_WEIGHTS if (path / n).is_file()), None)
        if weights is None:
            raise InterSynError(
                f"CLIP path {path} holds no open_clip weights; expected one of {OPEN_CLIP_WEIGHTS}"
            )
        # Register the config under a private name so open_clip builds that exact architecture.
        name = "intersyn-local-" + hashlib.sha256(json.dumps(model_cfg).encode()).hexdigest()[:12]
        with tempfile.TemporaryDirectory() as tmp:
            config_file = Path(tmp) / f"{name}.json"
            config_file.write_text(json.dumps(model_cfg), encoding="utf-8")
            open_clip.add_model_config(config_file)
        model = open_clip.create_model(name, pretrained=str(weights), device="cpu")
        return model, name

    def token_ids(self, captions: list[str]) -> list[list[int]]:
        """Full token ids per caption with start and end tokens, untruncated."""
        return [[self.sot_id, *self.tokenizer.encode(c), self.eos_id] for c in captions]

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the tower: `ids (B, L)` -> final-layer-norm states `(B, L, C)`, pooled `(B, C')`."""
        tower, length = self.tower, ids.shape[1]
        x = tower.token_embedding(ids) + tower.positional_embedding[:length]  # (B, L, C)
        attn_mask = tower.attn_mask
        attn_mask = None if attn_mask is None else attn_mask[:length, :length]  # causal
        batch_first = getattr(tower.transformer, "batch_first", False)
        x = x if batch_first else x.transpose(0, 1)
        x = tower.transformer(x, attn_mask=attn_mask)
        x = tower.ln_final(x if batch_first else x.transpose(0, 1))  # (B, L, C)
        eot = x[torch.arange(x.shape[0], device=x.device), lengths - 1]  # (B, C)
        projection = tower.text_projection
        pooled = projection(eot) if isinstance(projection, torch.nn.Module) else eot @ projection
        return x, pooled


class ClipTextEncoder:
    """Frozen CLIP text tower: tokens = last hidden states, pooled = the (projected) EOT state.

    `tokens (B, L, C)` with L <= `max_tokens` <= 77 including the start and end tokens;
    truncated captions keep their end token so the EOT pooling still sees one.
    """

    def __init__(
        self, path: str | Path, device: torch.device | str = "cpu", max_tokens: int = CLIP_CONTEXT
    ) -> None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 2:
            raise InterSynError(f"max_tokens={max_tokens!r}; expected an int >= 2 for CLIP")
        root = Path(path).expanduser()
        self.format = detect_clip_format(root)
        self._tower: _TransformersTower | _OpenClipTower = (
            _TransformersTower(root) if self.format == "transformers" else _OpenClipTower(root)
        )
        self.device = torch.device(device)
        self._tower.model.eval().requires_grad_(False).to(device=self.device, dtype=torch.float32)
        self.path = root
        self.max_tokens = min(max_tokens, self._tower.context)
        self.dim = self._tower.dim
        self.pooled_dim = self._tower.pooled_dim
        self.name = f"clip:{self.format}:{_fingerprint(root)}:max{self.max_tokens}"

    def __repr__(self) -> str:
        return f"ClipTextEncoder(path={str(self.path)!r}, name={self.name!r}, device={self.device})"

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        """Encode B captions into `tokens (B, L, C)`, `token_mask (B, L)`, `pooled (B, C')`."""
        captions = validate_captions(captions)
        rows = self._tower.token_ids(captions)
        for index, row in enumerate(rows):
            if len(row) > self.max_tokens:
                warn_truncated(index, captions[index], len(row), self.max_tokens)
                rows[index] = row[: self.max_tokens - 1] + [self._tower.eos_id]
        lengths = torch.tensor([len(row) for row in rows], device=self.device)  # (B,)
        length = int(lengths.max())
        ids = torch.full((len(rows), length), self._tower.pad_id, dtype=torch.long)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
        ids = ids.to(self.device)
        mask = torch.arange(length, device=self.device) < lengths[:, None]  # (B, L)
        with torch.inference_mode():
            hidden, pooled = self._tower.forward(ids, mask, lengths)
            hidden = hidden.float() * mask[..., None]  # padded positions exactly zero
        # Cloning outside inference mode gives ordinary tensors that autograd may save later.
        return TextFeatures(hidden.clone(), mask.clone(), pooled.float().clone())
