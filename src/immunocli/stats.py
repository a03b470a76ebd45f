"""The analyst's arithmetic: random-effects pooling and the derived figures `--explain` shows.

REML with the Hartung–Knapp–Sidik–Jonkman interval is the default (what the Cochrane Handbook advises
when studies are few); DerSimonian–Laird and plain REML are there to reproduce published analyses. The
t and χ² distributions are computed here (a continued fraction each) rather than imported: a statistics
library would cost more start-up than these forty lines. Tested against metafor on the BCG vaccine data
(Colditz et al., JAMA 1994) and against statsmodels' `combine_effects`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

METHODS = {
    "hksj": "REML τ² with the Hartung–Knapp–Sidik–Jonkman CI (t on k−1 df)",
    "reml": "REML τ², Wald (normal) CI",
    "dl": "DerSimonian–Laird τ², Wald (normal) CI",
}


def z_for(level: float) -> float:
    """The normal quantile of a two-sided CI level (95 → 1.96)."""
    return NormalDist().inv_cdf(1 - (1 - level / 100) / 2)


def log_se_from_ci(lower: float, upper: float, level: float = 95) -> float:
    """Standard error of log(ratio) recovered from a CI printed on the ratio scale, at its own level."""
    return (math.log(upper) - math.log(lower)) / (2 * z_for(level))


# --- distributions ------------------------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Numerical Recipes, modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
                          -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-14:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, 1 - x) / b


def t_sf2(t: float, df: float) -> float:
    """Two-sided p of a t statistic."""
    return _betai(df / 2, 0.5, df / (df + t * t))


def t_quantile(level: float, df: float) -> float:
    """The t quantile of a two-sided CI level (95, df=4 → 2.776), by bisection on the exact tail."""
    alpha = 1 - level / 100
    lo, hi = 0.0, 1.0
    while t_sf2(hi, df) > alpha:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_sf2(mid, df) > alpha else (lo, mid)
    return (lo + hi) / 2


def chi2_sf(x: float, df: float) -> float:
    """Upper tail of χ² (Cochran's Q test), through the regularised incomplete gamma function."""
    if x <= 0:
        return 1.0
    a, half = df / 2, x / 2
    if half < a + 1:  # series for the lower tail
        term = total = 1 / a
        n = a
        for _ in range(500):
            n += 1
            term *= half / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1 - total * math.exp(-half + a * math.log(half) - math.lgamma(a)))
    tiny = 1e-300  # continued fraction for the upper tail
    b = half + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(-half + a * math.log(half) - math.lgamma(a)) * h


def normal_p(z: float) -> float:
    return 2 * (1 - NormalDist().cdf(abs(z)))


# --- pooling -------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Pooled:
    """A random-effects estimate on the log (or logit) scale, with everything a reader needs to judge it."""

    estimate: float
    se: float
    tau2: float
    i2: float  # percent
    q: float
    k: int
    method: str = "dl"
    weights: tuple = ()  # percent, in the order of the input

    @property
    def df(self) -> int:
        return self.k - 1

    def _critical(self, level: float) -> float:
        return t_quantile(level, self.df) if self.method == "hksj" else z_for(level)

    def ci(self, level: float = 95) -> tuple[float, float]:
        half = self._critical(level) * self.se
        return self.estimate - half, self.estimate + half

    @property
    def p(self) -> float:
        stat = self.estimate / self.se if self.se > 0 else math.inf
        return t_sf2(stat, self.df) if self.method == "hksj" else normal_p(stat)

    @property
    def q_p(self) -> float:
        return chi2_sf(self.q, self.df)

    def prediction_interval(self, level: float = 95) -> tuple[float, float] | None:
        """Where a new study's true effect would lie (Higgins, Thompson & Spiegelhalter 2009): t on k−2 df."""
        if self.k < 3:
            return None
        half = t_quantile(level, self.k - 2) * math.sqrt(self.tau2 + self.se ** 2)
        return self.estimate - half, self.estimate + half


def _q_and_fixed(estimates, variances):
    w = [1 / v for v in variances]
    sw = sum(w)
    fixed = sum(wi * yi for wi, yi in zip(w, estimates)) / sw
    q = sum(wi * (yi - fixed) ** 2 for wi, yi in zip(w, estimates))
    return w, sw, fixed, q


def _i2(q: float, k: int) -> float:
    return max(0.0, (q - (k - 1)) / q) * 100 if q > 0 else 0.0


def tau2_dl(estimates, variances) -> float:
    k = len(estimates)
    w, sw, _fixed, q = _q_and_fixed(estimates, variances)
    c = sw - sum(wi * wi for wi in w) / sw
    return max(0.0, (q - (k - 1)) / c) if c > 0 else 0.0


def tau2_reml(estimates, variances) -> float:
    """Restricted maximum likelihood τ² by fixed-point iteration (Viechtbauer 2005), from the DL value."""
    tau2 = tau2_dl(estimates, variances)
    for _ in range(1000):
        w = [1 / (v + tau2) for v in variances]
        sw = sum(w)
        mu = sum(wi * yi for wi, yi in zip(w, estimates)) / sw
        new = sum(wi * wi * ((yi - mu) ** 2 - vi) for wi, yi, vi in zip(w, estimates, variances)) / sum(
            wi * wi for wi in w) + 1 / sw
        new = max(0.0, new)
        if abs(new - tau2) < 1e-10:
            return new
        tau2 = new
    return tau2


def random_effects(estimates: list[float], variances: list[float], method: str = "hksj",
                   tau2: float | None = None) -> Pooled:
    """Pool log-scale estimates with their sampling variances: `dl`, `reml` or `hksj` (REML + HKSJ).
    `tau2` overrides the estimator (to reproduce a published analysis that used another one)."""
    k = len(estimates)
    if k < 2:
        raise ValueError("pooling needs at least two estimates")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    _w, _sw, _fixed, q = _q_and_fixed(estimates, variances)
    if tau2 is None:
        tau2 = tau2_dl(estimates, variances) if method == "dl" else tau2_reml(estimates, variances)
    w = [1 / (v + tau2) for v in variances]
    sw = sum(w)
    mu = sum(wi * yi for wi, yi in zip(w, estimates)) / sw
    se = math.sqrt(1 / sw)
    if method == "hksj":
        scale = sum(wi * (yi - mu) ** 2 for wi, yi in zip(w, estimates)) / (k - 1)
        se = math.sqrt(scale / sw)
    return Pooled(estimate=mu, se=se, tau2=tau2, i2=_i2(q, k), q=q, k=k, method=method,
                  weights=tuple(100 * wi / sw for wi in w))


def dersimonian_laird(estimates: list[float], variances: list[float]) -> Pooled:
    return random_effects(estimates, variances, "dl")


def logit_proportion(count: int, n: int) -> tuple[float, float]:
    """A proportion on the logit scale with its variance; 0.5 is added to both cells when one is empty."""
    events, others = (count + 0.5, n - count + 0.5) if count in (0, n) else (count, n - count)
    return math.log(events / others), 1 / events + 1 / others


def expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# --- derived figures -----------------------------------------------------------------------------------

def altman_nnt(control_survival_pct: float, hazard_ratio: float) -> float | None:
    """Altman & Andersen (BMJ 1999): NNT at a time t from the control arm's survival S_c(t) and the HR,
    1 / (S_c^HR − S_c). Positive: benefit (NNTB); negative: harm (NNTH); None where it is undefined."""
    s = control_survival_pct / 100
    if not 0 < s < 1:
        return None
    difference = s ** hazard_ratio - s
    return None if difference == 0 else 1 / difference


def describe_nnt(point: float | None, lo: float | None, hi: float | None) -> str:
    """An NNT with its CI in Altman's words: "NNTB 12 (95% CI NNTB 7 to NNTB 45)", or, where the CI of the
    HR crosses 1, "not significant: NNTB 12 (95% CI NNTB 7 to ∞ to NNTH 40)"."""
    def one(value: float) -> str:
        return f"NNTB {math.ceil(value)}" if value > 0 else f"NNTH {math.ceil(-value)}"

    if point is None:
        return "not estimable"
    if lo is None or hi is None:
        return one(point) + " (no CI: the HR has none)"
    if (lo > 0) == (hi > 0):
        return f"{one(point)} (95% CI {one(min(lo, hi, key=abs))} to {one(max(lo, hi, key=abs))})"
    benefit = lo if lo > 0 else hi
    harm = hi if lo > 0 else lo
    return f"not significant: {one(point)} (95% CI {one(benefit)} to ∞ to {one(harm)})"
