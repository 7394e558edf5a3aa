#!/usr/bin/env bash
# tools/gen-config-doc.sh — regenerates the generated parts of the reference docs.
#
#   tools/gen-config-doc.sh [BUILD_DIR]      (default BUILD_DIR: build)
#   tools/gen-config-doc.sh --check [BUILD_DIR]   exit 1 if the docs are out of date
#
# - docs/configuration.md: the settings tables, from each daemon's own --help
#   (the binaries must be built in BUILD_DIR; missing ones are reported, and
#   their previous table is kept).
# - docs/api-reference.md: the field tables, from the JSON Schemas in proto/.
# Only text between "<!-- BEGIN GENERATED: <id> -->" and "<!-- END GENERATED: <id> -->"
# markers is replaced; everything else in the files is hand-written.
set -euo pipefail

check=0
if [[ ${1:-} == --check ]]; then check=1; shift; fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
[[ $build = /* ]] || build="$root/$build"

exec /usr/bin/python3 - "$root" "$build" "$check" <<'PY'
import json, os, re, subprocess, sys

root, build, check = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
DAEMONS = [
    ("nimbus-persistence", "services/persistence"),
    ("nimbus-api", "services/api"),
    ("nimbus-front", "services/front"),
    ("nimbus-notifier", "services/notifier"),
    ("weather-sim", "tools/weather-sim"),
    ("kafka-dev-broker", "tools/kafka-dev-broker"),
]
SCHEMAS = ["weather", "error", "record", "geocode", "put-result", "event", "outbox-claim",
           "outbox-claim-result", "outbox-ack", "outbox-ack-result", "outbox-release",
           "outbox-release-result", "outbox-stats", "subscription-request", "subscription",
           "subscription-create", "subscription-token", "subscription-answer",
           "place-subscriptions", "evaluations", "mail-claim", "mail-batch", "mail-sent",
           "mail-failed", "mail-stats", "lease-acquire", "lease-acquire-result",
           "lease-release", "lease-release-result", "budget-take", "budget-take-result"]


def md(text):
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


# ---------------------------------------------------------------- settings
def find_binary(name, subdir):
    for cand in (os.path.join(build, subdir, name), os.path.join(build, name)):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    for dirpath, _d, files in os.walk(build):
        if name in files:
            return os.path.join(dirpath, name)
    return None


FLAG_RE = re.compile(r"^  --(?P<flag>[a-z0-9][a-z0-9-]*)(?:=(?P<meta>\S+))?\s*$")
ENV_RE = re.compile(r"^\s+env (?P<env>NIMBUS_[A-Z0-9_]+), default: (?P<default>.*)$")


def parse_help(text):
    """Parses libcommon's --help (libcommon/src/config.c print_help):
         Usage: <prog> [--setting=value ...]
         <summary>
         Settings (flag, environment variable, default):
           --<name>=<TYPE>
               env NIMBUS_<NAME>, default: <default|(required)|(empty)>
               <help> [min..max]
       Returns (summary lines, [settings])."""
    summary, settings, cur = [], [], None
    in_settings = False
    for line in text.splitlines():
        if not in_settings:
            if line.startswith("Settings"):
                in_settings = True
            elif line.strip() and not line.startswith("Usage:"):
                summary.append(line.strip())
            continue
        m = FLAG_RE.match(line)
        if m:
            cur = None
            if m.group("flag") == "help":
                continue
            cur = {"flag": m.group("flag"), "meta": m.group("meta") or "", "env": "",
                   "default": "", "help": []}
            settings.append(cur)
            continue
        if cur is None or not line.strip():
            continue
        e = ENV_RE.match(line)
        if e and not cur["env"]:
            cur["env"], cur["default"] = e.group("env"), e.group("default").strip()
        else:
            cur["help"].append(line.strip())
    return summary, settings


def settings_table(name, binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:  # e.g. a sanitizer report at exit: say so, keep the help text
        print(f"gen-config-doc: {binary} --help exited {out.returncode}:\n{out.stderr[-2000:]}",
              file=sys.stderr)
    text = out.stdout  # help goes to stdout; stderr may hold logs or sanitizer output
    summary, settings = parse_help(text)
    if not settings:
        raise SystemExit(f"gen-config-doc: could not parse {binary} --help:\n{text}")
    rows = [f"`{name} --help`: {md(' '.join(summary[:2]))}" if summary else "", "",
            "| flag | environment | default | meaning |", "|---|---|---|---|"]
    for s in settings:
        flag = f"`--{s['flag']}`" + (f" *{md(s['meta'])}*" if s["meta"] else "")
        env = f"`{s['env']}`" if s["env"] else ""
        default = s["default"]
        default = default if default in ("(required)", "(empty)") else f"`{md(default)}`"
        rows.append(f"| {flag} | {env} | {default} | {md(' '.join(s['help']))} |")
    return "\n".join(r for r in rows if r is not None) + "\n"


# ---------------------------------------------------------------- schemas
def type_of(node, defs):
    if "$ref" in node:
        ref = node["$ref"].split("/")[-1]
        return type_of(defs[ref], defs)
    if "const" in node:
        return f"const `{json.dumps(node['const'], ensure_ascii=False)}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v, ensure_ascii=False)}`" for v in node["enum"])
    if "anyOf" in node:
        return " or ".join(type_of(n, defs) for n in node["anyOf"])
    t = node.get("type", "any")
    if isinstance(t, list):
        t = " or ".join(t)
    if t == "array" and "items" in node:
        inner = node["items"]
        t = "array of " + ("object" if inner.get("type") == "object" else type_of(inner, defs))
    return t


def constraints(node, defs):
    if "$ref" in node:
        ref = node["$ref"].split("/")[-1]
        c = constraints(defs[ref], defs)
        node = {k: v for k, v in node.items() if k != "$ref"}
    else:
        c = []
    for k, label in (("format", "format"), ("pattern", "pattern"), ("minimum", "≥"),
                     ("maximum", "≤"), ("minLength", "min length"), ("maxLength", "max length"),
                     ("minItems", "min items"), ("maxItems", "max items")):
        if k in node:
            v = node[k]
            c.append(f"{label} `{v}`" if k in ("pattern", "format") else f"{label} {v}")
    if "anyOf" in node:
        for n in node["anyOf"]:
            c += [x for x in constraints(n, defs) if x not in c]
    return c


def walk(node, defs, prefix, required, rows, closed):
    if node.get("additionalProperties") is False:
        closed.append(prefix.rstrip(".") or "(top level)")
    props = node.get("properties", {})
    req = set(node.get("required", []))
    for name, sub in props.items():
        path = f"{prefix}{name}"
        if "$ref" in sub and not any(k in sub for k in ("type", "properties")):
            target = defs[sub["$ref"].split("/")[-1]]
        else:
            target = sub
        desc = sub.get("description", "")
        rows.append((path, type_of(sub, defs), "yes" if name in req else "",
                     "; ".join(constraints(sub, defs)), desc))
        if target.get("type") == "object" and "properties" in target:
            walk(target, defs, path + ".", req, rows, closed)
        elif target.get("type") == "array" and target.get("items", {}).get("type") == "object":
            walk(target["items"], defs, path + "[].", req, rows, closed)


def schema_table(stem):
    path = os.path.join(root, "proto", f"{stem}.schema.json")
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    defs = schema.get("$defs", {})
    rows, closed = [], []
    walk(schema, defs, "", set(), rows, closed)
    out = [f"Generated from `proto/{stem}.schema.json` — *{md(schema.get('title', ''))}*."]
    if schema.get("description"):
        out.append("")
        out.append(md(schema["description"]))
    out += ["", "*required* means required within its parent object.", "",
            "| field | type | required | constraints | notes |", "|---|---|---|---|---|"]
    for p, t, r, c, d in rows:
        out.append(f"| `{p}` | {md(t)} | {r} | {md(c)} | {md(d)} |")
    extra = []
    if closed:
        extra.append("Closed objects (no fields beyond those listed): "
                     + ", ".join(f"`{c}`" for c in closed) + ".")
    if "if" in schema and "then" in schema:
        cond = schema["if"].get("properties", {})
        then = schema["then"].get("required", [])
        if cond and then:
            k, v = next(iter(cond.items()))
            extra.append(f"When `{k}` is `{json.dumps(v.get('const'))}`, "
                         f"{', '.join('`%s`' % t for t in then)} is required.")
    if extra:
        out += [""] + extra
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- splice
def splice(path, blocks):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = text
    for bid, body in blocks.items():
        pat = re.compile(r"(<!-- BEGIN GENERATED: %s -->\n).*?(<!-- END GENERATED: %s -->)"
                         % (re.escape(bid), re.escape(bid)), re.S)
        if not pat.search(new):
            raise SystemExit(f"gen-config-doc: {path} has no GENERATED block '{bid}'")
        new = pat.sub(lambda m: m.group(1) + body + m.group(2), new)
    if new == text:
        return False
    if check:
        print(f"gen-config-doc: {os.path.relpath(path, root)} is out of date", file=sys.stderr)
        return True
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    print(f"gen-config-doc: wrote {os.path.relpath(path, root)}")
    return True


stale = False
blocks = {}
missing = []
for name, sub in DAEMONS:
    binary = find_binary(name, sub)
    if binary is None:
        missing.append(name)
        continue
    blocks[name] = settings_table(name, binary)
if missing:
    print(f"gen-config-doc: not built in {build}, tables kept: {', '.join(missing)}", file=sys.stderr)
stale |= splice(os.path.join(root, "docs", "configuration.md"), blocks)
stale |= splice(os.path.join(root, "docs", "api-reference.md"),
                {f"schema:{s}": schema_table(s) for s in SCHEMAS})
sys.exit(1 if (check and stale) else 0)
PY
