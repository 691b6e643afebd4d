"""Bursts: a topic in a district far above its usual daily count. Pure (numpy and scipy).

The test, for every series (district × topic) and day ``t``, over a matrix of daily counts:

1. **Baseline**: the ``window`` days (56: eight of each weekday) ending ``guard`` days
   before ``t`` (2, as in EARS C2: a burst that began yesterday does not hide in its own
   baseline).
2. **Season**: the day-of-week profile of the whole district over the same window (all
   topics pooled, so a quiet topic borrows the district's rhythm), shrunk towards a flat
   week by ``weekday_prior`` appeals per weekday so a day with no history is not "never".
   The expected count is ``μ = S × f(weekday of t) / window``, with ``S`` the series' sum
   over the baseline and ``f`` the district's weekday factor (a flat week: 1).
3. **Spread**: a negative binomial with mean ``μ`` and variance ``φμ``, ``φ`` the baseline's
   quasi-Poisson dispersion around its own weekday-adjusted means (``Σ (x−μ_d)²/μ_d /
   (n−1)``, at least 1: a Poisson when the counts are no lumpier than that), so a topic
   that is always lumpy needs more to alarm, while the week's rhythm is not mistaken for it.
4. **Alarm**: ``P(X ≥ count) < alpha`` under that distribution, and ``count ≥ min_count``
   (three appeals where one is usual may be unlikely, but it is not a matter for the
   Situation Center).

``alpha`` comes from the false-alarm budget, not from any data set: 8 districts × about
70 topics × 7 days is about 490 tests per district-week, and 1e-4 of them is 0.05 false
alarms per district-week under the model. Measured on the NYC council's real series (see
docs/analytics.md and bench/bursts_eval.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

Counts = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BurstRule:
    window: int = 56
    guard: int = 2
    alpha: float = 1e-4
    min_count: int = 5
    weekday_prior: float = 2.0


@dataclass(frozen=True)
class Scores:
    """Per series × day: the expected count, its standard deviation, the tail probability and
    whether it alarms; days without a full baseline are never alarms."""

    expected: Counts
    spread: Counts
    p_value: Counts
    alarm: npt.NDArray[np.bool_]


def _window_sums(values: Counts, window: int, guard: int) -> Counts:
    """Sum over [t - guard - window + 1, t - guard] for each t (NaN where it does not fit)."""
    days = values.shape[-1]
    padded = np.concatenate([np.zeros((*values.shape[:-1], 1)), values], axis=-1)
    cumulative = np.cumsum(padded, axis=-1)
    sums = np.full(values.shape, np.nan)
    last = np.arange(days) - guard  # inclusive end of the window
    first = last - window + 1
    fits = first >= 0
    sums[..., fits] = cumulative[..., last[fits] + 1] - cumulative[..., first[fits]]
    return sums


def score(
    counts: npt.ArrayLike,
    groups: npt.ArrayLike,
    weekdays: npt.ArrayLike,
    rule: BurstRule | None = None,
) -> Scores:
    """Scores of ``counts`` (series × days); ``groups[s]`` names each series' district (an
    integer), ``weekdays[t]`` each day's weekday (0 = Monday)."""
    rule = rule or BurstRule()
    x = np.asarray(counts, dtype=np.float64)
    group_of = np.asarray(groups, dtype=np.int64)
    weekday = np.asarray(weekdays, dtype=np.int64)
    if x.ndim != 2 or x.shape[0] != group_of.shape[0] or x.shape[1] != weekday.shape[0]:
        raise ValueError(
            "counts must be series × days, with one group per series and one weekday per day"
        )
    n = rule.window
    series_sum = _window_sums(x, n, rule.guard)
    mean = series_sum / n
    # The district's weekday factors over each day's window (all topics pooled), shrunk.
    group_ids, group_index = np.unique(group_of, return_inverse=True)
    totals = np.zeros((len(group_ids), x.shape[1]))
    np.add.at(totals, group_index, x)
    per_day = _window_sums(totals, n, rule.guard) / n + rule.weekday_prior
    factors = np.empty((7, *totals.shape))
    for day in range(7):
        mask = (weekday == day).astype(np.float64)
        same = _window_sums(totals * mask[None, :], n, rule.guard) / (n / 7.0)
        factors[day] = (same + rule.weekday_prior) / per_day
    expected = mean * factors[weekday, :, np.arange(x.shape[1])].T[group_index]
    # Quasi-Poisson dispersion of the baseline around its own weekday-adjusted means:
    # phi = sum((x_d - mu_d)^2 / mu_d) / (n - 1), with mu_d = mean * f(weekday of d).
    residual = -2.0 * series_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        for day in range(7):
            mask = (weekday == day).astype(np.float64)
            squares = _window_sums(x * x * mask[None, :], n, rule.guard)
            factor = factors[day][group_index]
            residual += squares / (mean * factor) + mean * factor * (n / 7.0)
        phi = np.where(mean > 0, np.maximum(residual / (n - 1), 1.0), 1.0)
    floor = 0.5 / n  # one appeal in two baselines: never exactly zero
    valid = np.isfinite(expected) & np.isfinite(phi)
    mu = np.where(valid, np.maximum(np.nan_to_num(expected), floor), 1.0)
    phi = np.where(valid, phi, 1.0)
    p_value = np.ones_like(x)
    poisson = valid & (phi <= 1.0 + 1e-9)
    p_value[poisson] = stats.poisson.sf(x[poisson] - 1, mu[poisson])
    spread_out = valid & ~poisson
    # A negative binomial with mean mu and variance phi * mu: size mu / (phi - 1), p = 1 / phi.
    p_value[spread_out] = stats.nbinom.sf(
        x[spread_out] - 1, mu[spread_out] / (phi[spread_out] - 1.0), 1.0 / phi[spread_out]
    )
    alarm = valid & (p_value < rule.alpha) & (x >= rule.min_count)
    return Scores(
        expected=np.where(valid, mu, np.nan),
        spread=np.where(valid, np.sqrt(mu * phi), np.nan),
        p_value=p_value,
        alarm=alarm,
    )
