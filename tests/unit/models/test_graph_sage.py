"""GraphSAGE link scorer: the served user blocks equal pair scoring, for every decoder and pair feature."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from framework.data.graph.datamodule import GraphSpec
from framework.data.graph.structure import GraphStructure
from framework.models.graph.graph_sage import GraphSAGE


@pytest.fixture(scope="module")
def structure() -> GraphStructure:
    rng = np.random.default_rng(0)
    src, dst = rng.integers(40, size=150), rng.integers(40, size=150)
    keep = src < dst
    features = torch.from_numpy(rng.integers(3, size=(40, 1)))
    return GraphStructure.from_edges(src[keep], dst[keep], 40, features)


@pytest.mark.parametrize(
    "options",
    [
        {"decoder": "dot", "structural": []},
        {"decoder": "hadamard_mlp", "structural": ["common_neighbours", "resource_allocation"]},
        {"decoder": "hadamard_mlp", "structural": [], "common_neighbour_vectors": True, "aggregator": "max"},
    ],
)
def test_user_blocks_equal_pair_scores(structure: GraphStructure, options: dict) -> None:
    torch.manual_seed(0)
    model = GraphSAGE(GraphSpec(40, {"group": 3}), embedding_dim=8, hidden_dim=8, decoder_hidden=[8], **options)
    model.eval()
    scorer = model.scorer(structure)
    users = torch.tensor([0, 5, 17])
    block = scorer.users(users)
    assert block.shape == (3, 40)
    others = torch.arange(40)
    for row, user in enumerate(users.tolist()):
        pairs = scorer.pairs(torch.full((40,), user), others)
        torch.testing.assert_close(block[row], pairs, rtol=1e-4, atol=1e-5)


def test_a_model_needs_node_inputs() -> None:
    with pytest.raises(ValueError, match="needs node inputs"):
        GraphSAGE(GraphSpec(10, {}), use_ids=False)


def test_gradients_reach_every_part(structure: GraphStructure) -> None:
    model = GraphSAGE(GraphSpec(40, {"group": 3}), embedding_dim=8, hidden_dim=8, structural=["jaccard"])
    h = model.encode(structure)
    model.decode(h, structure, torch.tensor([0, 1]), torch.tensor([2, 3])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
