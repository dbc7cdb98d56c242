#!/usr/bin/env python3
"""The WASM gate: the offline CLI built for wasm32-wasip1 imports nothing beyond WASI, and with a
pinned clock prints exactly what the native binary prints, for accepted and refused CA inputs and
for plans.

usage: check.py <module.wasm> <native-binary> <fixtures-dir>
Runs both with the fixtures folder as the working directory (WASI: preopened as `.`), so paths in
the output are the same relative paths. Exits non-zero with a readable diff on any difference."""
import difflib
import os
import subprocess
import sys
import tempfile

from wasmtime import Engine, ExitTrap, Linker, Module, Store, Trap, WasiConfig

NOW = "2027-01-01T00:00:00Z"
WASI_MODULES = {"wasi_snapshot_preview1"}


def run_wasm(engine, module, fixtures, args):
    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
        store = Store(engine)
        cfg = WasiConfig()
        cfg.argv = ["vault-k8s-handshake"] + args
        cfg.env = []
        cfg.stdout_file = out_path
        cfg.stderr_file = err_path
        cfg.preopen_dir(fixtures, ".")
        store.set_wasi(cfg)
        linker = Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, module)
        try:
            instance.exports(store)["_start"](store)
            code = 0
        except ExitTrap as e:
            code = e.code
        except Trap as e:
            code = 134
            print(f"wasm trap: {e}", file=sys.stderr)
        with open(out_path, "rb") as f:
            out = f.read()
        with open(err_path, "rb") as f:
            err = f.read()
    return code, out, err


def run_native(binary, fixtures, args):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    p = subprocess.run([binary] + args, cwd=fixtures, env=env, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def expected_fingerprints(fixtures):
    table = {}
    with open(os.path.join(fixtures, "fingerprints.txt")) as f:
        for line in f:
            name, _pos, fp = line.split()
            table.setdefault(name, []).append(fp)
    return table


def diff(label, a, b):
    lines = difflib.unified_diff(
        a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines(),
        "native " + label, "wasm " + label, lineterm="")
    return "\n".join(lines)


def main(wasm, native, fixtures):
    wasm, native, fixtures = (os.path.abspath(p) for p in (wasm, native, fixtures))
    failures = []
    engine = Engine()
    module = Module.from_file(engine, wasm)
    foreign = sorted({f"{imp.module}.{imp.name}" for imp in module.imports
                      if imp.module not in WASI_MODULES})
    if foreign:
        failures.append("the module imports beyond WASI: " + ", ".join(foreign))

    fingerprints = expected_fingerprints(fixtures)
    # (args, expected exit code, fingerprints that must appear on stdout)
    cases = [
        (["inspect-ca", "rke2-server-ca.crt"], 0, fingerprints["rke2-server-ca.crt"]),
        (["inspect-ca", "--json", "rke2-server-ca.crt"], 0, fingerprints["rke2-server-ca.crt"]),
        (["inspect-ca", "--json", "rotation-bundle.crt"], 0, fingerprints["rotation-bundle.crt"]),
        (["inspect-ca", "custom-server-ca-chain.crt"], 0, fingerprints["custom-server-ca-chain.crt"]),
        (["inspect-ca", "--json", "kubeadm-ca.crt"], 0, fingerprints["kubeadm-ca.crt"]),
        (["inspect-ca", "--json", "serving-kube-apiserver.crt"], 0,
         fingerprints["serving-kube-apiserver.crt"][1:]),
        (["inspect-ca", "rke2.yaml"], 0, fingerprints["rke2-server-ca.crt"]),
        (["inspect-ca", "ca-with-key.pem"], 2, []),
        (["inspect-ca", "short-lived-ca.crt"], 2, []),
        (["inspect-ca", "no-such-file.crt"], 2, []),
        (["plan", "--current", "vault-config-dev.json", "--environment", "dev",
          "--kubernetes-host", "https://10.69.1.110:6443", "--ca-file", "rotation-bundle.crt"], 0,
         [sorted(fingerprints["rotation-bundle.crt"])[0][:16]]),
        (["plan", "--format", "json", "--current", "vault-config-dev.json", "--environment", "dev",
          "--kubernetes-host", "https://10.69.1.110:6443", "--ca-file", "rke2.yaml"], 0, []),
        (["plan", "--current", "vault-config-dev.json", "--environment", "dev",
          "--kubernetes-host", "https://127.0.0.1:6443", "--ca-file", "rke2.yaml"], 2, []),
    ]
    for args, want_code, want_fps in cases:
        args = ["--now", NOW] + args
        label = " ".join(args)
        w_code, w_out, w_err = run_wasm(engine, module, fixtures, args)
        n_code, n_out, n_err = run_native(native, fixtures, args)
        if w_code != want_code:
            failures.append(f"{label}: wasm exit {w_code}, expected {want_code}\n{w_err.decode(errors='replace')}")
        if n_code != w_code:
            failures.append(f"{label}: native exit {n_code}, wasm exit {w_code}")
        for fp in want_fps:
            if fp.encode() not in w_out:
                failures.append(f"{label}: fingerprint {fp} missing from wasm output")
        if w_out != n_out:
            failures.append(f"{label}: stdout differs\n{diff('stdout', n_out, w_out)}")
        if w_err != n_err:
            failures.append(f"{label}: stderr differs\n{diff('stderr', n_err, w_err)}")
        if want_code != 0 and not w_err.startswith(b"error: "):
            failures.append(f"{label}: a refusal must print one `error:` line first")
        if b"panicked" in w_err or b"panicked" in n_err:
            failures.append(f"{label}: panicked")
    for failure in failures:
        print("FAIL " + failure, file=sys.stderr)
    failed_cases = len({f.split(": ")[0] for f in failures})
    print(f"wasm: {len(cases) + 1 - failed_cases} passed, {failed_cases} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
