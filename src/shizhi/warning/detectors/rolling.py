"""Small online statistics with JSON-serialisable state: a rolling window that keeps its values sorted (quantiles and
ranks by bisection), and tail tests that turn a value into a tail probability learned from the series' own history:
empirical inside the range seen, an exponential tail fitted to the outer 10% beyond it (the peaks-over-threshold
method of extreme value theory), so that a value beyond everything seen still gets a finite, comparable probability
instead of 1/n."""

from __future__ import annotations

import base64
import math
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import deque
from typing import Any

_LITTLE = array("H", [1]).tobytes() == b"\x01\x00"


def _byteswapped(raw: bytes) -> bytes:  # pragma: no cover - big-endian platforms only
    copy = array("d")
    copy.frombytes(raw)
    copy.byteswap()
    return copy.tobytes()


def encode_f64(raw: bytes) -> str:
    """float64 values in this machine's byte order -> little-endian float64 in base64 (how windows are stored:
    exact, and about half the size of a JSON list)."""
    return base64.b64encode(raw if _LITTLE else _byteswapped(raw)).decode("ascii")


def decode_f64(text: str) -> bytes:
    """The inverse of :func:`encode_f64`: float64 values in this machine's byte order."""
    raw = base64.b64decode(text, validate=True)
    return raw if _LITTLE else _byteswapped(raw)


class RollingWindow:
    """The last ``size`` values, in arrival order and sorted."""

    __slots__ = ("_sorted", "_sum", "size", "values")

    def __init__(self, size: int, values: list[float] | None = None) -> None:
        self.size = size
        self.values: deque[float] = deque(maxlen=size)
        self._sorted: list[float] = []
        self._sum = 0.0
        for v in values or []:
            self.add(v)

    def __len__(self) -> int:
        return len(self.values)

    def add(self, x: float) -> None:
        if len(self.values) == self.size:
            old = self.values[0]
            del self._sorted[bisect_left(self._sorted, old)]
            self._sum -= old
        self.values.append(x)
        insort(self._sorted, x)
        self._sum += x

    def quantile(self, q: float) -> float:
        """Linear interpolation between order statistics (numpy's default)."""
        s = self._sorted
        if not s:
            return math.nan
        pos = q * (len(s) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    def median(self) -> float:
        return self.quantile(0.5)

    def mean(self) -> float:
        return self._sum / len(self.values) if self.values else math.nan

    @property
    def ordered(self) -> list[float]:
        """The values in ascending order (do not modify)."""
        return self._sorted

    def count_at_least(self, x: float) -> int:
        return len(self._sorted) - bisect_left(self._sorted, x)

    def count_at_most(self, x: float) -> int:
        return bisect_right(self._sorted, x)

    def state(self) -> dict[str, Any]:
        packed = array("d", self.values)
        if packed.itemsize != 8:  # pragma: no cover - every supported platform has 8-byte doubles
            raise RuntimeError("float64 expected")
        return {"size": self.size, "f64": encode_f64(packed.tobytes()), "sum": self._sum}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RollingWindow:
        w = cls(int(state["size"]))
        packed = array("d")
        packed.frombytes(decode_f64(state["f64"]))
        for v in packed:
            w.add(v)
        # Re-adding the values rebuilds the running sum only up to rounding (the uninterrupted window also
        # subtracted the values that left it): restore it exactly, so that a resumed series scores identically.
        w._sum = float(state["sum"])
        return w


class TwoSidedTail:
    """Two-sided tail probability of a value against the last ``size`` values of the same quantity: ``2 min(P(X >=
    v), P(X <= v))``, each side empirical inside the range seen and an exponential tail fitted to the outer
    ``tail_fraction`` of that side beyond it (peaks over threshold). The fits are refreshed every ``refit``
    additions. Until ``min_history`` values have been seen the answer is 1 (no evidence yet)."""

    __slots__ = ("_added", "_fit", "min_history", "refit", "tail_fraction", "window")

    def __init__(self, size: int, min_history: int, tail_fraction: float = 0.1, refit: int = 10) -> None:
        self.window = RollingWindow(size)
        self.min_history = min_history
        self.tail_fraction = tail_fraction
        self.refit = refit
        self._added = 0
        self._fit: tuple[float, float, float, float, float] | None = (
            None  # (mass, upper u, scale, lower u, scale)
        )

    def __len__(self) -> int:
        return len(self.window)

    def _fit_tails(self) -> tuple[float, float, float, float, float]:
        ordered = self.window.ordered
        n = len(ordered)
        k = max(5, int(n * self.tail_fraction))
        hi_u = ordered[-k - 1]
        lo_u = ordered[k]
        hi_scale = math.fsum(ordered[-k:]) / k - hi_u
        lo_scale = lo_u - math.fsum(ordered[:k]) / k
        return k / (n + 1), hi_u, hi_scale, lo_u, lo_scale

    def p_value(self, v: float) -> float:
        w = self.window
        n = len(w)
        if n < self.min_history:
            return 1.0
        if self._fit is None:
            self._fit = self._fit_tails()
        mass, hi_u, hi_scale, lo_u, lo_scale = self._fit
        if v > hi_u:
            p = _beyond(w.count_at_least(v), n, mass, v - hi_u, hi_scale)
        elif v < lo_u:
            p = _beyond(w.count_at_most(v), n, mass, lo_u - v, lo_scale)
        else:
            p = (min(w.count_at_least(v), w.count_at_most(v)) + 1) / (n + 1)
        return min(1.0, 2.0 * p)

    def add(self, v: float) -> None:
        self.window.add(v)
        self._added += 1
        if self._added % self.refit == 0 or len(self.window) <= self.min_history:
            self._fit = None

    def state(self) -> dict[str, Any]:
        return {
            "window": self.window.state(),
            "added": self._added,
            "fit": list(self._fit) if self._fit else None,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.window = RollingWindow.from_state(state["window"])
        self._added = int(state["added"])
        fit = state["fit"]
        self._fit = (
            (float(fit[0]), float(fit[1]), float(fit[2]), float(fit[3]), float(fit[4])) if fit else None
        )


def _beyond(count: int, n: int, mass: float, excess: float, scale: float) -> float:
    """One tail beyond its threshold: the exponential model, never rarer than the values already seen this far out;
    with no spread in the tail there is no scale to extrapolate with, only "not seen in n readings"."""
    if scale <= 0:
        return max(count, 1) / (n + 1)
    return max(mass * math.exp(-excess / scale), count / (n + 1))


def tail_probability(
    ordered: list[float], s: float, tail_fraction: float = 0.1, min_scale: float = 0.0
) -> float:
    """``P(S >= s)`` from a sorted sample: the empirical frequency inside the range seen, an exponential tail
    fitted to the top ``tail_fraction`` beyond (as :class:`TailCalibrator` with shape 0, for one-off use)."""
    n = len(ordered)
    k = max(5, int(n * tail_fraction))
    if n <= k:
        return 1.0
    u = ordered[-k - 1]
    count = n - bisect_left(ordered, s)
    if s <= u:
        return (count + 1) / (n + 1)
    scale = max(math.fsum(ordered[-k:]) / k - u, min_scale)
    return _beyond(count, n, k / (n + 1), s - u, scale)


class TailCalibrator:
    """Upper tail probability ``P(S >= s)`` of a statistic from its recent history in the same series: empirical
    below the ``1 - tail_fraction`` quantile ``u``, an exponential tail fitted to the exceedances over ``u`` beyond
    it (scale at least ``min_scale``: for counts of whole readings, one). Refitted every ``refit`` additions; 1 until
    ``min_history`` values have been seen."""

    __slots__ = ("_added", "_fit", "history", "min_history", "min_scale", "refit", "tail_fraction")

    def __init__(
        self, size: int, min_history: int, tail_fraction: float = 0.1, refit: int = 10, min_scale: float = 0.0
    ) -> None:
        self.history = RollingWindow(size)
        self.min_history = min_history
        self.tail_fraction = tail_fraction
        self.refit = refit
        self.min_scale = min_scale
        self._added = 0
        self._fit: tuple[float, float, float] | None = None  # (mass, u, scale)

    def __len__(self) -> int:
        return len(self.history)

    def p_value(self, s: float) -> float:
        h = self.history
        n = len(h)
        if n < self.min_history:
            return 1.0
        if self._fit is None:
            ordered = h.ordered
            k = max(5, int(n * self.tail_fraction))
            u = ordered[-k - 1]
            self._fit = (k / (n + 1), u, max(math.fsum(ordered[-k:]) / k - u, self.min_scale))
        mass, u, scale = self._fit
        if s <= u:
            return (h.count_at_least(s) + 1) / (n + 1)
        return _beyond(h.count_at_least(s), n, mass, s - u, scale)

    def add(self, s: float) -> None:
        self.history.add(s)
        self._added += 1
        if self._added % self.refit == 0 or len(self.history) <= self.min_history:
            self._fit = None

    def state(self) -> dict[str, Any]:
        return {
            "history": self.history.state(),
            "added": self._added,
            "fit": list(self._fit) if self._fit else None,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.history = RollingWindow.from_state(state["history"])
        self._added = int(state["added"])
        fit = state["fit"]
        self._fit = (float(fit[0]), float(fit[1]), float(fit[2])) if fit else None
