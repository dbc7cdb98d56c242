#!/usr/bin/env python3
"""Conformance of the dev server with a Vault client this project did not write: hvac (PyPI).

Usage (from the repository root, after `cargo build`):

    python3 tests/conformance/hvac_suite.py [--binary target/debug/vault-k8s-handshake]
                                            [--spec ../shared/reference/vault-openapi-1.15.json]

Starts `<binary> dev-server --port 0` with no seed (a bare server, as a fresh Vault is), then:

1. runs the README's "The Vault setup it expects" commands translated to hvac calls, with the
   dev server's own OIDC issuer key (`jwt_validation_pubkeys`) in place of GitHub's discovery
   URL and a loopback VIP in place of 10.0.0.10, then runs the action (`<binary> run`) against
   that server the way a runner runs it, and requires a successful handshake;
2. drives what a team's setup scripts and an operator's checks do: auth methods and mounts,
   policies on both routes, JWT and kubernetes roles (write, read, LIST), KV v2
   put/get/patch/metadata/list, token lookup-self, sys/capabilities-self, revoke-self, the
   kubernetes config, and JWT and kubernetes logins that fail.

Every answer goes through hvac's own parsing (its return values and its exception classes per
status), and every successful `/v1/` answer, whichever hvac call asked, is checked against
Vault's OpenAPI spec by a hook on the HTTP session: its path must match a template of the spec
(the suite's mounts bound to the spec's mount parameters), its status must be one the spec lists
for that operation (a documented 204 may arrive as a 200 carrying warnings, and a bare "OK" 200
as a 204 when the handler returns nothing, as Vault does), and where the spec gives a response
schema, the `data` keys must be its properties with the declared JSON types.

Prints one line per check and a closing `conformance: N passed, M failed`; exits 1 when any
check failed or the server could not be started. All traffic goes to 127.0.0.1: the server is
refused if it reports any other address, and proxies from the environment are ignored.
"""

import argparse
import base64
import importlib.metadata
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

import hvac
import requests
from hvac import exceptions

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_SPEC = os.path.normpath(
    os.path.join(REPO_ROOT, "..", "shared", "reference", "vault-openapi-1.15.json")
)
DEFAULT_BINARY = os.path.join(REPO_ROOT, "target", "debug", "vault-k8s-handshake")
AUDIENCE = "https://vault.example.com"
# The mounts this suite creates, by the spec's mount parameter (for matching templates).
MOUNTS = {
    "jwt_mount_path": ["jwt"],
    "kubernetes_mount_path": ["dev-kubernetes"],
    "kv_v2_mount_path": ["kv/dev"],
    "kv_v1_mount_path": ["kv/ops"],
}
VIP = "127.0.0.10"


class Failed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failed(message)


# ---------------------------------------------------------------------------------------------
# The OpenAPI side


class Spec:
    """Response checks against Vault's OpenAPI document (None: the spec is not available)."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        self.paths = doc["paths"]
        self.schemas = doc["components"]["schemas"]
        self.checked = 0
        self.matchers = []
        for template in self.paths:
            pattern, literal = [], 0
            for segment in template.strip("/").split("/"):
                name = segment[1:-1] if segment.startswith("{") else None
                if name in MOUNTS:
                    pattern.append("(?:" + "|".join(map(re.escape, MOUNTS[name])) + ")")
                    literal += 1
                elif name == "path":  # mount paths and KV keys may hold slashes
                    pattern.append(".+")
                elif name:
                    pattern.append("[^/]+")
                elif name is None and segment.endswith("_mount_path}"):
                    pattern.append("(?!)")
                else:
                    pattern.append(re.escape(segment))
                    literal += len(segment)
            if any(seg.endswith("_mount_path}") and seg[1:-1] not in MOUNTS
                   for seg in template.split("/")):
                continue  # an engine this suite never mounts
            if template.endswith("/{path}/"):
                # A listing of the mount's root names no key at all.
                pattern[-1] = "?(?:/.*)?"
                regex = re.compile("/".join(pattern) + "$")
            else:
                regex = re.compile(
                    "/".join(pattern) + ("/?" if template.endswith("/") else "") + "$"
                )
            self.matchers.append((literal, template, regex))
        self.matchers.sort(key=lambda m: -m[0])

    def answer(self, response):
        """Checks one successful `/v1/` answer, whatever hvac call sent it."""
        url = urllib.parse.urlsplit(response.url)
        path = url.path[len("/v1/") :]
        method = response.request.method.lower()
        if method == "put":
            method = "post"
        if method == "list" or ("list", "true") in urllib.parse.parse_qsl(url.query):
            method = "list"
        for _, template, regex in self.matchers:
            if (method == "list") != template.endswith("/"):
                continue
            if regex.match(path):
                self.check(template, method, response)
                self.checked += 1
                return
        raise Failed(f"no template of the spec matches the answered `{method} {path}`")

    def check(self, template, method, response):
        """`method` is get/post/delete/list; `response` a requests.Response."""
        ops = self.paths.get(template)
        expect(ops is not None, f"`{template}` is not in the spec")
        op = ops.get("get" if method == "list" else method)
        expect(op is not None, f"the spec has no {method} on `{template}`")
        if method == "list":
            params = [p for p in op.get("parameters", []) if p.get("in") == "query"]
            expect(
                any(p["name"] == "list" for p in params),
                f"`{template}` get is not a list operation",
            )
        declared = op.get("responses", {})
        status = str(response.status_code)
        body = response.json() if response.content else None
        if status not in declared:
            # Vault answers 200 with a body where a 204 is documented when it has warnings, and
            # 204 where the generated spec says a bare "OK" 200 but the handler returns nothing
            # (vault-facts §1.3; §7.2 notes this for revoke-self).
            warned = status == "200" and "204" in declared and body and body.get("warnings")
            bare_ok = (
                status == "204"
                and "200" in declared
                and "content" not in declared["200"]
                and body is None
            )
            expect(
                warned or bare_ok,
                f"status {status} is not among the spec's {sorted(declared)} for {template}",
            )
            return
        schema = declared[status].get("content", {}).get("application/json", {}).get("schema")
        if not schema or "$ref" not in schema:
            return
        resolved = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        props = resolved.get("properties", {})
        data = (body or {}).get("data") or {}
        if resolved.get("additionalProperties") is not True:
            extra = sorted(set(data) - set(props))
            expect(not extra, f"`data` keys {extra} are not in the spec's response schema")
        kinds = {
            "string": str,
            "boolean": bool,
            "integer": int,
            "number": (int, float),
            "array": list,
            "object": dict,
        }
        for key, value in data.items():
            declared_type = props.get(key, {}).get("type")
            if value is None or declared_type not in kinds:
                continue
            ok = isinstance(value, kinds[declared_type]) and not (
                declared_type in ("integer", "number") and isinstance(value, bool)
            )
            expect(ok, f"`data.{key}` is {type(value).__name__}, the spec says {declared_type}")


# ---------------------------------------------------------------------------------------------
# The dev server


def loopback_only(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DevServer:
    """`<binary> dev-server --port 0`, read until it says it is ready."""

    def __init__(self, binary):
        # stderr goes to a file: a pipe nobody reads could fill up and stall the server.
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [binary, "dev-server", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={"PATH": os.environ.get("PATH", "")},
        )
        self.addr = self.root_token = self.request_url = self.request_token = None
        self.issuer = None
        pem, in_pem = [], False
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("VAULT_ADDR="):
                self.addr = line.split("=", 1)[1]
            elif line.startswith("root token: "):
                self.root_token = line[len("root token: ") :].split()[0]
            elif line.startswith("ACTIONS_ID_TOKEN_REQUEST_URL="):
                self.request_url = line.split("=", 1)[1]
            elif line.startswith("ACTIONS_ID_TOKEN_REQUEST_TOKEN="):
                self.request_token = line.split("=", 1)[1]
            elif line.startswith("OIDC issuer "):
                self.issuer = line.split()[2]
            elif line.startswith("-----BEGIN"):
                in_pem = True
            if in_pem:
                pem.append(line)
            if line.startswith("-----END"):
                in_pem = False
            if line.startswith("stop it with"):
                break
        self.issuer_pem = "\n".join(pem) + "\n"
        ready = all(
            [self.addr, self.root_token, self.request_url, self.request_token, self.issuer, pem]
        )
        if not ready:
            self.stop()
            self.stderr.seek(0)
            raise SystemExit(f"dev-server did not start: {self.stderr.read()}")
        for url in (self.addr, self.request_url):
            if not loopback_only(url):
                self.stop()
                raise SystemExit(f"refusing a non-loopback address from dev-server: {url}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


SPEC = None  # set in main(): every session checks each successful Vault answer against it


def spec_hook(response, *args, **kwargs):
    path = urllib.parse.urlsplit(response.url).path
    if SPEC and path.startswith("/v1/") and response.status_code < 400:
        SPEC.answer(response)


def session():
    s = requests.Session()
    s.trust_env = False  # no proxy from the environment: loopback only
    s.hooks["response"].append(spec_hook)
    return s


def client(server, token):
    return hvac.Client(url=server.addr, token=token, session=session())


def oidc_token(server, audience):
    """What a job's `ACTIONS_ID_TOKEN_REQUEST_URL` answers (the dev server's issuer)."""
    url = server.request_url + "&audience=" + urllib.parse.quote(audience, safe="")
    r = session().get(url, headers={"Authorization": f"Bearer {server.request_token}"})
    r.raise_for_status()
    return r.json()["value"]


# ---------------------------------------------------------------------------------------------
# Checks


class Suite:
    def __init__(self, server, binary):
        self.server = server
        self.binary = binary
        self.root = client(server, server.root_token)
        self.passed = 0
        self.failed = 0

    def check(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the suite
            self.failed += 1
            detail = str(e) if isinstance(e, Failed) else traceback.format_exc(limit=3)
            print(f"FAIL {name}: {detail}")
        else:
            self.passed += 1
            print(f"ok   {name}")

    def raw(self, method, path, token=None, **kwargs):
        """One call through hvac's raw adapter, for answers whose envelope a check reads."""
        adapter = hvac.adapters.RawAdapter(
            base_uri=self.server.addr,
            token=token or self.server.root_token,
            session=session(),
        )
        return adapter.request(method, f"/v1/{path}", **kwargs)

    def rejects(self, exception, texts, fn):
        try:
            fn()
        except exception as e:
            message = " ".join(e.errors or []) if hasattr(e, "errors") else str(e)
            for text in texts:
                expect(text in message, f"`{text}` not in Vault's errors: {message!r}")
            return
        raise Failed(f"expected {exception.__name__}, the call succeeded")


def readme_setup(s):
    """The README's setup, one hvac call per `vault` command, on a bare server."""
    c = s.root
    c.sys.enable_auth_method("jwt")
    c.auth.jwt.configure(
        jwt_validation_pubkeys=[s.server.issuer_pem],
        bound_issuer=s.server.issuer,
        path="jwt",
    )
    c.sys.create_or_update_acl_policy(
        "dev-handshake",
        'path "auth/dev-kubernetes/config" { capabilities = ["read", "update"] }\n'
        'path "kv/dev/data/ip"             { capabilities = ["read"] }\n',
    )
    c.sys.create_or_update_acl_policy(
        "dev-handshake-plan",
        'path "auth/dev-kubernetes/config" { capabilities = ["read"] }\n'
        'path "kv/dev/data/ip"             { capabilities = ["read"] }\n',
    )
    c.auth.jwt.create_role(
        name="dev-handshake",
        role_type="jwt",
        user_claim="repository",
        allowed_redirect_uris=[],
        bound_audiences=[AUDIENCE],
        bound_claims_type="glob",
        bound_claims={"repository": "acme/gitops", "environment": "dev", "ref": "refs/heads/main"},
        token_policies=["dev-handshake"],
        token_ttl="5m",
        token_max_ttl="10m",
        path="jwt",
    )
    c.sys.enable_auth_method("kubernetes", path="dev-kubernetes")
    c.sys.enable_secrets_engine("kv", path="kv/dev", options={"version": "2"})
    c.secrets.kv.v2.create_or_update_secret("ip", {"vip": VIP}, mount_point="kv/dev")


def run_action(s):
    """`<binary> run` as the runner runs the container: cleared environment, every input."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = os.path.join(tmp, "workspace")
        runner_temp = os.path.join(tmp, "runner_temp")
        files = os.path.join(runner_temp, "_runner_file_commands")
        os.makedirs(workspace)
        os.makedirs(files)
        shutil.copy(
            os.path.join(REPO_ROOT, "tests", "fixtures", "rke2-server-ca.crt"),
            os.path.join(workspace, "k8s-ca.crt"),
        )
        output = os.path.join(files, "set_output_1")
        summary = os.path.join(files, "step_summary_1")
        for f in (output, summary):
            open(f, "w").close()
        env = {f"INPUT_{name.upper()}": value for name, value in action_input_defaults()}
        env.update(
            {
                "INPUT_VAULT-ADDR": s.server.addr,
                "INPUT_ENVIRONMENT": "dev",
                "INPUT_JWT-ROLE": "dev-handshake",
                "INPUT_JWT-AUDIENCE": AUDIENCE,
                "INPUT_CA-FILE": "k8s-ca.crt",
                "INPUT_ALLOW-LOOPBACK-HOST": "true",
                # Nothing serves the VIP here; `auto` would only warn, `off` sends nothing.
                "INPUT_PROBE": "off",
                "INPUT_GITHUB-TOKEN": "",
                "GITHUB_ACTIONS": "true",
                "CI": "true",
                "GITHUB_WORKSPACE": workspace,
                "RUNNER_TEMP": runner_temp,
                "GITHUB_OUTPUT": output,
                "GITHUB_STEP_SUMMARY": summary,
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_REPOSITORY": "acme/gitops",
                "GITHUB_RUN_ID": "4242",
                "GITHUB_RUN_ATTEMPT": "1",
                "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
                "GITHUB_REF": "refs/heads/main",
                "GITHUB_ACTOR": "octocat",
                "GITHUB_SERVER_URL": "https://github.com",
                # Never github.com: any GitHub call would go to a closed loopback port.
                "GITHUB_API_URL": "http://127.0.0.1:9",
                "HOME": os.path.join(tmp, "home"),
                "ACTIONS_ID_TOKEN_REQUEST_URL": s.server.request_url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": s.server.request_token,
            }
        )
        done = subprocess.run(
            [s.binary, "run"], env=env, cwd=workspace, capture_output=True, text=True
        )
        outputs = parse_outputs(open(output, encoding="utf-8").read())
        # Only the error annotations are shown: the log also carries `::add-mask::` lines,
        # whose values are secrets.
        errors = [line for line in done.stdout.splitlines() if line.startswith("::error")]
        expect(
            done.returncode == 0,
            f"`run` exited {done.returncode}: {outputs.get('error-message', '')}\n"
            + "\n".join(errors),
        )
        expect(outputs.get("result") == "changed", f"result `{outputs.get('result')}`")
        expect(outputs.get("mount") == "dev-kubernetes", f"mount `{outputs.get('mount')}`")
        expect(
            outputs.get("kubernetes-host") == f"https://{VIP}:6443",
            f"host `{outputs.get('kubernetes-host')}`",
        )
    config = s.root.auth.kubernetes.read_config(mount_point="dev-kubernetes")
    expect(config["kubernetes_host"] == f"https://{VIP}:6443", f"stored config {config}")
    expect(config["disable_local_ca_jwt"] is True, "client JWT mode stored")


def action_input_defaults():
    """(name, default) of every input in action.yml; `${{ … }}` defaults become empty."""
    inputs, name, section = [], None, None
    with open(os.path.join(REPO_ROOT, "action.yml"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith(" ") and line.strip():
                section = line.split(":")[0]
                continue
            if section != "inputs":
                continue
            if line.startswith("  ") and not line.startswith("   ") and line.strip().endswith(":"):
                name = line.strip()[:-1]
                inputs.append([name, ""])
            elif line.strip().startswith("default:") and name:
                value = line.split(":", 1)[1].strip().strip('"')
                inputs[-1][1] = "" if "${{" in value else value
    return inputs


def parse_outputs(text):
    out, lines = {}, iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        name, delimiter = line.split("<<", 1)
        value = []
        for body in lines:
            if body == delimiter:
                break
            value.append(body)
        out[name] = "\n".join(value)
    return out


def service_account_jwt(namespace, name):
    """An unsigned-looking ServiceAccount token: the kubernetes method reads its claims before
    any TokenReview, so a name outside the role's bounds fails without a network call."""

    def part(obj):
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "aud": ["https://kubernetes.default.svc.cluster.local"],
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": "0b7b5a4e-6a8b-4bb7-9f3e-1c2d3e4f5a6b"},
        },
    }
    return part({"alg": "RS256", "kid": "conformance"}) + "." + part(claims) + ".c2lnbmF0dXJl"


def operator_checks(s):
    """Each check: hvac parses the answer; the raw answer is checked against the spec."""
    c = s.root

    def auth_methods():
        listed = c.sys.list_auth_methods()
        for path, kind in (("token/", "token"), ("jwt/", "jwt"), ("dev-kubernetes/", "kubernetes")):
            expect(listed["data"][path]["type"] == kind, f"{path} in sys/auth: {listed['data']}")
            # Legacy injection: the same map at the top level (§1.3).
            expect(listed[path]["type"] == kind, f"{path} not copied to the top level")
        one = s.raw("GET", "sys/auth/jwt").json()
        expect(one["data"]["type"] == "jwt", f"sys/auth/jwt: {one}")
        s.rejects(
            exceptions.InvalidRequest,
            ["path is already in use at jwt/"],
            lambda: c.sys.enable_auth_method("jwt"),
        )
        s.rejects(
            exceptions.InvalidRequest,
            ["No auth engine at nowhere/"],
            lambda: s.raw("GET", "sys/auth/nowhere"),
        )

    def mounts():
        c.sys.enable_secrets_engine("kv", path="kv/ops", options={"version": "1"})
        listed = c.sys.list_mounted_secrets_engines()
        expect(listed["data"]["kv/dev/"]["options"]["version"] == "2", f"{listed['data']}")
        expect(listed["data"]["kv/ops/"]["options"]["version"] == "1", f"{listed['data']}")
        expect("kv/dev/" in listed, "sys/mounts data not copied to the top level")
        expect(not any(k.startswith("auth/") for k in listed["data"]), "auth mounts listed")

    def acl_policies():
        text = 'path "kv/dev/data/*" {\n  capabilities = ["read"]\n}\n'
        c.sys.create_or_update_acl_policy("dev-external-secrets-policy", text)
        read = c.sys.read_acl_policy("dev-external-secrets-policy")
        expect(read["data"]["policy"] == text, f"policy text read back: {read['data']}")
        listed = c.sys.list_acl_policies()
        keys = listed["data"]["keys"]
        for name in ("default", "dev-handshake", "dev-handshake-plan", "root"):
            expect(name in keys, f"`{name}` not in {keys}")
        s.rejects(
            exceptions.InvalidPath, [], lambda: c.sys.read_acl_policy("no-such-policy")
        )
        s.rejects(
            exceptions.InvalidRequest,
            [],
            lambda: c.sys.create_or_update_acl_policy("broken", 'path "x" { capabilities = '),
        )

    def legacy_policies():
        text = 'path "secret/*" {\n  capabilities = ["list"]\n}\n'
        c.sys.create_or_update_policy("legacy-ops", text)
        read = c.sys.read_policy("legacy-ops")
        expect(read["data"]["rules"] == text, f"legacy read names the text `rules`: {read}")
        expect(read["rules"] == text, "legacy read not copied to the top level")
        listed = c.sys.list_policies()
        expect("legacy-ops" in listed["data"]["policies"], f"sys/policy list: {listed['data']}")
        expect(listed["data"]["keys"] == listed["data"]["policies"], "keys and policies differ")
        expect("root" in listed["policies"], "sys/policy list not copied to the top level")
        # A mixed-case name is stored lower-cased, with Vault's warning.
        warned = s.raw(
            "PUT", "sys/policy/Legacy-Upper", json={"policy": text}
        ).json()
        expect(
            warned["warnings"] == ["policy name was converted to legacy-upper"], f"{warned}"
        )

    def jwt_roles():
        role = c.auth.jwt.read_role("dev-handshake", path="jwt")
        expect(role["data"]["role_type"] == "jwt", f"{role['data']}")
        expect(role["data"]["bound_audiences"] == [AUDIENCE], f"{role['data']}")
        c.auth.jwt.create_role(
            name="dev-handshake-pr",
            role_type="jwt",
            user_claim="repository",
            allowed_redirect_uris=[],
            bound_audiences=[AUDIENCE],
            bound_claims_type="glob",
            bound_claims={"repository": "acme/gitops", "ref": "refs/pull/*"},
            token_policies=["dev-handshake-plan"],
            path="jwt",
        )
        listed = c.auth.jwt.list_roles(path="jwt")
        expect(
            listed["data"]["keys"] == ["dev-handshake", "dev-handshake-pr"], f"{listed['data']}"
        )
        s.rejects(exceptions.InvalidPath, [], lambda: c.auth.jwt.read_role("nope", path="jwt"))

    def kubernetes_roles():
        s.rejects(
            exceptions.InvalidPath,
            [],
            lambda: c.auth.kubernetes.list_roles(mount_point="dev-kubernetes"),
        )
        c.auth.kubernetes.create_role(
            "external-secrets",
            bound_service_account_names=["external-secrets"],
            bound_service_account_namespaces=["external-secrets"],
            policies=["dev-external-secrets-policy"],
            ttl="1h",
            max_ttl="24h",
            mount_point="dev-kubernetes",
        )
        role = c.auth.kubernetes.read_role("external-secrets", mount_point="dev-kubernetes")
        # hvac hands back `data` itself for this one.
        expect(role["bound_service_account_names"] == ["external-secrets"], f"{role}")
        listed = c.auth.kubernetes.list_roles(mount_point="dev-kubernetes")
        expect(listed["keys"] == ["external-secrets"], f"{listed}")

    def kubernetes_config():
        with open(os.path.join(REPO_ROOT, "tests", "fixtures", "rke2-server-ca.crt")) as f:
            ca = f.read()
        c.auth.kubernetes.configure(
            kubernetes_host=f"https://{VIP}:6443",
            kubernetes_ca_cert=ca,
            disable_local_ca_jwt=True,
            mount_point="dev-kubernetes",
        )
        config = c.auth.kubernetes.read_config(mount_point="dev-kubernetes")
        expect(config["kubernetes_host"] == f"https://{VIP}:6443", f"{config}")
        expect(config["kubernetes_ca_cert"].strip() == ca.strip(), "CA read back differs")

    def kv_v2():
        kv = c.secrets.kv.v2
        read = kv.read_secret_version("ip", mount_point="kv/dev", raise_on_deleted_version=True)
        expect(read["data"]["data"] == {"vip": VIP}, f"{read['data']}")
        written = kv.create_or_update_secret("team/db", {"user": "app"}, mount_point="kv/dev")
        expect(written["data"]["version"] == 1, f"{written}")
        patched = kv.patch("team/db", {"port": "5432"}, mount_point="kv/dev")
        expect(patched["data"]["version"] == 2, f"patch is read + check-and-set write: {patched}")
        read = kv.read_secret_version("team/db", mount_point="kv/dev", raise_on_deleted_version=True)
        expect(read["data"]["data"] == {"user": "app", "port": "5432"}, f"{read['data']}")
        s.rejects(
            exceptions.InvalidRequest,
            ["check-and-set parameter did not match the current version"],
            lambda: kv.create_or_update_secret(
                "team/db", {"user": "x"}, cas=1, mount_point="kv/dev"
            ),
        )
        meta = kv.read_secret_metadata("team/db", mount_point="kv/dev")
        expect(meta["data"]["current_version"] == 2, f"{meta['data']}")
        expect(sorted(meta["data"]["versions"]) == ["1", "2"], f"{meta['data']}")
        listed = kv.list_secrets("", mount_point="kv/dev")
        expect(listed["data"]["keys"] == ["ip", "team/"], f"{listed['data']}")
        listed = kv.list_secrets("team", mount_point="kv/dev")
        expect(listed["data"]["keys"] == ["db"], f"{listed['data']}")
        s.rejects(
            exceptions.InvalidPath,
            [],
            lambda: kv.read_secret_metadata("missing", mount_point="kv/dev"),
        )
        kv.delete_metadata_and_all_versions("team/db", mount_point="kv/dev")
        s.rejects(exceptions.InvalidPath, [], lambda: kv.list_secrets("team", mount_point="kv/dev"))

    def root_token():
        me = c.auth.token.lookup_self()
        expect(me["data"]["policies"] == ["root"], f"{me['data']['policies']}")
        caps = c.sys.get_capabilities(paths=["auth/dev-kubernetes/config"])
        expect(caps["capabilities"] == ["root"], f"{caps}")
        expect(caps["data"]["auth/dev-kubernetes/config"] == ["root"], f"{caps}")

    def login_token_lifecycle():
        jwt = oidc_token(s.server, AUDIENCE)
        login = c.auth.jwt.jwt_login("dev-handshake", jwt, use_token=False, path="jwt")
        token = login["auth"]["client_token"]
        expect(
            sorted(login["auth"]["policies"]) == ["default", "dev-handshake"], f"{login['auth']}"
        )
        mine = client(s.server, token)
        me = mine.auth.token.lookup_self()
        expect(me["data"]["path"] == "auth/jwt/login", f"{me['data']['path']}")
        expect(me["data"]["ttl"] > 0, "a login token has a TTL")
        paths = ["auth/dev-kubernetes/config", "kv/dev/data/ip", "sys/mounts", "kv/dev/data/other"]
        caps = mine.sys.get_capabilities(paths=paths)
        expect(caps["data"]["auth/dev-kubernetes/config"] == ["read", "update"], f"{caps}")
        expect(caps["data"]["kv/dev/data/ip"] == ["read"], f"{caps}")
        expect(caps["data"]["sys/mounts"] == ["deny"], f"{caps}")
        expect(caps["data"]["kv/dev/data/other"] == ["deny"], f"{caps}")
        expect("capabilities" not in caps["data"], "`capabilities` only for a single path")
        # The deprecated `path` field, sent as Vault's CLI of old did.
        one = s.raw(
            "PUT",
            "sys/capabilities-self",
            token=token,
            json={"path": "auth/token/revoke-self"},
        ).json()
        expect(one["data"]["capabilities"] == ["update"], f"{one}")
        expect(one["capabilities"] == ["update"], "not copied to the top level")
        s.rejects(
            exceptions.InvalidRequest,
            ["paths must be supplied"],
            lambda: mine.adapter.post("/v1/sys/capabilities-self", json={}),
        )
        s.rejects(exceptions.Forbidden, ["permission denied"], lambda: mine.sys.list_mounted_secrets_engines())
        revoked = mine.auth.token.revoke_self()
        expect(revoked.status_code == 204, f"revoke-self answered {revoked.status_code}")
        s.rejects(
            exceptions.Forbidden,
            ["permission denied", "invalid token"],
            lambda: mine.auth.token.lookup_self(),
        )

    def failed_logins():
        fresh = client(s.server, None)
        s.rejects(
            exceptions.InvalidRequest,
            ['role "nope" could not be found'],
            lambda: fresh.auth.jwt.jwt_login("nope", "x.y.z", use_token=False, path="jwt"),
        )
        s.rejects(
            exceptions.InvalidRequest,
            ["error validating token"],
            lambda: fresh.auth.jwt.jwt_login(
                "dev-handshake", oidc_token(s.server, "https://other.example.com"),
                use_token=False, path="jwt",
            ),
        )
        s.rejects(
            exceptions.InvalidRequest,
            ['invalid role name "nope"'],
            lambda: fresh.auth.kubernetes.login(
                "nope", "x.y.z", use_token=False, mount_point="dev-kubernetes"
            ),
        )
        s.rejects(
            exceptions.Forbidden,
            ["service account name not authorized"],
            lambda: fresh.auth.kubernetes.login(
                "external-secrets",
                service_account_jwt("external-secrets", "intruder"),
                use_token=False,
                mount_point="dev-kubernetes",
            ),
        )

    def unknown_paths():
        # Out of scope of the dev server: answered as Vault answers a path no handler serves.
        s.rejects(
            exceptions.InvalidPath,
            ["unsupported path"],
            lambda: s.raw("GET", "sys/mounts/kv/dev/tune"),
        )
        s.rejects(
            exceptions.InvalidPath,
            ["unsupported path"],
            lambda: c.secrets.kv.v2.read_configuration(mount_point="kv/dev"),
        )
        s.rejects(
            exceptions.InvalidPath,
            ["unsupported path"],
            lambda: c.secrets.kv.v2.delete_secret_versions("ip", [1], mount_point="kv/dev"),
        )
        s.rejects(
            exceptions.InvalidPath,
            ["no handler for route \"nowhere/data/x\". route entry not found."],
            lambda: c.secrets.kv.v2.read_secret_version(
                "x", mount_point="nowhere", raise_on_deleted_version=True
            ),
        )

    for name, fn in [
        ("auth methods: enable, list, read one, overlap refused", auth_methods),
        ("secrets engines: enable, list", mounts),
        ("ACL policies (sys/policies/acl): write, read, list, errors", acl_policies),
        ("legacy policies (sys/policy): write, read, list, lower-casing", legacy_policies),
        ("JWT roles: read, write, LIST", jwt_roles),
        ("kubernetes roles: empty LIST, write, read, LIST", kubernetes_roles),
        ("kubernetes config: write, read", kubernetes_config),
        ("KV v2: get, put, patch, check-and-set, metadata, list, delete", kv_v2),
        ("root token: lookup-self, capabilities-self", root_token),
        ("login token: lookup-self, capabilities-self, revoke-self", login_token_lifecycle),
        ("JWT and kubernetes logins that fail", failed_logins),
        ("out-of-scope paths answer as unknown paths", unknown_paths),
    ]:
        s.check(name, fn)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--binary", default=DEFAULT_BINARY)
    parser.add_argument("--spec", default=DEFAULT_SPEC)
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    if os.path.isfile(args.spec):
        spec = Spec(args.spec)
    elif os.environ.get("CI") == "true":
        sys.exit(f"CI=true but Vault's OpenAPI spec `{args.spec}` is missing")
    else:
        print(f"note: `{args.spec}` is missing: answers are checked by hvac only")
        spec = None
    global SPEC
    SPEC = spec
    print(f"hvac {importlib.metadata.version('hvac')} against {args.binary} dev-server")
    server = DevServer(args.binary)
    try:
        suite = Suite(server, args.binary)
        suite.check("README setup through hvac on a bare server", lambda: readme_setup(suite))
        suite.check("the action runs against the README setup", lambda: run_action(suite))
        operator_checks(suite)
    finally:
        server.stop()
    if spec:
        print(f"{spec.checked} successful answers checked against the OpenAPI spec")
    print(f"conformance: {suite.passed} passed, {suite.failed} failed")
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
