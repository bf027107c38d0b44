"""The two-tower's history bag: the mean embedding of the user's items, with a pair's own item left out."""

import torch

from framework.data.interactions.table import InteractionSpec
from framework.data.tabular.features import Feature, FeatureSpec
from framework.models.retrieval.two_tower import TwoTower

SPEC = InteractionSpec(
    n_users=3,
    n_items=4,
    user=FeatureSpec((Feature("user_id", "categorical", 3),), "user"),
    item=FeatureSpec((Feature("item_id", "categorical", 4),), "item"),
)


def _model() -> TwoTower:
    torch.manual_seed(0)
    model = TwoTower(SPEC, embedding_dim=8, field_dim=4, hidden_units=[], history=True)
    # user 0 saw items 1 and 2, user 1 nothing, user 2 item 3
    model.set_history(torch.tensor([0, 2, 2, 3]), torch.tensor([1, 2, 3]))
    return model


def test_bag_is_the_mean_of_the_history_embeddings():
    model = _model()
    table = model.history.table.weight
    bag = model._history_bag(torch.tensor([0, 1, 2]), None)
    torch.testing.assert_close(bag[0], (table[1] + table[2]) / 2)
    torch.testing.assert_close(bag[1], torch.zeros(4))  # an empty history
    torch.testing.assert_close(bag[2], table[3])


def test_training_pairs_leave_their_own_item_out():
    model = _model()
    table = model.history.table.weight
    bag = model._history_bag(torch.tensor([0, 0, 2]), torch.tensor([1, 3, 3]))
    torch.testing.assert_close(bag[0], table[2])  # item 1 left out: only item 2 remains
    torch.testing.assert_close(bag[1], (table[1] + table[2]) / 2)  # item 3 is not in user 0's history
    torch.testing.assert_close(bag[2], torch.zeros(4))


def test_history_changes_the_user_vector_and_survives_a_state_dict_round_trip():
    model = _model()
    users = torch.tensor([[0], [2]])
    with_history = model.user_vectors(users, torch.zeros(2, 0))
    copy = TwoTower(SPEC, embedding_dim=8, field_dim=4, hidden_units=[], history=True)
    copy.load_state_dict(model.state_dict())
    torch.testing.assert_close(copy.user_vectors(users, torch.zeros(2, 0)), with_history)
    copy.set_history(torch.zeros(4, dtype=torch.long), torch.zeros(0, dtype=torch.long))
    assert not torch.allclose(copy.user_vectors(users, torch.zeros(2, 0)), with_history)
