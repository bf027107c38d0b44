"""A seeded social graph that grows over time, for the people-you-may-know case: the graph at time t is
what the models see, the friendships formed after t (the temporal split's held-out edges) are what
they must predict (the book's framing: snapshots t and t+1).

Every user lives in a city and belongs to a school and a workplace of that city; a degree propensity
theta (log-normal) makes some users far more connected than others (degree heterogeneity). A seed of
friendships within school, workplace and city (both ends chosen in proportion to theta, a few at random)
starts the graph; then it grows in rounds, each round by two planted mechanisms:

- triadic closure (share `closure_share`): a friend of a friend, drawn by walking u - w - v in the graph
  so far and accepted with probability `closure_strength / degree(w)`: pairs with many common friends,
  and common friends with few friends of their own, close most often (what common neighbours and
  resource allocation measure);
- shared context (the rest): a new colleague or schoolmate, often with no common friend yet: only the
  node attributes (school, workplace, city) and the degree propensity tell these apart.

So 2-hop candidates miss part of the second kind, heuristics see only the first, and a model that reads
the attributes and the graph can find both. The same process before and after t: what a model learns
from the graph's own edges is what forms next.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from framework.data.graph.edges import EdgeList, pair_keys


def _within(groups: np.ndarray, theta: np.ndarray, anchors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each anchor, a member of the anchor's group drawn in proportion to theta (vectorised: one
    cumulative sum over members sorted by group, then a search inside each anchor's group range)."""
    order = np.argsort(groups, kind="stable")
    cum = np.cumsum(theta[order])
    starts = np.searchsorted(groups[order], groups[anchors], side="left")
    ends = np.searchsorted(groups[order], groups[anchors], side="right")
    low = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    target = low + rng.random(len(anchors)) * (cum[ends - 1] - low)
    return order[np.minimum(np.searchsorted(cum, target, side="right"), ends - 1)]


def _context_pairs(
    n: int, count: int, groups: list[tuple[np.ndarray, float]], theta: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`count` pairs: u by theta, v by theta within a group of u's chosen by weight (or anywhere)."""
    p = theta / theta.sum()
    u = rng.choice(n, size=count, p=p)
    weights = np.array([w for _, w in groups])
    kind = rng.choice(len(groups), size=count, p=weights / weights.sum())
    v = rng.choice(n, size=count, p=p)  # kind "anywhere" keeps these
    for k, (group, _) in enumerate(groups):
        pick = kind == k
        if group is not None and pick.any():
            v[pick] = _within(group, theta, u[pick], rng)
    return u, v


def _wedges(
    src: np.ndarray, dst: np.ndarray, n: int, count: int, strength: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Closed wedges u - w - v of the graph: a random edge (w, u), a random other neighbour v of w, kept
    with probability strength / degree(w)."""
    heads, tails = np.concatenate([src, dst]), np.concatenate([dst, src])
    order = np.argsort(heads, kind="stable")
    heads, tails = heads[order], tails[order]
    degree = np.bincount(heads, minlength=n)
    indptr = np.concatenate([[0], np.cumsum(degree)])
    pick = rng.integers(len(heads), size=count)
    w, u = heads[pick], tails[pick]
    v = tails[indptr[w] + (rng.random(count) * degree[w]).astype(np.int64)]
    keep = rng.random(count) < np.minimum(1.0, strength / np.maximum(degree[w], 1))
    return u[keep], v[keep]


def _add_unique(have: np.ndarray, u: np.ndarray, v: np.ndarray, n: int, room: int) -> np.ndarray:
    """Keys of new distinct non-loop pairs not in `have`, at most `room`, in draw order."""
    keys = pair_keys(u, v, n)[u != v]
    _, first = np.unique(keys, return_index=True)
    keys = keys[np.sort(first)]
    return keys[~np.isin(keys, have)][:room]


def _grow(have, draw, n: int, target: int) -> np.ndarray:
    """Draw batches of candidate pairs until `target` new distinct pairs are found (or draws run dry)."""
    found = np.empty(0, dtype=np.int64)
    for _ in range(60):
        if len(found) >= target:
            break
        u, v = draw(max(2 * (target - len(found)), 256))
        found = np.concatenate([found, _add_unique(np.concatenate([have, found]), u, v, n, target - len(found))])
    return found


def generate(
    n_users: int = 3000,
    n_cities: int = 8,
    schools_per_city: int = 10,
    workplaces_per_city: int = 15,
    mean_degree: float = 16.0,
    degree_sigma: float = 0.8,
    school_weight: float = 0.35,
    workplace_weight: float = 0.35,
    city_weight: float = 0.2,
    random_weight: float = 0.1,
    seed_share: float = 0.3,
    closure_share: float = 0.6,
    closure_strength: float = 4.0,
    rounds: int = 40,
    seed: int = 0,
    max_rows: int | None = None,
) -> EdgeList:
    """`n_users * mean_degree / 2` friendships with their times in [0, 1]: the first `seed_share` from
    shared context at time 0, the rest in `rounds` rounds of growth, each round `closure_share` closed
    triangles and the rest new context friendships. Node attributes: city, school, workplace.
    `max_rows` keeps the earliest edges."""
    rng = np.random.default_rng(seed)
    n = n_users
    city = rng.integers(n_cities, size=n)
    school = city * schools_per_city + rng.integers(schools_per_city, size=n)
    workplace = city * workplaces_per_city + rng.integers(workplaces_per_city, size=n)
    theta = rng.lognormal(0.0, degree_sigma, size=n)
    groups = [(school, school_weight), (workplace, workplace_weight), (city, city_weight), (None, random_weight)]

    m_total = round(n * mean_degree / 2)
    none = np.empty(0, dtype=np.int64)
    keys = _grow(none, lambda c: _context_pairs(n, c, groups, theta, rng), n, round(m_total * seed_share))
    times = [np.zeros(len(keys))]
    by_closure = by_context = 0
    per_round = (m_total - len(keys)) / rounds
    for r in range(rounds):
        want = round(per_round * (r + 1)) - round(per_round * r)
        src, dst = np.divmod(keys, n)
        walk = partial(_wedges, src, dst, n, strength=closure_strength, rng=rng)
        closed = _grow(keys, walk, n, round(want * closure_share))
        have = np.concatenate([keys, closed])
        context = _grow(have, lambda c: _context_pairs(n, c, groups, theta, rng), n, want - len(closed))
        new = np.concatenate([closed, context])
        rng.shuffle(new)
        keys = np.concatenate([keys, new])
        times.append((r + rng.random(len(new))) / rounds)  # formed during round r
        by_closure, by_context = by_closure + len(closed), by_context + len(context)
    time = np.concatenate(times)
    order = np.argsort(time, kind="stable")
    keys, time = keys[order], time[order]
    if max_rows is not None:
        keys, time = keys[:max_rows], time[:max_rows]
    src, dst = np.divmod(keys, n)
    return EdgeList(
        src=src,
        dst=dst,
        time=time,
        n_nodes=n,
        node_features={"city": city, "school": school, "workplace": workplace},
        source={
            "generator": "social_graph",
            "edges": len(keys),
            "seed_edges": int((time == 0).sum()),
            "grown_by_closure": int(by_closure),
            "grown_by_context": int(by_context),
        },
    )
