"""The two encoders of text -> video search, trained together with the symmetric contrastive (CLIP) loss.

    pooling=mean (a bag of frames, blind to their order), unit vectors [B, dim]:
      text   token ids [B, L] (0 = padding) -> embeddings + positions -> `text_layers` Transformer encoder
             layers (0: none) -> mean over real tokens -> Linear -> unit
      video  frame features [B, T, D] with their counts [B] -> MLP(mean of the real frames) -> unit
    pooling=temporal, [B, 2 dim] = [content (unit) | order (in the unit ball)]:
      video  Linear per frame -> `video_layers` Transformer layers (0: none) -> per-frame MLP ->
             content: Linear(mean over frames) -> unit
             order:   tanh(Linear(time moment)) / sqrt(dim), the time moment sum_t z_t x_t with z_t the frame's
                      standardised position: "which event comes first" is its sign
      text   the same token encoder -> content: Linear(mean) -> unit
             order: g x tanh(Linear(the tokens' time moment)) / sqrt(dim). A salience softmax weighs the words
             that carry the order (the events, not the place or the subject) and their positions are standardised
             around their own centre, so "kitchen slices then simmers" and "a man slices then simmers at the
             kitchen" give the same moment; g = sigmoid(max over tokens of a learned score) says whether the text
             states an order at all ("then"): a bag of words ("kitchen slices simmers") keeps g near 0 and is
             scored on content alone.
    score = query . video = content cosine + g x order agreement. The order half is not normalised: a video
    whose moment says little (events spread, few frames) keeps a short order vector instead of one stretched
    to unit length, so order breaks ties between videos with the right events rather than adding noise to
    every score (normalised halves cost 0.05-0.09 nDCG@10 on order queries; BENCHMARKS.md).

Why moments and not a Transformer with position embeddings pooled by a mean: that encoder fits the order of
its training videos without learning it (BENCHMARKS.md, "YouTube video search"); a first moment in time is
order by construction, and the same feature on both sides (frames in time, words in a sentence) lets the
text -> video match compose ("slices" early, "simmers" late) instead of memorising each video. A temporal
encoder is trained with `contrastive.reversal_weight` (a caption that states an order must score its video
above the video played backwards; Bagad et al. 2023, "Test of Time").

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


def reverse_frames(frames: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Each video's real frames in reverse order, its padding left where it was: [B, T, D]."""
    t = torch.arange(frames.shape[1], device=frames.device)[None, :]
    order = torch.where(t < counts[:, None], counts[:, None] - 1 - t, t)
    return frames.gather(1, order[..., None].expand_as(frames))


def _time_moment(x: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """[B, W]: sum_t w_t z_t x_t, z_t the position t standardised under the weights w (mean 0, variance 1 over
    the real positions; w uniform when None). "Which comes first" becomes a sign, whatever the length or
    where the weighted words sit in the sentence."""
    w = mask.to(x.dtype) if weights is None else weights * mask.to(x.dtype)
    w = w / w.sum(1, keepdim=True).clamp_min(1e-6)
    t = torch.arange(x.shape[1], device=x.device, dtype=x.dtype)[None, :]
    centre = (w * t).sum(1, keepdim=True)
    spread = (w * (t - centre) ** 2).sum(1, keepdim=True).sqrt().clamp_min(1e-3)
    return ((w * (t - centre) / spread)[..., None] * x).sum(1)


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
        video_layers: int = 0,
        attention_heads: int = 4,
        pooling: Literal["mean", "temporal"] = "temporal",
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "temporal"):
            raise ValueError(f"pooling must be 'mean' or 'temporal', got {pooling!r}")
        self.pooling = pooling
        self.dim = dim if pooling == "mean" else 2 * dim  # temporal: content and order halves
        s = feature_spec
        vocab_size, max_tokens, feature_dim = s.vocab_size, s.max_tokens, s.feature_dim
        self.token_embedding = nn.Embedding(vocab_size, width, padding_idx=0)
        self.token_position = nn.Parameter(torch.zeros(max_tokens, width))
        self.text_encoder = _encoder(width, text_layers, attention_heads)
        self.text_out = nn.Linear(width, dim)
        self.frame_in = nn.Linear(feature_dim, width)
        if pooling == "temporal":
            self.order_salience = nn.Linear(width, 1)  # which words carry the order
            self.order_gate = nn.Linear(width, 1)  # does the text state an order?
            self.text_order_out = nn.Linear(width, dim, bias=False)
            self.video_encoder = _encoder(width, video_layers, attention_heads)
            self.frame_mlp = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU())
            self.video_out = nn.Linear(width, dim)
            self.video_order_out = nn.Linear(width, dim, bias=False)
        else:
            self.video_out = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, dim))

    @staticmethod
    def _bounded(order: torch.Tensor) -> torch.Tensor:
        """The order half inside the unit ball (each coordinate tanh-bounded, scaled by 1/sqrt(dim)): its
        length says how much order there is to match."""
        return torch.tanh(order) / order.shape[1] ** 0.5

    def texts(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.long()
        mask = tokens > 0
        x = self.token_embedding(tokens) + self.token_position[: tokens.shape[1]]
        if self.text_encoder is not None:
            x = self.text_encoder(x, src_key_padding_mask=~mask)
        content = F.normalize(self.text_out(_masked_mean(x, mask)), dim=1)
        if self.pooling == "mean":
            return content
        salience = torch.softmax(self.order_salience(x).squeeze(-1).masked_fill(~mask, -1e4), dim=1)
        gate = torch.sigmoid(self.order_gate(x).squeeze(-1).masked_fill(~mask, -1e4).amax(1, keepdim=True))
        return torch.cat([content, gate * self._bounded(self.text_order_out(_time_moment(x, mask, salience)))], 1)

    def videos(self, frames: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        mask = torch.arange(frames.shape[1], device=frames.device)[None, :] < counts[:, None]
        if self.pooling == "mean":  # a bag of frames: mean first, so order cannot matter
            return F.normalize(self.video_out(self.frame_in(_masked_mean(frames, mask))), dim=1)
        x = self.frame_in(frames)
        if self.video_encoder is not None:  # context between frames; no positions: the moment sees time
            x = self.video_encoder(x, src_key_padding_mask=~mask)
        x = self.frame_mlp(x)
        content = F.normalize(self.video_out(_masked_mean(x, mask)), dim=1)
        return torch.cat([content, self._bounded(self.video_order_out(_time_moment(x, mask)))], 1)
