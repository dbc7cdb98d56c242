#!/usr/bin/env python3
"""Derive the dev server's OpenAPI contract table from Vault's OpenAPI spec.

Usage (from the repository root):

    python3 tools/derive-openapi-table.py [SPEC] [--out TABLE]
    python3 tools/derive-openapi-table.py [SPEC] [--out TABLE] --check

SPEC defaults to ../shared/reference/vault-openapi-1.15.json and TABLE to
src/devserver/openapi_table.json, both relative to the repository root (not to the current
directory). Without --check the table is (re)written. With --check nothing is written: the exit
status is 0 when TABLE is byte-identical to what SPEC derives, 1 when it differs (a short
summary of the difference goes to stderr), 2 when a file cannot be read. The test
`devserver::openapi::tests::committed_table_matches_the_spec` runs the --check form.

What the table holds, and nothing else (no descriptions, no response shapes):

    {"spec_version": "1.15.0",
     "paths": {
      "<template>": {"<method>": {"query": [...], "body": [...], "schema": "...", "open": true}},
      ...}}

- <template> is the spec's path key verbatim, e.g. `/auth/{kubernetes_mount_path}/config`.
  Templates ending in `/` are the list forms. Left out: paths without any operation (the spec
  has one, `/{kv_v2_mount_path}/^.*$`, the KV v2 upgrade catch-all: no request can use it), and
  templates whose `{<engine>_mount_path}` names an engine not in MODELLED_MOUNT_PARAMS below.
  The checker (src/devserver/openapi.rs, `MountKind`) can bind only those mount parameters, so
  the other engines' templates could never match; leaving them out keeps the table a third of
  the size. Literal templates (`/sys/...`, `/auth/token/...`, `/identity/...`,
  `/cubbyhole/...`) are all kept. Adding a mount kind means adding its name here and there.
- <method> is `get`, `post`, `delete` or `list`. The spec has no LIST verb: a listing is a `get`
  whose operation declares the required query parameter `list` with `enum: ["true"]` (Vault's
  `GET ?list=true`). Such a `get` is recorded as `list`, and `list` is dropped from its query.
- `query`: the operation's declared `in: query` parameter names, sorted; omitted when none.
- `body`: present only when the operation declares a request body: the sorted property names
  of its JSON schema (a `$ref` to `#/components/schemas/...` is resolved; property values are not
  descended into). `schema` is the referenced schema's name, omitted for inline schemas.
  `open: true` marks a schema that accepts any property (`additionalProperties: true`, e.g.
  KV v1 and cubbyhole writes).

Output is deterministic: keys sorted, one template per line, so a spec update diffs readably.
"""

import argparse
import json
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SPEC = os.path.normpath(
    os.path.join(REPO_ROOT, "..", "shared", "reference", "vault-openapi-1.15.json")
)
DEFAULT_TABLE = os.path.join(REPO_ROOT, "src", "devserver", "openapi_table.json")
METHODS = ("get", "post", "delete")
SCHEMA_PREFIX = "#/components/schemas/"
# The mount parameters the checker maps to a `MountKind`; keep in step with `MountKind::param`.
MODELLED_MOUNT_PARAMS = (
    "jwt_mount_path",
    "kubernetes_mount_path",
    "kv_v1_mount_path",
    "kv_v2_mount_path",
)
MOUNT_PARAM = re.compile(r"\{([a-z0-9_]+_mount_path)\}")


def is_list_operation(operation):
    """True for the spec's encoding of a LIST: a required `list` query parameter fixed to `true`."""
    for param in operation.get("parameters", []):
        if param.get("in") == "query" and param.get("name") == "list":
            return param.get("required") is True and param.get("schema", {}).get("enum") == ["true"]
    return False


def resolve_schema(spec, schema):
    """Follow one `$ref` into components/schemas; returns (name or None, schema)."""
    ref = schema.get("$ref")
    if ref is None:
        return None, schema
    if not ref.startswith(SCHEMA_PREFIX):
        raise ValueError(f"unsupported $ref `{ref}`")
    name = ref[len(SCHEMA_PREFIX):]
    return name, spec["components"]["schemas"][name]


def derive_operation(spec, template, operation):
    entry = {}
    query = sorted(
        p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"
    )
    if is_list_operation(operation):
        query.remove("list")
    if query:
        entry["query"] = query
    body = operation.get("requestBody")
    if body is not None:
        content = body.get("content", {})
        if list(content) != ["application/json"]:
            raise ValueError(f"{template}: request body is not only JSON: {list(content)}")
        name, schema = resolve_schema(spec, content["application/json"]["schema"])
        if schema.get("type") != "object":
            raise ValueError(f"{template}: request body schema is not an object")
        entry["body"] = sorted(schema.get("properties", {}))
        if name is not None:
            entry["schema"] = name
        if schema.get("additionalProperties") is True:
            entry["open"] = True
    return entry


def derive_table(spec):
    paths = {}
    for template, item in spec["paths"].items():
        if any(m not in MODELLED_MOUNT_PARAMS for m in MOUNT_PARAM.findall(template)):
            continue
        operations = {}
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            key = "list" if method == "get" and is_list_operation(operation) else method
            operations[key] = derive_operation(spec, template, operation)
        if operations:
            paths[template] = operations
    return {"spec_version": spec["info"]["version"], "paths": paths}


def render_table(table):
    """Compact JSON, sorted, one template per line."""
    compact = {"separators": (",", ":"), "sort_keys": True, "ensure_ascii": True}
    lines = [
        json.dumps(template, **compact) + ":" + json.dumps(ops, **compact)
        for template, ops in sorted(table["paths"].items())
    ]
    return (
        '{"spec_version":'
        + json.dumps(table["spec_version"])
        + ',"paths":{\n'
        + ",\n".join(lines)
        + "\n}}\n"
    )


def describe_difference(committed, derived):
    try:
        old = json.loads(committed)["paths"]
    except (ValueError, KeyError, TypeError):
        return "the committed table is not a valid table"
    new = json.loads(derived)["paths"]
    notes = []
    for template in sorted(set(old) | set(new)):
        if template not in new:
            notes.append(f"only in the committed table: {template}")
        elif template not in old:
            notes.append(f"missing from the committed table: {template}")
        elif old[template] != new[template]:
            notes.append(f"differs: {template}")
    if not notes:
        notes.append("same content, different formatting or spec_version")
    shown = notes[:20]
    if len(notes) > len(shown):
        shown.append(f"... and {len(notes) - len(shown)} more")
    return "\n".join(shown)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", default=DEFAULT_SPEC, help="Vault OpenAPI JSON spec")
    parser.add_argument("--out", default=DEFAULT_TABLE, help="table to write or check")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()

    try:
        with open(args.spec, encoding="utf-8") as f:
            spec = json.load(f)
    except OSError as e:
        print(f"cannot read the spec `{args.spec}`: {e}", file=sys.stderr)
        return 2
    derived = render_table(derive_table(spec))

    if not args.check:
        with open(args.out, "w", encoding="utf-8", newline="\n") as f:
            f.write(derived)
        print(f"wrote {args.out} ({len(derived.encode())} bytes)")
        return 0

    try:
        with open(args.out, encoding="utf-8", newline="") as f:
            committed = f.read()
    except OSError as e:
        print(f"cannot read the table `{args.out}`: {e}", file=sys.stderr)
        return 2
    if committed == derived:
        return 0
    print(
        f"`{args.out}` is stale against `{args.spec}`:\n"
        + describe_difference(committed, derived)
        + "\nhint: run `python3 tools/derive-openapi-table.py` and review the diff",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
