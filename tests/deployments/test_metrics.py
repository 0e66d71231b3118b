from types import SimpleNamespace

import pytest

from deployments.metrics import WindowRate, window_rate


def _samples(*pairs):
    return [SimpleNamespace(req_tot=r, hrsp_5xx=e) for r, e in pairs]


def test_window_rate__steady_counters__deltas_between_first_and_last():
    rate = window_rate(_samples((100, 1), (200, 6), (400, 16)))
    assert (rate.requests, rate.errors) == (300, 15)
    assert rate.error_rate == pytest.approx(5.0)


def test_window_rate__counter_reset_by_a_reload__counts_since_the_reset():
    rate = window_rate(_samples((1000, 10), (1100, 20), (50, 5), (150, 10)))
    assert (rate.requests, rate.errors) == (100 + 50 + 100, 10 + 5 + 5)


def test_window_rate__one_sample__nothing_seen():
    assert window_rate(_samples((10, 1))) == WindowRate(0, 0)
    assert WindowRate(0, 0).error_rate == 0.0
