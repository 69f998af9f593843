"""The callbacks every run can use: the collapse warning and the progress bar."""

import warnings
from types import SimpleNamespace

import pytest

from dcgan_tutorial.callbacks import CollapseWarning, ProgressBar


def _run(
    d_loss: list[float], d_fake: list[float], log_every: int = 20
) -> list[str]:
    """Feed a scripted history to ``CollapseWarning`` a log at a time, as ``train_gan`` does; the warnings it gave."""
    watcher, state = (
        CollapseWarning(window=200),
        SimpleNamespace(step=0, history={"d_loss": [], "d_fake": []}),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for start in range(0, len(d_loss), log_every):
            state.history["d_loss"] += d_loss[start : start + log_every]
            state.history["d_fake"] += d_fake[start : start + log_every]
            state.step = len(state.history["d_loss"])
            watcher.on_log(state, {})
    return [
        str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
    ]


def test_collapse_warning_is_silent_on_a_healthy_run():
    # D's loss near 2 log 2 = 1.39 (the sum of both terms), D(G(z)) near 0.3: both players still learn
    assert _run([1.2 + 0.1 * (i % 3) for i in range(1000)], [0.3] * 1000) == []


def test_collapse_warning_fires_once_when_d_has_won():
    messages = _run([1.2] * 300 + [0.001] * 700, [0.0005] * 1000)
    assert (
        len(messages) == 1
        and "D's loss stayed below 0.01 for the last 200 steps (step 500)"
        in messages[0]
    )


def test_collapse_warning_fires_when_d_is_fooled_by_everything():
    messages = _run([1.3] * 600, [0.3] * 100 + [0.999] * 500)
    assert (
        len(messages) == 1
        and "D(G(z)) stayed above 0.99" in messages[0]
        and "(step 300)" in messages[0]
    )


def test_collapse_warning_waits_for_a_whole_window():
    assert _run([0.001] * 180, [0.999] * 180) == []


@pytest.mark.parametrize("last_step, total", [(100, 100), (float("inf"), None)])
def test_progress_bar_counts_the_logged_steps(last_step, total):
    bar = ProgressBar(last_step, first_step=10)
    assert bar.bar.total == total and bar.bar.n == 10
    bar.on_log(
        None,
        {
            "step": [11, 12],
            "d_loss": [1.0, 0.5],
            "g_loss": [2.0, 1.5],
            "d_real": [0.6, 0.7],
            "d_fake": [0.3, 0.2],
        },
    )
    assert (
        bar.bar.n == 12
        and bar.bar.postfix
        == "d_loss=0.500, g_loss=1.500, d_real=0.700, d_fake=0.200"
    )
    bar.on_train_end(None)
