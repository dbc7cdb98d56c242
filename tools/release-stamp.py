#!/usr/bin/env python3
"""Stamp a checkout into a release commit (or point action.yml at this checkout's image).

Usage (from anywhere; --root defaults to the repository holding this script):

    tools/release-stamp.py release --repository OWNER/NAME --tag vX.Y.Z \\
        --image ghcr.io/owner/name --digest sha256:<hex> --sha256sums release/SHA256SUMS
    tools/release-stamp.py pin-readme --repository OWNER/NAME --tag vX.Y.Z --commit <40 hex>
    tools/release-stamp.py local-image

`release` rewrites, in place:
  - action.yml and .github/actions/container/action.yml: `runs:` becomes the container action
    running `docker://<image>@<digest>` (branches carry a `runs:` that stops with an error);
  - binary/action.yml: the repository, the tag and each binary's SHA-256 (read from the
    release's SHA256SUMS), so the binary action downloads exactly these files and checks them
    against values in the commit, not against a checksum file from the same place;
  - every Markdown, YAML, Terraform and HCL file outside .github/workflows/: the placeholder
    `OWNER/vault-k8s-handshake` becomes the repository.
`pin-readme` then replaces the snippets' placeholder pin
`@0000000000000000000000000000000000000000 # vX.Y.Z` with the release commit made by `release`
and its tag (a second commit, so the snippets can name the first one's SHA).
`local-image` makes action.yml (and its copy) build dist/Dockerfile from this checkout: what the
end-to-end workflow runs with `uses: ./`.

Files under .github/workflows/ are never touched: GITHUB_TOKEN cannot push a commit that changes
them (the `workflows` permission), and the workflows reach the stamped actions through `$/`.

The result must be exactly what src/pure/contract.rs renders for the same values:
`VKH_CONTRACT_ROOT=<root> cargo test --test contract` checks it (.ci/release-check does both).
Every edit checks that the text it replaces occurs exactly as expected, and fails otherwise.
"""

import argparse
import os
import re
import sys

PLACEHOLDER_REPOSITORY = "OWNER/vault-k8s-handshake"
PLACEHOLDER_PIN = "@" + "0" * 40 + " # vX.Y.Z"
# (target triple, the variable binary/action.yml holds its SHA-256 in): as BINARY_TARGETS in
# src/pure/contract.rs.
BINARY_TARGETS = [
    ("x86_64-unknown-linux-musl", "SHA256_X86_64_LINUX"),
    ("aarch64-unknown-linux-musl", "SHA256_AARCH64_LINUX"),
]
CONTAINER_ACTIONS = ["action.yml", ".github/actions/container/action.yml"]
STAMPED_SUFFIXES = (".md", ".yml", ".yaml", ".tf", ".hcl")
SKIPPED_DIRS = {".git", "target", "node_modules"}


class StampError(Exception):
    pass


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def write(root, rel, text):
    with open(os.path.join(root, rel), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def yaml_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def stamp_container_action(text, image, rel):
    """The unstamped container action (composite, stops) → the container action on `image`."""
    head, sep, _ = text.partition("\nruns:\n")
    if not sep or '\nruns:\n  using: "composite"\n' not in text:
        raise StampError(f"{rel}: no unstamped `runs:` (already stamped?)")
    head += "\n"
    outputs_at = head.find("\noutputs:\n")
    if outputs_at < 0:
        raise StampError(f"{rel}: no `outputs:`")
    outputs = head[outputs_at:]
    # Composite outputs need a `value`; a container action's outputs have none.
    if outputs.count('\n    value: ""\n') != outputs.count("\n    description: "):
        raise StampError(f"{rel}: outputs are not in the unstamped form")
    outputs = outputs.replace('\n    value: ""\n', "\n")
    runs = f'runs:\n  using: "docker"\n  image: {yaml_quote(image)}\n  args:\n    - "run"\n'
    return head[:outputs_at] + outputs + runs


def stamp_binary_action(text, values):
    for var, value in values:
        old = f'        {var}: ""\n'
        if text.count(old) != 1:
            raise StampError(f"binary/action.yml: expected one unstamped `{var}` line")
        text = text.replace(old, f"        {var}: {yaml_quote(value)}\n")
    return text


def stamped_files(root):
    """Files whose placeholders a release replaces: docs and metadata, never workflows."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIPPED_DIRS and os.path.join(rel_dir, d) != os.path.join(".github", "workflows")
        )
        for name in sorted(filenames):
            if name.endswith(STAMPED_SUFFIXES):
                yield os.path.normpath(os.path.join(rel_dir, name))


def replace_everywhere(root, old, new):
    """Replaces `old` in every stamped file; returns the files changed."""
    changed = []
    for rel in stamped_files(root):
        text = read(root, rel)
        if old in text:
            write(root, rel, text.replace(old, new))
            changed.append(rel)
    return changed


def parse_sha256sums(path):
    sums = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.fullmatch(r"([0-9a-f]{64}) [ *](\S+)\n?", line)
            if not m:
                raise StampError(f"{path}: not a sha256sum line: {line.rstrip()!r}")
            sums[m.group(2)] = m.group(1)
    return sums


def check_repository(repository):
    if repository == PLACEHOLDER_REPOSITORY or not re.fullmatch(
        r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}", repository
    ):
        raise StampError(f"--repository `{repository}` is not owner/name")


def check_tag(tag):
    if not re.fullmatch(r"v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?", tag):
        raise StampError(f"--tag `{tag}` is not vX.Y.Z or vX.Y.Z-pre")


def release(args):
    check_repository(args.repository)
    check_tag(args.tag)
    if not re.fullmatch(r"[a-z0-9][a-z0-9./_:-]*", args.image) or "@" in args.image:
        raise StampError(f"--image `{args.image}` is not an image name (lowercase, no tag or digest)")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", args.digest):
        raise StampError(f"--digest `{args.digest}` is not sha256:<64 hex>")
    sums = parse_sha256sums(args.sha256sums)
    values = [("RELEASE_REPOSITORY", args.repository), ("RELEASE_TAG", args.tag)]
    for target, var in BINARY_TARGETS:
        name = f"vault-k8s-handshake-{target}"
        if name not in sums:
            raise StampError(f"{args.sha256sums} has no line for {name}")
        values.append((var, sums[name]))

    image = f"docker://{args.image}@{args.digest}"
    for rel in CONTAINER_ACTIONS:
        write(args.root, rel, stamp_container_action(read(args.root, rel), image, rel))
    write(args.root, "binary/action.yml", stamp_binary_action(read(args.root, "binary/action.yml"), values))
    changed = replace_everywhere(args.root, PLACEHOLDER_REPOSITORY, args.repository)
    if "README.md" not in changed:
        raise StampError(f"README.md names no `{PLACEHOLDER_REPOSITORY}` to stamp")
    left = [rel for rel in stamped_files(args.root) if PLACEHOLDER_REPOSITORY in read(args.root, rel)]
    if left:
        raise StampError(f"`{PLACEHOLDER_REPOSITORY}` is left in {left}")
    print(f"stamped {', '.join(CONTAINER_ACTIONS)} ({image}), binary/action.yml ({args.tag}), "
          f"and the repository in {len(changed)} files")


def pin_readme(args):
    check_repository(args.repository)
    check_tag(args.tag)
    if not re.fullmatch(r"[0-9a-f]{40}", args.commit):
        raise StampError(f"--commit `{args.commit}` is not a 40-hex commit SHA")
    changed = replace_everywhere(args.root, PLACEHOLDER_PIN, f"@{args.commit} # {args.tag}")
    if "README.md" not in changed:
        raise StampError(f"README.md has no `{PLACEHOLDER_PIN}` to pin")
    print(f"pinned the snippets in {', '.join(changed)} to {args.commit} ({args.tag})")


def local_image(args):
    for rel in CONTAINER_ACTIONS:
        write(args.root, rel, stamp_container_action(read(args.root, rel), "dist/Dockerfile", rel))
    print(f"{', '.join(CONTAINER_ACTIONS)} now build dist/Dockerfile from this checkout")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release")
    p.add_argument("--repository", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--digest", required=True)
    p.add_argument("--sha256sums", required=True)
    p.set_defaults(run=release)
    p = sub.add_parser("pin-readme")
    p.add_argument("--repository", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--commit", required=True)
    p.set_defaults(run=pin_readme)
    p = sub.add_parser("local-image")
    p.set_defaults(run=local_image)
    args = parser.parse_args()
    try:
        args.run(args)
    except (StampError, OSError) as e:
        print(f"release-stamp: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
