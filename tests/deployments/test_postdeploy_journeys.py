"""The journey runner and the performance verdict: plain functions, in-process, against a tiny local storefront."""

import pytest

from deployments import strategy
from deployments.postdeploy import journeys
from deployments.postdeploy.performance import Figures, judge
from tests.deployments.standins import Storefront, free_port


def seeded(name):
    steps = dict(strategy.JOURNEYS)[name]
    return [
        journeys.Step(name=n, method=m, path=p, expected_status=s, body_contains=b,
                      form=tuple(pair.split("=", 1) for pair in f.split("&")) if f else ())
        for n, m, p, f, s, b in steps
    ]  # fmt: skip


@pytest.fixture(scope="module")
def shop():
    server = Storefront()
    yield server
    server.close()


@pytest.fixture(scope="module")
def broken_shop():
    server = Storefront(failing={"/cart/add"})
    yield server
    server.close()


@pytest.mark.parametrize("name", [name for name, _ in strategy.JOURNEYS])
def test_run__each_seeded_journey_on_a_good_slot__passes(shop, name):
    result = journeys.run(shop.url, seeded(name))

    assert result.passed, result.detail
    assert result.failing_step == ""
    assert len(result.log) == len(seeded(name))


def test_run__cookies__carry_the_cart_from_step_to_step(shop):
    result = journeys.run(shop.url, seeded("Checkout to payment (sandbox)"))

    assert result.passed
    assert "Payment step: GET /checkout/payment?sandbox=1 → 200" in result.detail


def test_run__without_the_cart_step__checkout_fails_at_checkout(shop):
    steps = [s for s in seeded("Checkout to payment (sandbox)") if s.name != "Add to cart"]

    result = journeys.run(shop.url, steps)

    assert not result.passed
    assert result.failing_step == "Checkout"
    assert "→ 400, expected 200" in result.detail


def test_run__500_on_add_to_cart__fails_at_that_step_and_stops(broken_shop):
    result = journeys.run(broken_shop.url, seeded("Checkout to payment (sandbox)"))

    assert not result.passed
    assert result.failing_step == "Add to cart"
    assert result.log[-1].startswith("Add to cart: POST /cart/add → 500, expected 200")
    assert len(result.log) == 2  # checkout was never tried


def test_run__body_text_missing__fails_and_says_which_text(shop):
    step = journeys.Step(name="Home", method="GET", path="/", body_contains="Summer sale")

    result = journeys.run(shop.url, [step])

    assert not result.passed
    assert "body lacks 'Summer sale'" in result.detail


def test_run__slow_slot__times_out_with_the_step_named():
    slow = Storefront(delay_seconds=0.5)
    try:
        result = journeys.run(slow.url, seeded("Home page"), timeout=0.1)
    finally:
        slow.close()

    assert not result.passed
    assert result.failing_step == "Home page"
    assert "timed out after 0.1 s" in result.detail


def test_run__nobody_listening__fails_with_the_error():
    result = journeys.run(f"http://127.0.0.1:{free_port()}", seeded("Home page"), timeout=1)

    assert not result.passed
    assert "ConnectionError" in result.detail


def test_run__no_steps__does_not_pass():
    assert not journeys.run("http://127.0.0.1:1", []).passed


@pytest.mark.parametrize(
    ("figures", "passed", "says"),
    [
        (Figures(0.5, 0.4, 500), True, "Within the thresholds: error rate 0.50%, p95 0.40 s"),
        (Figures(7.0, 0.4, 500), False, "error rate 7.00% is over 5%"),
        (Figures(0.5, 3.5, 500), False, "p95 3.50 s is over 3 s"),
        (Figures(None, None, 0), False, "No error-rate data"),
        (Figures(0.0, 0.1, 40), False, "Inconclusive: 40 requests"),
        (Figures(0.0, None, None), False, "no p95 figure"),
    ],
)
def test_judge__thresholds(figures, passed, says):
    ok, detail = judge(figures, error_threshold=5.0, p95_threshold=3.0, min_requests=100)

    assert ok is passed
    assert says in detail
