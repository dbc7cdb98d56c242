#!/usr/bin/env python3
"""Derive the GitHub stand-in's REST contract table from GitHub's published OpenAPI description.

Usage (from anywhere; paths are relative to the repository root):

    python3 tools/derive-github-table.py [--spec FILE] [--out TABLE]
    python3 tools/derive-github-table.py [--spec FILE] [--out TABLE] --check

The spec is GitHub's REST description (github/rest-api-description) as carried by the npm
package @octokit/openapi, pinned below (PACKAGE, VERSION, SPEC_FILE). Without --spec the script
runs `npm pack @octokit/openapi@<VERSION>` in a temporary directory (the npm registry is the only
network it touches), reads `package/generated/api.github.com.json` from the tarball, checks that
the spec's `info.version` is the pinned version, and deletes the temporary directory. --spec
reads an already unpacked `api.github.com.json` instead (offline work).

Without --check TABLE (default src/devserver/github_table.json) is (re)written. With --check
nothing is written: the exit status is 0 when TABLE is byte-identical to what the pinned spec
derives, 1 when it differs (a short summary goes to stderr), 2 when the package or a file cannot
be read (the message says which). The test
`devserver::github::tests::committed_table_matches_the_spec` runs the --check form.

Only the operations the project uses are kept (OPERATIONS below); the table holds names and
limits, never prose:

    {"source": "@octokit/openapi@23.0.2 generated/api.github.com.json",
     "spec_version": "23.0.2",
     "paths": {
      "<template>": {"spec_methods": [...], "ops": {"<method>": {
         "operation_id": "checks/create",
         "docs": "https://docs.github.com/rest/checks/runs#create-a-check-run",
         "path_params": {"<name>": "integer" | "string"},
         "query": [...],
         "body": <shape>}}},
      ...}}

- <template> is the spec's path key verbatim. `spec_methods` lists EVERY method the spec has on
  it (lowercase, sorted), so the checker can tell "the spec has no POST here" from "the spec has
  it but this project does not use it". `ops` holds only the operations in OPERATIONS.
- `docs` is the documentation URL GitHub puts into its error bodies' `documentation_url`:
  `https://docs.github.com/rest/<category>/<subcategory>#<slug of the summary>`, built from the
  operation's `x-github` category and subcategory. (The spec's own `externalDocs.url` is older
  for some operations, e.g. `rest/reference/checks#create-a-check-run`, while GitHub's error
  bodies carry the category form, as seen in github/docs#35252.)
- `path_params`: the operation's `in: path` parameters and their schema type.
- `query`: the sorted names of its `in: query` parameters.
- `body` (only when the operation declares a JSON request body) is a shape:
  `{"properties": [...], "required": [...], "enums": {"<prop>": [...]},
    "max_length": {"<prop>": n}, "max_items": {"<prop>": n},
    "objects": {"<prop>": <shape>}, "items": {"<prop>": <shape>}, "open": true}`
  where `objects` describes properties that are objects with properties, `items` the object
  items of array properties, and `open` marks `additionalProperties: true`. Empty members are
  left out. A top-level `anyOf`/`oneOf` (the check-run update's "completed needs a conclusion")
  is not carried: it states value rules, which the stand-in's handlers own.

Output is deterministic: keys sorted, one template per line.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
SPEC_FILE = "generated/api.github.com.json"

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TABLE = os.path.join(REPO_ROOT, "src", "devserver", "github_table.json")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_PREFIX = "#/components/schemas/"
PARAMETER_PREFIX = "#/components/parameters/"

# The REST operations the project sends, and nothing else. `update_comment` in octocrab 0.54
# sends POST to the comment path; the spec (and this table) has only PATCH there, so the
# project sends PATCH itself and the stand-in refuses POST.
OPERATIONS = (
    ("/repos/{owner}/{repo}/check-runs", "post"),
    ("/repos/{owner}/{repo}/check-runs/{check_run_id}", "patch"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post"),
    ("/repos/{owner}/{repo}/issues/comments/{comment_id}", "patch"),
    ("/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", "get"),
    ("/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", "get"),
)


class FetchError(Exception):
    """The pinned package could not be fetched or read."""


def fetch_spec():
    """`npm pack` the pinned package into a temporary directory and load its REST spec."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("`npm` is not on PATH")
    workdir = tempfile.mkdtemp(prefix="github-openapi-")
    try:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", workdir],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            # npm prints a stack trace after the useful lines; keep the first few others.
            lines = (done.stderr or done.stdout).splitlines()
            useful = [l for l in lines if l.strip() and " at " not in l][:4]
            raise FetchError(
                f"`npm pack {PACKAGE}@{VERSION}` failed ({done.returncode}): " + " | ".join(useful)
            )
        tarballs = [f for f in os.listdir(workdir) if f.endswith(".tgz")]
        if len(tarballs) != 1:
            raise FetchError(f"`npm pack` left {tarballs!r} instead of one tarball")
        member = "package/" + SPEC_FILE
        with tarfile.open(os.path.join(workdir, tarballs[0]), "r:gz") as tar:
            try:
                f = tar.extractfile(member)
            except KeyError:
                raise FetchError(f"the tarball has no `{member}`") from None
            if f is None:
                raise FetchError(f"`{member}` in the tarball is not a file")
            return json.load(f)
    except (OSError, subprocess.SubprocessError, ValueError, tarfile.TarError) as e:
        raise FetchError(f"cannot fetch or read {PACKAGE}@{VERSION}: {e}") from e
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def resolve(spec, node, prefix):
    """Follow one `$ref` into components (schemas or parameters)."""
    ref = node.get("$ref")
    if ref is None:
        return node
    if not ref.startswith(prefix):
        raise ValueError(f"unsupported $ref `{ref}`")
    section = "schemas" if prefix == SCHEMA_PREFIX else "parameters"
    return spec["components"][section][ref[len(prefix):]]


def slug(text):
    """GitHub docs' anchor for a heading: lowercase words joined by `-`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def derive_shape(spec, schema, where):
    schema = resolve(spec, schema, SCHEMA_PREFIX)
    if schema.get("type") != "object":
        raise ValueError(f"{where}: not an object schema")
    shape = {}
    properties = schema.get("properties", {})
    shape["properties"] = sorted(properties)
    shape["required"] = sorted(schema.get("required", []))
    enums, max_length, max_items, objects, items = {}, {}, {}, {}, {}
    for name, prop in sorted(properties.items()):
        prop = resolve(spec, prop, SCHEMA_PREFIX)
        if "enum" in prop:
            enums[name] = list(prop["enum"])
        if "maxLength" in prop:
            max_length[name] = prop["maxLength"]
        if "maxItems" in prop:
            max_items[name] = prop["maxItems"]
        if prop.get("type") == "object" and "properties" in prop:
            objects[name] = derive_shape(spec, prop, f"{where}.{name}")
        if prop.get("type") == "array":
            item = resolve(spec, prop.get("items", {}), SCHEMA_PREFIX)
            if item.get("type") == "object" and "properties" in item:
                items[name] = derive_shape(spec, item, f"{where}.{name}[]")
    for key, value in (
        ("enums", enums),
        ("max_length", max_length),
        ("max_items", max_items),
        ("objects", objects),
        ("items", items),
    ):
        if value:
            shape[key] = value
    if schema.get("additionalProperties") is True:
        shape["open"] = True
    if not shape["required"]:
        del shape["required"]
    return shape


def derive_operation(spec, template, method, operation):
    where = f"{method.upper()} {template}"
    entry = {"operation_id": operation["operationId"]}
    x_github = operation.get("x-github", {})
    entry["docs"] = (
        "https://docs.github.com/rest/"
        + x_github["category"]
        + "/"
        + x_github["subcategory"]
        + "#"
        + slug(operation["summary"])
    )
    path_params, query = {}, []
    for param in operation.get("parameters", []):
        param = resolve(spec, param, PARAMETER_PREFIX)
        if param["in"] == "path":
            path_params[param["name"]] = param.get("schema", {}).get("type", "string")
        elif param["in"] == "query":
            query.append(param["name"])
    declared = set(re.findall(r"\{([a-z_]+)\}", template))
    if declared != set(path_params):
        raise ValueError(f"{where}: path parameters {sorted(path_params)} != {sorted(declared)}")
    entry["path_params"] = path_params
    entry["query"] = sorted(query)
    body = operation.get("requestBody")
    if body is not None:
        content = body.get("content", {})
        if "application/json" not in content:
            raise ValueError(f"{where}: request body is not JSON: {list(content)}")
        entry["body"] = derive_shape(spec, content["application/json"]["schema"], where)
    return entry


def derive_table(spec):
    version = spec.get("info", {}).get("version")
    if version != VERSION:
        raise ValueError(f"the spec says version {version!r}, the pin is {VERSION!r}")
    paths = {}
    for template, method in OPERATIONS:
        item = spec["paths"].get(template)
        if item is None:
            raise ValueError(f"the spec has no path `{template}`")
        operation = item.get(method)
        if operation is None:
            raise ValueError(f"the spec has no {method.upper()} on `{template}`")
        entry = paths.setdefault(
            template,
            {"spec_methods": sorted(m for m in item if m in HTTP_METHODS), "ops": {}},
        )
        entry["ops"][method] = derive_operation(spec, template, method, operation)
    return {
        "source": f"{PACKAGE}@{VERSION} {SPEC_FILE}",
        "spec_version": VERSION,
        "paths": paths,
    }


def render_table(table):
    """Compact JSON, sorted, one template per line."""
    compact = {"separators": (",", ":"), "sort_keys": True, "ensure_ascii": True}
    lines = [
        json.dumps(template, **compact) + ":" + json.dumps(entry, **compact)
        for template, entry in sorted(table["paths"].items())
    ]
    return (
        '{"source":'
        + json.dumps(table["source"])
        + ',"spec_version":'
        + json.dumps(table["spec_version"])
        + ',"paths":{\n'
        + ",\n".join(lines)
        + "\n}}\n"
    )


def describe_difference(committed, derived):
    try:
        old = json.loads(committed)
        old_paths = old["paths"]
    except (ValueError, KeyError, TypeError):
        return "the committed table is not a valid table"
    new = json.loads(derived)
    notes = []
    for key in ("source", "spec_version"):
        if old.get(key) != new[key]:
            notes.append(f"{key}: committed {old.get(key)!r}, derived {new[key]!r}")
    new_paths = new["paths"]
    for template in sorted(set(old_paths) | set(new_paths)):
        if template not in new_paths:
            notes.append(f"only in the committed table: {template}")
        elif template not in old_paths:
            notes.append(f"missing from the committed table: {template}")
        elif old_paths[template] != new_paths[template]:
            notes.append(f"differs: {template}")
    if not notes:
        notes.append("same content, different formatting")
    return "\n".join(notes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", help="an unpacked api.github.com.json (default: npm pack)")
    parser.add_argument("--out", default=DEFAULT_TABLE, help="table to write or check")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()

    try:
        if args.spec:
            with open(args.spec, encoding="utf-8") as f:
                spec = json.load(f)
        else:
            spec = fetch_spec()
    except FetchError as e:
        print(f"cannot fetch the pinned spec: {e}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:
        print(f"cannot read the spec `{args.spec}`: {e}", file=sys.stderr)
        return 2
    derived = render_table(derive_table(spec))

    if not args.check:
        with open(args.out, "w", encoding="utf-8", newline="\n") as f:
            f.write(derived)
        print(f"wrote {args.out} ({len(derived.encode())} bytes, {PACKAGE}@{VERSION})")
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
        f"`{args.out}` is stale against {PACKAGE}@{VERSION}:\n"
        + describe_difference(committed, derived)
        + "\nhint: run `python3 tools/derive-github-table.py` and review the diff",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
