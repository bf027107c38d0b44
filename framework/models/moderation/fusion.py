"""A multimodal harmful-content classifier: text, image and author encoders, fused early or late, with one
multi-task network (a head per class) or one network per class.

    text    token ids [B, L] -> embeddings -> [mean, max] over the post's tokens -> Linear -> h_text [B, H]
    image   a precomputed image embedding [B, Di] -> MLP -> h_image [B, H]
    author  account age, prior violations, reports [B, Da] -> MLP -> h_author [B, H]

    early   logits = heads(MLP([h_text, h_image, h_author]))       one network sees the modalities together:
                                                                   it can learn a harm that lies in their
                                                                   combination (a caption that is hateful
                                                                   with this image only)
    late    logits = sum_m heads_m(MLP_m(h_m))                     each modality scores alone, the log-odds
                                                                   add up (a product of experts): cheaper to
                                                                   extend and debug, blind to interactions

`per_class=true` builds one such network per class (own encoders, own head: the single-task baseline);
false shares everything below the heads (multi-task: rare classes borrow the text encoder the frequent
ones train). `modalities` restricts the inputs (e.g. [text]: the neural text encoder alone); a modality
the data lacks (Jigsaw and Davidson are text only) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from framework.data.moderation.datamodule import PostSpec
from framework.models.layers import MLP

MODALITIES = ("text", "image", "author")


class TextEncoder(nn.Module):
    """[B, L] ids (0 = padding) -> [B, H]: mean and max of the token embeddings, projected."""

    def __init__(self, vocab_size: int, dim: int, out_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        nn.init.normal_(self.embedding.weight, std=0.1)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.proj = nn.Sequential(nn.Linear(2 * dim, out_dim), nn.ReLU())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        # embedding_bag pools without materialising [B, L, E] (a plain lookup's backward was 2-4x slower
        # on CPU); padding (id 0) is skipped, an empty post pools to 0
        ids, w = tokens.long(), self.embedding.weight
        mean = F.embedding_bag(ids, w, mode="mean", padding_idx=0)
        top = F.embedding_bag(ids, w, mode="max", padding_idx=0)
        return self.proj(torch.cat([mean, top], dim=1))


class _Network(nn.Module):
    """One fused network over `modalities` with `n_out` logits."""

    def __init__(
        self,
        spec: PostSpec,
        modalities: Sequence[str],
        n_out: int,
        fusion: str,
        embedding_dim: int,
        modality_dim: int,
        hidden_units: Sequence[int],
        dropout: float,
    ) -> None:
        super().__init__()
        self.modalities, self.fusion = tuple(modalities), fusion
        enc: dict[str, nn.Module] = {}
        if "text" in self.modalities:
            enc["text"] = TextEncoder(spec.vocab_size, embedding_dim, modality_dim)
        if "image" in self.modalities:
            enc["image"] = MLP(spec.image_dim, [modality_dim], dropout)
        if "author" in self.modalities:
            enc["author"] = MLP(spec.author_dim, [modality_dim], dropout)
        self.encoders = nn.ModuleDict(enc)
        if fusion == "early":
            self.mlp = MLP(modality_dim * len(enc), hidden_units, dropout)
            self.out = nn.Linear(self.mlp.out_dim, n_out)
        else:
            self.mlps = nn.ModuleDict({m: MLP(modality_dim, hidden_units, dropout) for m in enc})
            self.outs = nn.ModuleDict({m: nn.Linear(self.mlps[m].out_dim, n_out) for m in enc})

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        h = {m: self.encoders[m](inputs[m]) for m in self.encoders}
        if self.fusion == "early":
            return self.out(self.mlp(torch.cat([h[m] for m in self.encoders], dim=1)))
        return torch.stack([self.outs[m](self.mlps[m](h[m])) for m in self.encoders]).sum(0)


class MultimodalClassifier(nn.Module):
    """`model(tokens, image, author) -> [B, C]` logits, one per class (see the module docstring)."""

    tasks = ("multi_label",)

    def __init__(
        self,
        feature_spec: PostSpec,
        heads: Sequence[str],
        fusion: Literal["early", "late"] = "early",
        per_class: bool = False,
        modalities: Sequence[str] = MODALITIES,
        embedding_dim: int = 32,
        modality_dim: int = 32,
        hidden_units: Sequence[int] = (64,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not heads:
            raise ValueError("a multi-label model needs at least one head")
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown or not modalities:
            raise ValueError(f"modalities must be a non-empty subset of {list(MODALITIES)}, got {list(modalities)}")
        if fusion not in ("early", "late"):
            raise ValueError(f"fusion must be 'early' or 'late', got {fusion!r}")
        widths = {"text": feature_spec.vocab_size, "image": feature_spec.image_dim, "author": feature_spec.author_dim}
        self.modalities = tuple(m for m in modalities if widths[m] > 0)  # what the data has
        if not self.modalities:
            raise ValueError(f"the data has none of the modalities {list(modalities)}")
        self.heads, self.per_class = tuple(heads), per_class
        args = (fusion, embedding_dim, modality_dim, hidden_units, dropout)
        n_nets, n_out = (len(self.heads), 1) if per_class else (1, len(self.heads))
        self.networks = nn.ModuleList(_Network(feature_spec, self.modalities, n_out, *args) for _ in range(n_nets))

    def forward(self, tokens: torch.Tensor, image: torch.Tensor, author: torch.Tensor) -> torch.Tensor:
        inputs = {"text": tokens, "image": image, "author": author}
        return torch.cat([net(inputs) for net in self.networks], dim=1)  # [B, C]
