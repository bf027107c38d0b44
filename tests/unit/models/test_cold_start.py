"""Cold-start vectors by hand: neighbours of the same segment (most clicked first, never the item itself,
only items with clicks), the market as fallback, the mean vector, and the scorer that ranks as it does."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from framework.models.embedding.cold_start import ColdStartScorer, cold_start_vectors, similar_listings
from framework.models.embedding.skipgram import EmbeddingScorer

# items 0-6: market, type; item 6 is alone in its segment (market 1, type 1)
MARKET = np.array([0, 0, 0, 0, 1, 1, 1])
KIND = np.array([0, 0, 0, 1, 0, 0, 1])
COUNTS = np.array([5, 9, 0, 3, 2, 7, 1])


def test_neighbours_are_the_most_clicked_of_the_segment_then_the_market() -> None:
    nb = similar_listings({"market": MARKET, "type": KIND}, COUNTS, k=2)
    # segment (0, 0) = {0, 1, 2}: 2 has no clicks, so item 0 -> [1], item 1 -> [0], item 2 -> [1, 0]
    assert nb[0].tolist() == [1, -1]
    assert nb[1].tolist() == [0, -1]
    assert nb[2].tolist() == [1, 0]
    # item 3 is alone in segment (0, 1): its market's most clicked, 1 then 0
    assert nb[3].tolist() == [1, 0]
    assert nb[4].tolist() == [5, -1] and nb[5].tolist() == [4, -1]
    # item 6 alone in (1, 1): market 1's most clicked other than itself
    assert nb[6].tolist() == [5, 4]


def test_cold_start_vector_is_the_normalised_mean() -> None:
    vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    nb = np.array([[1, 2], [-1, -1], [0, -1]])
    out = cold_start_vectors(vectors, nb)
    # row 0: mean of (0, 1) and (3, 3) = (1.5, 2) -> (0.6, 0.8); row 1: no neighbours -> zeros
    assert torch.allclose(out, torch.tensor([[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]]))


def test_cold_start_scorer_ranks_as_the_cold_start_vector() -> None:
    g = torch.Generator().manual_seed(0)
    vectors = torch.nn.functional.normalize(torch.randn(7, 4, generator=g), dim=1)
    nb = similar_listings({"market": MARKET, "type": KIND}, COUNTS, k=3)
    cold = ColdStartScorer(EmbeddingScorer(vectors, vectors), nb).scores(np.arange(7))
    direct = (cold_start_vectors(vectors, nb) @ vectors.T).double()
    # same order per row: each row of `cold` is `direct` times the positive norm of the mean vector
    ratio = cold / direct
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-5) and (ratio > 0).all()
    # item 3 falls back to market 0's clicked listings 1 and 0: the mean of their two score rows
    assert nb[3].tolist() == [1, 0, -1]
    expected = (vectors[1] @ vectors[2] + vectors[0] @ vectors[2]) / 2
    assert math.isclose(float(cold[3, 2]), float(expected), rel_tol=1e-6)


def test_attributes_are_required() -> None:
    with pytest.raises(ValueError, match="attributes"):
        similar_listings({}, COUNTS)
