"""Small helpers shared by benchmarks: best-of-N timing and a ratio line."""

import time


def best_of(fn, *, repeat=5, number=1):
    """Best wall time of `repeat` runs of `number` calls, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def ratio_line(name, value, baseline, *, unit="s", goal=None):
    ratio = value / baseline if baseline else float("inf")
    goal_text = f" (goal {goal})" if goal else ""
    return f"{name}: {value:.6g} {unit} vs baseline {baseline:.6g} {unit} = {ratio:.2f}x{goal_text}"
