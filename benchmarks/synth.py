"""Write N synthetic trials in the real schema, for scale runs: python benchmarks/synth.py N DIR [--json].

Every trial is a plausible two-arm randomised trial of bundled drugs in a bundled indication, with an OS
and a PFS result (medians with CIs, an HR with its CI and p) and an ORR (rates with counts), so the
files pass `immuno validate` and exercise every path a real trial does. Names are SYNTH-000001 …, and
every citation says it is synthetic, so the output can never be mistaken for knowledge.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

DRUGS = ["pembrolizumab", "nivolumab", "atezolizumab", "durvalumab", "cemiplimab", "ipilimumab", "avelumab"]
INDICATIONS = ["NSCLC", "SKCM", "RCC", "HNSC", "BLCA", "HCC", "ESCA", "STAD", "CESC", "BRCA"]
SETTINGS = ["first-line", "second-line", "adjuvant", "neoadjuvant", "maintenance"]


def _median_ci(rng: random.Random, median: float) -> list[float]:
    return [round(median * rng.uniform(0.75, 0.95), 1), round(median * rng.uniform(1.05, 1.4), 1)]


def _hr(rng: random.Random) -> dict:
    value = round(rng.uniform(0.5, 1.05), 2)
    spread = rng.uniform(0.1, 0.3)
    lo, hi = round(value * math.exp(-spread), 2), round(value * math.exp(spread), 2)
    return {"value": value, "ci": [min(lo, value), max(hi, value)], "p": "<0.001" if hi < 1 else "0.21",
            "experimental": "exp", "control": "ctl"}


def trial(i: int, rng: random.Random) -> dict:
    drug = rng.choice(DRUGS)
    n_exp, n_ctl = rng.randint(100, 500), rng.randint(100, 500)
    results = []
    for endpoint, base in (("OS", rng.uniform(8, 30)), ("PFS", rng.uniform(3, 12))):
        exp_median, ctl_median = round(base * rng.uniform(1.0, 1.5), 1), round(base, 1)
        result = {"endpoint": endpoint, "cut": "primary", "population": "ITT", "analysis": "itt", "primary_endpoint": endpoint == "OS",
                  "arms": {"exp": {"median": exp_median, "median_ci": _median_ci(rng, exp_median)},
                           "ctl": {"median": ctl_median, "median_ci": _median_ci(rng, ctl_median)}},
                  "hr": _hr(rng)}
        if endpoint == "OS":
            result["landmarks"] = [{"months": 24, "arms": {"exp": {"rate": rng.randint(30, 60)},
                                                           "ctl": {"rate": rng.randint(15, 40)}}}]
        results.append(result)
    exp_count, ctl_count = rng.randint(10, n_exp // 2), rng.randint(5, n_ctl // 3)
    results.append({"endpoint": "ORR", "cut": "primary", "population": "ITT", "analysis": "itt",
                    "arms": {"exp": {"rate": round(100 * exp_count / n_exp, 1), "count": exp_count, "n": n_exp},
                             "ctl": {"rate": round(100 * ctl_count / n_ctl, 1), "count": ctl_count, "n": n_ctl}}})
    return {
        "id": f"synth-{i:06d}", "name": f"SYNTH-{i:06d}", "aliases": [f"SYN-{i}"], "nct": f"NCT{90000000 + i:08d}",
        "phase": "3", "randomized": True, "indication": rng.choice(INDICATIONS), "setting": rng.choice(SETTINGS),
        "population": "Synthetic population for scale benchmarks", "enrolled": n_exp + n_ctl,
        "arms": [{"id": "exp", "label": f"{drug.capitalize()} + chemotherapy", "drugs": [drug], "role": "experimental",
                  "n": n_exp},
                 {"id": "ctl", "label": "Chemotherapy", "drugs": [], "role": "control", "n": n_ctl}],
        "sources": {"synthetic": {"citation": f"Synthetic trial {i} for immuno scale benchmarks (not real data)",
                                  "url": f"https://example.org/immuno/synthetic/{i}"}},
        "cuts": [{"id": "primary", "kind": "primary", "published": f"{rng.randint(2012, 2025)}-{rng.randint(1, 12):02d}",
                  "source": "synthetic"}],
        "results": results,
    }


def write(count: int, directory: Path, seed: int = 942, as_json: bool = False) -> Path:
    """Write `count` trials under directory/trials/ (a knowledge directory for --data-dir)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    rng = random.Random(seed)
    trials = directory / "trials"
    trials.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        record = trial(i, rng)
        if as_json:
            (trials / f"synth-{i:06d}.json").write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")
        else:
            text = yaml.dump(record, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
            (trials / f"synth-{i:06d}.yaml").write_text(text, encoding="utf-8")
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=942)
    parser.add_argument("--json", action="store_true", help="write .json files (same schema; parsed ~10× faster)")
    args = parser.parse_args()
    write(args.count, args.directory, args.seed, args.json)
    print(f"wrote {args.count} trials to {args.directory / 'trials'}")


if __name__ == "__main__":
    main()
