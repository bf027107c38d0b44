"""The two encoders of text -> video search, trained together with the symmetric contrastive (CLIP) loss.

    text   token ids [B, L] (0 = padding) -> embeddings + positions -> `text_layers` Transformer encoder
           layers (0: none) -> mean over real tokens -> Linear -> unit vector [B, dim]
    video  frame features [B, T, D] with their counts [B] ->
             pooling=mean:      MLP(mean of the real frames)  (a bag of frames: blind to their order)
             pooling=temporal:  Linear -> + frame positions -> `video_layers` Transformer encoder layers over
                                the real frames -> mean -> Linear  (sees which event comes first)
           -> unit vector [B, dim]

One module holds both (`DualEncoder`): the task calls `texts(tokens)` and `videos(frames, counts)`.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from framework.data.retrieval.datamodule import RetrievalSpec


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    w = mask.to(x.dtype)[..., None]
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0)


def _encoder(width: int, layers: int, heads: int) -> nn.TransformerEncoder | None:
    if layers == 0:
        return None
    layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.1, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class DualEncoder(nn.Module):
    tasks = ("contrastive_retrieval",)
    modality = "videos"
    trainable = True

    def __init__(
        self,
        feature_spec: RetrievalSpec,
        dim: int = 64,
        width: int = 64,
        text_layers: int = 1,
        video_layers: int = 1,
        attention_heads: int = 4,
        pooling: Literal["mean", "temporal"] = "temporal",
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "temporal"):
            raise ValueError(f"pooling must be 'mean' or 'temporal', got {pooling!r}")
        self.pooling, self.dim = pooling, dim
        s = feature_spec
        vocab_size, max_tokens, feature_dim, max_frames = s.vocab_size, s.max_tokens, s.feature_dim, s.max_frames
        self.token_embedding = nn.Embedding(vocab_size, width, padding_idx=0)
        self.token_position = nn.Parameter(torch.zeros(max_tokens, width))
        self.text_encoder = _encoder(width, text_layers, attention_heads)
        self.text_out = nn.Linear(width, dim)
        self.frame_in = nn.Linear(feature_dim, width)
        if pooling == "temporal":
            self.frame_position = nn.Parameter(torch.randn(max_frames, width) * 0.02)
            self.video_encoder = _encoder(width, video_layers, attention_heads)
            self.video_out = nn.Linear(width, dim)
        else:
            self.video_out = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, dim))

    def texts(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.long()
        mask = tokens > 0
        x = self.token_embedding(tokens) + self.token_position[: tokens.shape[1]]
        if self.text_encoder is not None:
            x = self.text_encoder(x, src_key_padding_mask=~mask)
        return F.normalize(self.text_out(_masked_mean(x, mask)), dim=1)

    def videos(self, frames: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        mask = torch.arange(frames.shape[1], device=frames.device)[None, :] < counts[:, None]
        if self.pooling == "mean":  # a bag of frames: mean first, so order cannot matter
            return F.normalize(self.video_out(self.frame_in(_masked_mean(frames, mask))), dim=1)
        x = self.frame_in(frames) + self.frame_position[: frames.shape[1]]
        if self.video_encoder is not None:
            x = self.video_encoder(x, src_key_padding_mask=~mask)
        return F.normalize(self.video_out(_masked_mean(x, mask)), dim=1)
