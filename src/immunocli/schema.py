"""The JSON Schema of the knowledge files, and the small validator that applies it.

One definition serves three purposes: the loader checks every file against it, `immuno schema`
publishes it for editors, and the docs describe it. The validator implements only the keywords used
here, which keeps start-up free of a schema library.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

ID = {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"}
TEXT = {"type": "string", "minLength": 1}
TEXTS = {"type": "array", "items": TEXT}
DATE = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "integer", "minimum": 1900, "maximum": 2100}],
    "description": "YYYY, YYYY-MM or YYYY-MM-DD",
}
# Plausibility bounds (a number is also always finite): a figure outside them is a typo or a hostile
# file, and one HR of 1e300 or a median of a million months would swamp a pooled HR or a plot.
MAX_MONTHS = 600  # fifty years of follow-up
MAX_HR = 100
NUMBER = {"type": "number"}
MONTHS = {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": MAX_MONTHS}, {"const": "NR"}],
          "description": f"months (at most {MAX_MONTHS}), or NR (not reached)"}
CI_BOUND = {"anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_MONTHS}, {"const": "NR"}, {"type": "null"}]}
CI = {"type": "array", "items": CI_BOUND, "minItems": 2, "maxItems": 2}
PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
COUNT = {"type": "integer", "minimum": 0, "maximum": 100_000_000}
P_VALUE = {"type": "string", "pattern": r"^\s*[<>≤≥=]?\s*(0?\.\d+|1(\.0+)?|\d(\.\d+)?[eE×x]10?\^?-?\d+)\s*$",
           "description": "as printed, e.g. \"<0.001\" or \"0.053\""}

from .vocabulary import ANALYSES, CUT_KINDS, MODALITIES, OUTCOMES, ROLES, SETTINGS, SOURCE_KINDS  # noqa: E402,F401 - part of the schema


def obj(required: list[str], props: dict[str, Any], **extra: Any) -> dict:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False, **extra}


SOURCE = obj(["citation"], {
    "citation": TEXT,
    "kind": {"enum": SOURCE_KINDS},
    "pmid": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": r"^\d{1,9}$"}]},
    "doi": {"type": "string", "pattern": r"^10\.\d{4,9}/\S+$"},
    "url": {"type": "string", "pattern": r"^https?://\S+$"},
    "verified_in": {"type": "array", "items": {"type": "string", "pattern": r"^https?://\S+$"}},
}, anyOfRequired=["pmid", "doi", "url"])

ARM_FIGURES = obj([], {
    "median": MONTHS, "median_ci": CI, "rate": PERCENT, "rate_ci": CI,
    "count": COUNT, "n": {"type": "integer", "minimum": 1}, "events": COUNT,
})

LANDMARK_FIGURE = obj(["rate"], {"rate": PERCENT, "rate_ci": CI})

HAZARD_RATIO = obj(["value", "experimental", "control"], {
    "value": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_HR},
    "ci": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_HR}, {"const": "NR"}, {"type": "null"}]}},
    "ci_level": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
    "p": P_VALUE,
    "p_sided": {"enum": [1, 2]},
    "experimental": ID,
    "control": ID,
})

RESULT = obj(["endpoint", "cut", "population", "analysis", "arms"], {
    "endpoint": TEXT,
    "cut": ID,
    "population": TEXT,
    "analysis": {"enum": ANALYSES, "description": "itt: the whole randomised population; primary: the trial's "
                 "primary analysis population where that is not the ITT (a single-arm trial's efficacy "
                 "population, a biomarker population of a primary endpoint); subgroup; sensitivity (e.g. "
                 "crossover-adjusted); per-protocol; safety (as treated)"},
    "indication": TEXT,
    "primary_endpoint": {"type": "boolean"},
    "arms": {"type": "object", "additionalProperties": ARM_FIGURES},
    "hr": {"anyOf": [HAZARD_RATIO, {"type": "array", "minItems": 1, "items": HAZARD_RATIO}],
           "description": "a hazard ratio, or a list of them (a three-arm trial compares two arms with one)"},
    "landmarks": {"type": "array", "items": obj(["months", "arms"], {
        "months": {"type": "number", "exclusiveMinimum": 0},
        "arms": {"type": "object", "additionalProperties": LANDMARK_FIGURE, "minProperties": 1},
    })},
    "source": ID,
    "notes": TEXT,
})

TRIAL = obj(["id", "name", "phase", "indication", "setting", "population", "arms", "sources", "cuts", "results"], {
    "id": ID,
    "name": TEXT,
    "aliases": TEXTS,
    "nct": {"type": "string", "pattern": r"^NCT\d{8}$"},
    "phase": {"type": "string", "pattern": r"^(1|1b|2|2a|2b|3|4|1/2|1/3|1b/2|2/3)$", "description": "a phase such as \"2\", \"1/2\" or \"3\""},
    "design": TEXT,
    "randomized": {"type": "boolean"},
    "indication": TEXT,
    "setting": {"enum": SETTINGS},
    "population": TEXT,
    "biomarkers": TEXTS,
    "enrolled": {"type": "integer", "minimum": 1},
    "primary_outcome": {"enum": OUTCOMES, "description": "met, not-met (a negative trial), mixed, or "
                        "descriptive (no formal hypothesis, e.g. single-arm)"},
    "arms": {"type": "array", "minItems": 1, "items": obj(["id", "label", "drugs", "role"], {
        "id": ID, "label": TEXT, "drugs": {"type": "array", "items": ID},
        "role": {"enum": ROLES}, "n": {"type": "integer", "minimum": 1},
    })},
    "sources": {"type": "object", "minProperties": 1, "additionalProperties": SOURCE},
    "cuts": {"type": "array", "minItems": 1, "items": obj(["id", "kind", "published", "source"], {
        "id": ID, "kind": {"enum": CUT_KINDS}, "label": TEXT, "published": DATE,
        "data_cutoff": DATE, "follow_up": TEXT, "source": ID,
    })},
    "results": {"type": "array", "items": RESULT},
    "notes": TEXT,
})

DRUG = obj(["id", "name", "modality", "status"], {
    "id": ID,
    "name": TEXT,
    "brands": TEXTS,
    "codes": TEXTS,
    "aliases": TEXTS,
    "modality": {"enum": MODALITIES},
    "drug_class": TEXT,
    "targets": TEXTS,
    "maker": TEXT,
    "status": {"enum": ["approved", "investigational"]},
    "first_fda_approval": obj(["date", "source"], {"date": DATE, "indication": TEXT, "source": SOURCE}),
    "notes": TEXT,
})

APPROVAL = obj(["id", "drugs", "indication", "text", "date", "trials", "source"], {
    "id": ID,
    "drugs": {"type": "array", "minItems": 1, "items": ID},
    "indication": TEXT,
    "setting": {"enum": SETTINGS},
    "text": TEXT,
    "biomarker": TEXT,
    "date": DATE,
    "type": {"enum": ["regular", "accelerated"]},
    "withdrawn": {"anyOf": [DATE, {"const": True}], "description": "when the indication was withdrawn (a date, "
                  "or true where the withdrawal is documented but its date was not read)"},
    "trials": {"type": "array", "items": ID},
    "source": SOURCE,
    "notes": TEXT,
})

ENDPOINTS = obj(["endpoints"], {"endpoints": {"type": "array", "items": obj(
    ["id", "name", "kind", "higher_is_better", "definition"], {
        "id": TEXT, "name": TEXT, "kind": {"enum": ["time-to-event", "rate"]},
        "higher_is_better": {"type": "boolean"}, "synonyms": TEXTS, "definition": TEXT,
    })}})

INDICATIONS = obj(["indications"], {"indications": {"type": "array", "items": obj(
    ["id", "name"], {
        "id": TEXT, "name": TEXT, "oncotree": {"anyOf": [TEXT, {"type": "null"}]},
        "parent": TEXT, "synonyms": TEXTS, "notes": TEXT,
    })}})

CONTEXT_SOURCE_REF = obj(["key"], {"key": TEXT, "section": TEXT})
CONTEXT = obj(["sources", "biomarkers", "iraes"], {
    "sources": {"type": "object", "minProperties": 1,
                "additionalProperties": obj(["citation"], {"citation": TEXT, "url": {"type": "string", "pattern": r"^https?://\S+$"}})},
    "biomarkers": {"type": "array", "items": obj(["id", "name", "what", "source"], {
        "id": TEXT, "name": TEXT, "synonyms": TEXTS, "what": TEXT, "assay": TEXT, "cutoffs": TEXTS, "fda": TEXT,
        "match": TEXTS, "caveats": TEXTS, "source": CONTEXT_SOURCE_REF})},
    "iraes": {"type": "array", "items": obj(["id", "organ", "name", "management", "source"], {
        "id": TEXT, "organ": TEXT, "name": TEXT, "synonyms": TEXTS, "management": TEXT, "notes": TEXT,
        "drugs": {"type": "array", "items": ID}, "targets": TEXTS, "warnings": TEXTS, "endpoints": TEXTS,
        "source": CONTEXT_SOURCE_REF})},
    "grading": obj(["text", "source"], {"text": TEXT, "source": CONTEXT_SOURCE_REF}),
    "warnings": {"type": "object", "additionalProperties": TEXT},
    "caution": TEXT,
})

FILE_KINDS = {"trial": TRIAL, "drug": DRUG, "approval": APPROVAL, "endpoints": ENDPOINTS,
              "indications": INDICATIONS, "context": CONTEXT}


def json_schema() -> dict:
    """The published schema: one definition per kind of file."""
    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: clean(v) for k, v in node.items() if k != "anyOfRequired"}
            if "anyOfRequired" in node:
                out["anyOf"] = [{"required": [k]} for k in node["anyOfRequired"]]
            return out
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://immuno.invalid/schema/knowledge.json",
        "title": "immuno knowledge files",
        "description": "data/trials/*.yaml, data/drugs/*.yaml, data/approvals/*.yaml, "
                       "data/endpoints.yaml, data/indications.yaml",
        "$defs": {kind: clean(schema) for kind, schema in FILE_KINDS.items()},
    }


_DATE_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v - v == 0,  # finite
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def problems(value: Any, schema: dict) -> list[tuple[tuple, str]]:
    """Every (path, message) by which `value` breaks `schema`; a quick yes/no first, the messages only if no."""
    check = _compiled.get(id(schema))
    if check is None:
        check = _compiled[id(schema)] = _compile(schema)
    return [] if check(value) else list(errors(value, schema))


_compiled: dict[int, Callable[[Any], bool]] = {}
_TYPE_TESTS = {
    "string": "isinstance(v, str)",
    "integer": "isinstance(v, int) and not isinstance(v, bool)",
    "number": "isinstance(v, (int, float)) and not isinstance(v, bool) and v - v == 0",  # NaN and ±inf are not
    "boolean": "isinstance(v, bool)",
    "object": "isinstance(v, dict)",
    "array": "isinstance(v, list)",
    "null": "v is None",
}


def _compile(schema: dict) -> Callable[[Any], bool]:
    """Python source for a predicate that agrees with `errors` (valid exactly when it yields nothing).

    Thousands of files are checked on a cache miss; generated code checks them several times faster
    than walking the schema for each value (the approach of fastjsonschema, for the keywords used here).
    """
    lines: list[str] = []
    constants: dict[str, Any] = {"_DATE_RE": _DATE_RE}
    names: dict[int, str] = {}

    def const(value: Any) -> str:
        name = f"_k{len(constants)}"
        constants[name] = value
        return name

    def gen(node: dict) -> str:
        if id(node) in names:
            return names[id(node)]
        name = names[id(node)] = f"_f{len(names)}"
        body: list[str] = []
        if "anyOf" in node:
            alternatives = [gen(alt) for alt in node["anyOf"]]
            body.append("return " + " or ".join(f"{alt}(v)" for alt in alternatives))
        elif "const" in node:
            body.append(f"return v == {const(node['const'])}")
        elif "enum" in node:
            body.append(f"return v in {const(tuple(node['enum']))}")
        else:
            kind = node.get("type")
            if kind:
                body.append(f"if not ({_TYPE_TESTS[kind]}): return False")
            if kind == "string":
                if node.get("minLength"):
                    body.append(f"if len(v) < {node['minLength']} or not v.strip(): return False")
                if "pattern" in node:
                    body.append(f"if {const(re.compile(node['pattern']))}.search(v) is None: return False")
                if node.get("format") == "date":
                    body.append("if _DATE_RE.match(v) is None: return False")
            elif kind in ("number", "integer"):
                for key, op in (("minimum", "<"), ("maximum", ">"), ("exclusiveMinimum", "<="),
                                ("exclusiveMaximum", ">=")):
                    if key in node:
                        body.append(f"if v {op} {node[key]!r}: return False")
            elif kind == "array":
                if node.get("minItems"):
                    body.append(f"if len(v) < {node['minItems']}: return False")
                if "maxItems" in node:
                    body.append(f"if len(v) > {node['maxItems']}: return False")
                if "items" in node:
                    item = gen(node["items"])
                    body += ["for x in v:", f"    if not {item}(x): return False"]
            elif kind == "object":
                for key in node.get("required", []):
                    body.append(f"if {key!r} not in v: return False")
                if node.get("anyOfRequired"):
                    body.append(f"if not any(k in v for k in {node['anyOfRequired']!r}): return False")
                if node.get("minProperties"):
                    body.append(f"if len(v) < {node['minProperties']}: return False")
                props = {key: gen(sub) for key, sub in node.get("properties", {}).items()}
                extra = node.get("additionalProperties", True)
                table = const({})
                lines.append(f"{table}.update({{{', '.join(f'{k!r}: {f}' for k, f in props.items())}}})")
                otherwise = ("return False" if extra is False else
                             f"if not {gen(extra)}(x): return False" if isinstance(extra, dict) else "continue")
                body += ["for k, x in v.items():", f"    c = {table}.get(k)", "    if c is None:",
                         f"        {otherwise}", "    elif not c(x): return False"]
            body.append("return True")
        lines.append(f"def {name}(v):\n" + "\n".join("    " + line for line in body))
        return name

    top = gen(schema)
    # Functions first, then the property tables that refer to them.
    source = "\n".join(sorted(lines, key=lambda line: not line.startswith("def ")))
    exec(compile(source, "<immuno schema>", "exec"), constants)  # noqa: S102 - source generated from our own schema
    return constants[top]


def errors(value: Any, schema: dict, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Yield (path, message) for every way `value` breaks `schema`."""
    if "anyOf" in schema:
        alternatives = schema["anyOf"]
        if any(next(errors(value, alt, path), None) is None for alt in alternatives):
            return
        typed = [alt for alt in alternatives if alt.get("type") in ("object", "array") and _TYPES[alt["type"]](value)]
        if len(typed) == 1:  # the author meant this shape: say what is wrong inside it
            yield from errors(value, typed[0], path)
        else:
            yield path, f"{_show(value)} is not {schema.get('description') or _describe(schema)}"
        return
    if "const" in schema and value != schema["const"]:
        yield path, f"{_show(value)} is not {schema['const']!r}"
        return
    if "enum" in schema:
        if value not in schema["enum"]:
            yield path, f"{_show(value)} is not one of: {', '.join(map(str, schema['enum']))}"
        return
    kind = schema.get("type")
    if kind and not _TYPES[kind](value):
        finite = not (kind == "number" and isinstance(value, float))
        yield path, f"expected {_article(kind)}, got {_show(value)}" if finite else f"{value} is not a finite number"
        return
    if kind == "string":
        if len(value) < schema.get("minLength", 0) or (schema.get("minLength") and not value.strip()):
            yield path, "must not be empty"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            yield path, f"{_show(value)} is not {schema.get('description') or 'in the expected form'}"
        if schema.get("format") == "date" and not _DATE_RE.match(value):
            yield path, f"{_show(value)} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"
    elif kind in ("number", "integer"):
        if "minimum" in schema and value < schema["minimum"]:
            yield path, f"{value} is below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            yield path, f"{value} is above the maximum {schema['maximum']}"
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            yield path, f"{value} must be greater than {schema['exclusiveMinimum']}"
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            yield path, f"{value} must be less than {schema['exclusiveMaximum']}"
    elif kind == "array":
        if len(value) < schema.get("minItems", 0):
            yield path, f"needs at least {schema['minItems']} item(s)"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            yield path, f"takes at most {schema['maxItems']} items"
        if "items" in schema:
            for i, item in enumerate(value):
                yield from errors(item, schema["items"], path + (i,))
    elif kind == "object":
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                yield path, f"missing required key {key!r}"
        if "anyOfRequired" in schema and not any(k in value for k in schema["anyOfRequired"]):
            yield path, "needs at least one of: " + ", ".join(schema["anyOfRequired"])
        if len(value) < schema.get("minProperties", 0):
            yield path, "must not be empty"
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                yield from errors(item, props[key], path + (key,))
            elif extra is False:
                yield path + (key,), f"unknown key {key!r}" + _suggest(key, props)
            elif isinstance(extra, dict):
                yield from errors(item, extra, path + (key,))


def _suggest(key: Any, props: dict) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), list(props), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(props)})"


def _article(kind: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "a whole number", "null": "nothing"}.get(
        kind, f"a {kind}")


def _describe(schema: dict) -> str:
    if "anyOf" in schema:
        return " or ".join(_describe(s) for s in schema["anyOf"])
    if "const" in schema:
        return repr(schema["const"])
    return _article(schema.get("type", "value"))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
