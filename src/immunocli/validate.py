"""Checks that a file can pass the schema and still be wrong: references and impossible figures.

Each check yields `Problem`s located at the offending key, so a contributor sees every mistake of a
file at once, as `file:line: message`.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Iterator

from .errors import Problem

RATE_TOLERANCE = 0.6  # percentage points between count/n and the printed rate (rounding)


@dataclass(slots=True)
class Known:
    drugs: set[str]
    trials: set[str]
    endpoints: dict  # id -> Endpoint
    indications: set[str]


def line_at(data, path) -> int | None:
    """The line of the deepest mapping key on `path` that the file has."""
    line = getattr(data, "line", None)
    node = data
    for step in path:
        if isinstance(node, dict):
            if step not in node:
                break
            line = node.line_of(step) if hasattr(node, "line_of") else line
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
            line = getattr(node, "line", line)
        else:
            break
    return line


class _Report:
    """Collects problems for one file, each at the line of the key it concerns."""

    def __init__(self, data, display: str):
        self.data, self.display, self.problems = data, display, []

    def __call__(self, node, key, message: str) -> None:
        line = node.line_of(key) if hasattr(node, "line_of") and key is not None else getattr(node, "line", None)
        self.problems.append(Problem(self.display, line, message))


# A link that is a staging, preview or development copy of a site (or a bare IP address): a user should not
# be sent there, and it may vanish.
_NOT_PUBLIC = re.compile(
    r"(?:^|\.)(?:vercel\.app|netlify\.app)$"  # deploy previews of other sites
    r"|^\d{1,3}(?:\.\d{1,3}){3}$"  # an IP address
    r"|(?:^|\.)(?:staging|stage|dev|develop|preview|qa|uat|sandbox|test)\d*(?:-[a-z0-9-]+)?\."  # staging.x, dev-voice.x
    r"|(?:^|\.)[a-z0-9-]+-(?:staging|stage|dev|develop|preview|qa|uat|test)\d*\."  # vivo-dev.x, tweb-dev.x
    r"|(?:^|\.)[a-z0-9]+dev\.com$"  # mimsdev.com
    r"|(?:^|\.)[a-z0-9-]*(?:fstlytest|fastlytest)[a-z0-9-]*\."  # a CDN's test service
    r"|(?:^|\.)platformsh\.site$")  # Platform.sh preview environments


def _copy_host(url: str) -> str | None:
    """The host of a link to a copy (`_NOT_PUBLIC`); None for a public address."""
    host = re.sub(r"^[a-z]+://", "", url.lower()).split("/", 1)[0].split(":", 1)[0]
    return host if _NOT_PUBLIC.search(host) else None


def check_url(source, report: "_Report", where: str) -> None:
    url = source.get("url") if isinstance(source, dict) else None
    if url and (host := _copy_host(url)):
        report(source, "url", f"{where}: url is a staging, preview or development copy ({host}): give the public "
                              "address (the copy read stays in verified_in)")


def _bad_date(value) -> str | None:
    text = str(value)
    parts = text.split("-")
    try:
        nums = [int(p) for p in parts]
        if len(nums) == 3:
            date = _dt.date(*nums)
        elif len(nums) == 2:
            date = _dt.date(nums[0], nums[1], 1)
        else:
            date = _dt.date(nums[0], 1, 1)
    except (ValueError, TypeError):
        return f"{text!r} is not a valid date"
    if date > _dt.date.today():
        return f"{text!r} is in the future"
    return None


def _number(bound) -> bool:
    return isinstance(bound, (int, float)) and not isinstance(bound, bool)


def check_interval(estimate, ci, what: str) -> str | None:
    """Why `ci` cannot be the CI of `estimate` (None when it can). NR is +infinity; None is unreported."""
    lo, hi = ci
    if lo == "NR" and estimate != "NR":
        return f"{what}: the lower bound is NR but the estimate is not"
    if _number(lo) and _number(hi) and lo > hi:
        return f"{what}: lower bound {lo} is above upper bound {hi}"
    if _number(lo) and _number(hi) and lo == hi and estimate != lo:
        return f"{what}: the interval [{lo}, {hi}] is empty"
    if estimate == "NR":
        if _number(hi):
            return f"{what}: estimate NR (not reached) cannot have a finite upper bound {hi}"
        return None
    if _number(estimate):
        if _number(lo) and estimate < lo:
            return f"{what}: estimate {estimate} is below its CI [{lo}, {hi}]"
        if _number(hi) and estimate > hi:
            return f"{what}: estimate {estimate} is above its CI [{lo}, {hi}]"
    return None


_FIGURES = ("median", "rate", "count", "events")


def _has_figure(result) -> bool:
    """A result row must say something: a row of arm sizes alone is not a result."""
    return bool(result.get("hr") or result.get("landmarks")
                or any(fig.get(key) is not None for fig in result["arms"].values() for key in _FIGURES))


def check_figures(fig, report: _Report, where: str, arm_n: int | None, kind: str | None) -> None:
    if not fig:
        report(fig, None, f"{where}: no figures")
    if "median_ci" in fig and "median" in fig:
        problem = check_interval(fig["median"], fig["median_ci"], f"{where} median")
        if problem:
            report(fig, "median_ci", problem)
    if "median_ci" in fig and "median" not in fig:
        report(fig, "median_ci", f"{where}: median_ci without a median")
    if "rate_ci" in fig and "rate" in fig:
        problem = check_interval(fig["rate"], fig["rate_ci"], f"{where} rate")
        if problem:
            report(fig, "rate_ci", problem)
    count, n, rate = fig.get("count"), fig.get("n"), fig.get("rate")
    if count is not None and n is not None:
        if count > n:
            report(fig, "count", f"{where}: count {count} is larger than its denominator n={n}")
        elif rate is not None and abs(100 * count / n - rate) > RATE_TOLERANCE:
            report(fig, "rate", f"{where}: rate {rate}% disagrees with {count}/{n} = {100 * count / n:.1f}%")
    if n is not None and arm_n is not None and n > arm_n:
        report(fig, "n", f"{where}: denominator n={n} is larger than the arm's n={arm_n}")
    if fig.get("events") is not None and arm_n is not None and fig["events"] > arm_n:
        report(fig, "events", f"{where}: {fig['events']} events in an arm of {arm_n}")
    if kind == "rate" and "median" in fig:
        report(fig, "median", f"{where}: a rate endpoint takes `rate`, not `median`")
    if kind == "time-to-event" and ("rate" in fig or "count" in fig):
        # read beside a median or an HR, a rate would pass for a survival rate; events are `events`
        report(fig, "rate" if "rate" in fig else "count",
                f"{where}: a time-to-event endpoint takes a median, `events` or a landmark, not `rate` or `count`")


def check_trial(d, display: str, known: Known) -> Iterator[Problem]:
    report = _Report(d, display)
    if d["indication"] not in known.indications:
        report(d, "indication", f"unknown indication {d['indication']!r} (not in indications.yaml)")
    arms = {}
    for arm in d["arms"]:
        if arm["id"] in arms:
            report(arm, "id", f"duplicate arm id {arm['id']!r}")
        arms[arm["id"]] = arm
        for drug in arm["drugs"]:
            if drug not in known.drugs:
                report(arm, "drugs", f"arm {arm['id']!r}: no drug file defines {drug!r}")
        if d.get("enrolled") and arm.get("n") and arm["n"] > d["enrolled"]:
            report(arm, "n", f"arm {arm['id']!r}: n={arm['n']} is larger than enrolment {d['enrolled']}")
    roles = [a["role"] for a in d["arms"]]
    if d.get("randomized") is False and ("control" in roles):
        report(d, "randomized", "a non-randomised trial has a control arm")
    for key, source in d["sources"].items():
        check_url(source, report, f"source {key!r}")
    cuts = {}
    for cut in d["cuts"]:
        if cut["id"] in cuts:
            report(cut, "id", f"duplicate cut id {cut['id']!r}")
        cuts[cut["id"]] = cut
        if cut["source"] not in d["sources"]:
            report(cut, "source", f"cut {cut['id']!r}: unknown source {cut['source']!r}")
        for key in ("published", "data_cutoff"):
            if key in cut and (problem := _bad_date(cut[key])):
                report(cut, key, problem)
    seen = set()
    for result in d["results"]:
        endpoint = known.endpoints.get(result["endpoint"])
        where = f"{result['endpoint']} ({result['population']}, cut {result['cut']})"
        if endpoint is None:
            report(result, "endpoint", f"unknown endpoint {result['endpoint']!r} (not in endpoints.yaml)")
        if result["cut"] not in cuts:
            report(result, "cut", f"unknown cut {result['cut']!r}")
        if "source" in result and result["source"] not in d["sources"]:
            report(result, "source", f"unknown source {result['source']!r}")
        key = (result["endpoint"], result["population"], result["cut"])
        if key in seen:
            report(result, "endpoint", f"{where} is given twice")
        seen.add(key)
        kind = endpoint.kind if endpoint else None
        if result.get("indication") is not None and result["indication"] not in known.indications:
            report(result, "indication", f"{where}: unknown indication {result['indication']!r}")
        if not _has_figure(result):
            report(result, "arms", f"{where}: no figure (median, rate, count, hazard ratio or landmark rate)")
        for arm_id, fig in result["arms"].items():
            if arm_id not in arms:
                report(result["arms"], arm_id, f"{where}: unknown arm {arm_id!r}")
                continue
            check_figures(fig, report, f"{where}, arm {arm_id}", arms[arm_id].get("n"), kind)
        hrs = result.get("hr") or []
        for hr in hrs if isinstance(hrs, list) else [hrs]:
            for side in ("experimental", "control"):
                if hr[side] not in arms:
                    report(hr, side, f"{where}: HR names unknown arm {hr[side]!r}")
            if hr["experimental"] == hr["control"]:
                report(hr, "control", f"{where}: HR compares an arm with itself")
            if kind == "rate":
                report(hr, "value", f"{where}: a hazard ratio on a rate endpoint")
            if "ci" in hr:
                if "NR" in hr["ci"]:
                    report(hr, "ci", f"{where}: an HR CI bound cannot be NR")
                elif problem := check_interval(hr["value"], hr["ci"], f"{where} HR"):
                    report(hr, "ci", problem)
                elif any(_number(b) and b <= 0 for b in hr["ci"]):
                    report(hr, "ci", f"{where}: HR CI bounds must be above 0")
        for landmark in result.get("landmarks", []):
            if kind == "rate":
                report(landmark, "months", f"{where}: landmark rates belong to time-to-event endpoints")
            for arm_id, fig in landmark["arms"].items():
                if arm_id not in arms:
                    report(landmark["arms"], arm_id, f"{where}: landmark names unknown arm {arm_id!r}")
                elif "rate_ci" in fig and (problem := check_interval(fig["rate"], fig["rate_ci"],
                                                                     f"{where} {landmark['months']}-month rate")):
                    report(fig, "rate_ci", problem)
    yield from report.problems


def check_drug(d, display: str) -> Iterator[Problem]:
    report = _Report(d, display)
    first = d.get("first_fda_approval")
    if first and (problem := _bad_date(first["date"])):
        report(first, "date", problem)
    if first:
        check_url(first["source"], report, "first_fda_approval source")
    if first and d["status"] == "investigational":
        report(d, "status", "an investigational drug with a first FDA approval")
    yield from report.problems


def check_approval(d, display: str, known: Known) -> Iterator[Problem]:
    report = _Report(d, display)
    for drug in d["drugs"]:
        if drug not in known.drugs:
            report(d, "drugs", f"no drug file defines {drug!r}")
    if d["indication"] not in known.indications:
        report(d, "indication", f"unknown indication {d['indication']!r}")
    for trial in d["trials"]:
        if trial not in known.trials:
            report(d, "trials", f"no trial file defines {trial!r}")
    if problem := _bad_date(d["date"]):
        report(d, "date", problem)
    check_url(d["source"], report, "source")
    yield from report.problems


def check_context(d, display: str, known: Known) -> Iterator[Problem]:
    """Every biomarker and irAE names a defined source; drugs, endpoints and warnings exist."""
    report = _Report(d, display)
    sources = d.get("sources", {})
    for key, source in sources.items():
        check_url(source, report, f"source {key!r}")
    entries = [*d.get("biomarkers", []), *d.get("iraes", [])]
    if d.get("grading"):
        entries.append(d["grading"])
    for entry in entries:
        if entry["source"]["key"] not in sources:
            report(entry["source"], "key", f"unknown source {entry['source']['key']!r}")
    for irae in d.get("iraes", []):
        for drug in irae.get("drugs", []):
            if drug not in known.drugs:
                report(irae, "drugs", f"irAE {irae['id']!r}: no drug file defines {drug!r}")
        for endpoint in irae.get("endpoints", []):
            if endpoint not in known.endpoints:
                report(irae, "endpoints", f"irAE {irae['id']!r}: unknown endpoint {endpoint!r}")
        for warning in irae.get("warnings", []):
            if warning not in d.get("warnings", {}):
                report(irae, "warnings", f"irAE {irae['id']!r}: unknown warning {warning!r}")
    yield from report.problems
