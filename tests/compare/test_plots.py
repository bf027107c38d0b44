"""The figures: bars from zero, calibration against 1, legends of what is drawn, labels apart; sweep plots."""

from __future__ import annotations

import pytest

from framework.compare import plots
from framework.compare.build import build_comparisons
from tests.compare.fakes import record


@pytest.fixture
def figures(monkeypatch):
    """The plot functions return their matplotlib figure instead of PNG bytes."""
    monkeypatch.setattr(plots, "_png", lambda fig: fig)
    yield
    plots._pyplot().close("all")


def _comparison(seeds: tuple[int, ...]):
    runs = [
        record(m, s, nce=0.9 - 0.05 * (m == "dcn") + 0.001 * s, order=i)
        for i, (m, s) in enumerate((m, s) for m in ("lr", "dcn") for s in seeds)
    ]
    return build_comparisons(runs)[1][0]


def test_bars_start_at_zero_calibration_has_its_reference_and_the_legend_lists_what_is_drawn(figures) -> None:
    fig = plots.metric_bars(_comparison((1, 2, 3)))
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert all(ax.get_ylim()[0] == 0 for ax in panels.values())  # a 0.05 difference does not look huge
    assert any(list(line.get_ydata()) == [1, 1] for line in panels["test/calibration"].get_lines())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["baseline", "better", "n.s.", "calibration: 1 is ideal"]  # no worse, differs or n/a bars


def test_one_seed_is_not_called_not_significant(figures) -> None:
    c = _comparison((1,))
    assert plots.verdict(c.row("model=dcn"), "test/nce", c) == "n/a"
    fig = plots.metric_bars(c)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "n.s." not in legend and "n/a" in legend and "not tested" in fig.legends[0].get_title().get_text()
    assert plots.differences(c) is None  # nothing was tested: no interval to draw


def test_pareto_labels_do_not_overlap(figures) -> None:
    runs = [
        record(m, s, nce=0.9 + 1e-4 * i, order=i)
        for i, (m, s) in enumerate((m, s) for m in ("lr", "dcn", "lr") for s in (1, 2))
        if i < 4
    ]
    runs += [record("dcn", s, nce=0.9, order=10 + s, **{"model.embedding_dim": 8}) for s in (1, 2)]
    fig = plots.pareto(build_comparisons(runs)[1][0])
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_sweep_plots_name_the_study_use_whole_trials_and_warn_on_few_trials(tmp_path) -> None:
    import optuna

    from framework.sweeps.report import save_plots

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="ad_click_dcn")
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-2, log=True) + t.suggest_int("dim", 8, 64) / 100, 5)
    captured = {}
    original = plots._pyplot().Figure.savefig

    def keep(fig, *args, **kwargs):
        captured[len(captured)] = fig
        return original(fig, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plots._pyplot().Figure, "savefig", keep)
        done = save_plots(study, tmp_path, "nce")
    assert all(not v.startswith("skipped") for v in done.values())
    history, importances = captured[0], captured[1]
    assert history._suptitle.get_text().startswith("Study ad_click_dcn:")
    ticks = history.axes[0].get_xticks()
    assert all(float(t).is_integer() for t in ticks)
    assert any("Only 5 complete trials" in t.get_text() for t in importances.texts)
