"""schema — validate JSON documents against the wire contracts in proto/.

validate(obj, "weather") checks obj against proto/weather.schema.json with a
Draft 2020-12 validator and format checking; a violation raises AssertionError
naming the JSON path of the failing field. The repository root is
$NIMBUS_SOURCE_DIR, or found relative to this package.
"""
import functools
import json
import os

import jsonschema


def source_dir():
    d = os.environ.get("NIMBUS_SOURCE_DIR")
    if d:
        return d
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", ".."))


def schema_path(name):
    return os.path.join(source_dir(), "proto", "%s.schema.json" % name)


@functools.lru_cache(maxsize=None)
def _validator(name):
    with open(schema_path(name), encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _path(error):
    p = "$"
    for part in error.absolute_path:
        p += "[%d]" % part if isinstance(part, int) else ".%s" % part
    return p


def errors(obj, name):
    """All violations as "path: message" strings (empty list: valid)."""
    v = _validator(name)
    return ["%s: %s" % (_path(e), e.message)
            for e in sorted(v.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]


def validate(obj, name):
    """Raises AssertionError listing every violation of proto/<name>.schema.json."""
    errs = errors(obj, name)
    if errs:
        raise AssertionError("document does not match proto/%s.schema.json:\n  %s\ndocument: %s"
                             % (name, "\n  ".join(errs[:20]),
                                json.dumps(obj, ensure_ascii=False)[:2000]))
    return obj


def names():
    """The schema names available in proto/."""
    d = os.path.join(source_dir(), "proto")
    return sorted(f[:-len(".schema.json")] for f in os.listdir(d) if f.endswith(".schema.json"))
