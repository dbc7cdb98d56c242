//! The action behind an HTTP `CONNECT` proxy, as on a self-hosted runner in a corporate network:
//! `HTTPS_PROXY` (or `https_proxy`) with a user and password, and `NO_PROXY` (or `no_proxy`).
//!
//! Vault is the dev server over https, named `vault.test`: a name that resolves nowhere, which
//! only the test's proxy (tests/common/proxy.rs) maps to the server's loopback port. So a run
//! that succeeds went through the proxy, and the proxy's log shows each `CONNECT` and whether it
//! carried the right `Proxy-Authorization`. Every byte goes to 127.0.0.1.
//!
//! When `NO_PROXY` covers `vault.test`, the client resolves the name itself. That lookup would
//! leave the machine (the resolver's server), so those runs happen in a network namespace of
//! their own (`unshare --user --map-root-user --net`, no privilege needed where unprivileged user
//! namespaces are allowed): no interface but a down loopback, so the lookup fails on the spot
//! and nothing is sent anywhere. Where such namespaces are refused, those tests skip with a note.
//!
//! The proxy's password never reaches any output: the harness scans stdout, stderr, outputs,
//! summary and report for it as written, percent-decoded, with its user, and as base64.

mod common;

use std::collections::BTreeMap;

use common::proxy::{Behaviour, ConnectProxy};
use common::*;
use vault_k8s_handshake::devserver::github::{GithubOptions, GithubServer, GithubTls, Permissions};
use vault_k8s_handshake::devserver::kube::San;
use vault_k8s_handshake::devserver::seed::Seed;
use vault_k8s_handshake::devserver::{DevTls, ServerOptions};

/// The proxy's user and password, as the runner's variable holds them: `+` and `@`
/// percent-encoded, as they must be in a URL.
const PROXY_USERINFO: &str = "runner-7:Pr0xy%2BS3cr3t%40x";
const PROXY_CREDENTIALS: &str = "runner-7:Pr0xy+S3cr3t@x";

struct Setup {
    h: Harness,
    proxy: ConnectProxy,
    /// `https://vault.test:<port>`
    vault_addr: String,
    /// `vault.test:<port>`, the `CONNECT` target.
    target: String,
    /// `http://user:password@127.0.0.1:<port>`
    proxy_url: String,
}

fn setup() -> Setup {
    let h = harness_with(
        Seed::new("dev", VIP),
        ServerOptions {
            tls: Some(DevTls {
                sans: vec![San::Dns("vault.test".into())],
            }),
            ..ServerOptions::default()
        },
    );
    let port = h.server.addr().port();
    let target = format!("vault.test:{port}");
    let routes = BTreeMap::from([(target.clone(), h.server.addr())]);
    let proxy = ConnectProxy::start(PROXY_CREDENTIALS, routes, Behaviour::Tunnel);
    let proxy_url = format!("http://{PROXY_USERINFO}@{}", proxy.addr());
    Setup {
        vault_addr: format!("https://{target}"),
        target,
        proxy_url,
        proxy,
        h,
    }
}

impl Setup {
    fn run(&self, env: &[(&str, &str)]) -> Outcome {
        self.run_wrapped(&[], env)
    }

    fn run_wrapped(&self, wrapper: &[&str], env: &[(&str, &str)]) -> Outcome {
        let ca = self.h.server.ca_pem().unwrap().to_string();
        self.h.run_wrapped(
            wrapper,
            &[("vault-addr", &self.vault_addr), ("vault-ca-cert", &ca)],
            env,
            |_| {},
        )
    }
}

#[test]
fn vault_is_reached_through_the_proxy_with_its_credentials() {
    // (proxy variable, no-proxy variable and value): the upper- and lower-case spellings the
    // runner and reqwest read, and `NO_PROXY` lists that do not cover Vault's host.
    let rows: [(&str, Option<(&str, &str)>); 4] = [
        ("HTTPS_PROXY", None),
        ("https_proxy", None),
        (
            "HTTPS_PROXY",
            Some(("NO_PROXY", "example.internal,.corp.test,10.0.0.0/8")),
        ),
        (
            "https_proxy",
            Some(("no_proxy", "localhost,127.0.0.1,vault.test.example")),
        ),
    ];
    // What the harness scans every output for: the forms the proxy's password could leak in.
    let forms = proxy_credentials(&format!("http://{PROXY_USERINFO}@127.0.0.1:1"));
    for form in [
        PROXY_USERINFO,
        PROXY_CREDENTIALS,
        "Pr0xy%2BS3cr3t%40x",
        "Pr0xy+S3cr3t@x",
        "cnVubmVyLTc6UHIweHkrUzNjcjN0QHg=",
    ] {
        assert!(forms.iter().any(|f| f == form), "{form} is not scanned for");
    }
    for (proxy_var, no_proxy) in rows {
        let s = setup();
        let mut env = vec![(proxy_var, s.proxy_url.as_str())];
        env.extend(no_proxy);
        let o = s.run(&env);
        assert_ok(&o, "changed");
        assert!(o.wrote_config("dev-kubernetes"));
        let connects = s.proxy.connects();
        assert!(
            !connects.is_empty(),
            "{env:?}: Vault was not reached through the proxy"
        );
        for c in &connects {
            assert_eq!(c.target, s.target, "{env:?}");
            assert!(c.authorized, "{env:?}: the proxy saw wrong credentials");
        }
        // The dev server saw the whole run, so every call to Vault went through a tunnel:
        // `vault.test` resolves nowhere else.
        assert!(o.requests.iter().any(|r| r.path.contains("login")));
        // The OIDC token service is on loopback here, which never goes through a proxy.
        assert!(connects.iter().all(|c| c.target.starts_with("vault.test:")));
    }
}

#[test]
fn the_oidc_token_request_goes_through_the_proxy_too() {
    // The dev server answers the OIDC token request on its https listener as well; named
    // `token.test`, it too is reachable only through the proxy. The OIDC client trusts the
    // public roots and `extra-ca-certs` (not `vault-ca-cert`, which is Vault's alone).
    let mut h = harness_with(
        Seed::new("dev", VIP),
        ServerOptions {
            tls: Some(DevTls {
                sans: vec![San::Dns("vault.test".into()), San::Dns("token.test".into())],
            }),
            ..ServerOptions::default()
        },
    );
    let port = h.server.addr().port();
    h.oidc_origin = Some(format!("https://token.test:{port}"));
    let routes = BTreeMap::from([
        (format!("vault.test:{port}"), h.server.addr()),
        (format!("token.test:{port}"), h.server.addr()),
    ]);
    let proxy = ConnectProxy::start(PROXY_CREDENTIALS, routes, Behaviour::Tunnel);
    let proxy_url = format!("http://{PROXY_USERINFO}@{}", proxy.addr());
    let ca = h.server.ca_pem().unwrap().to_string();
    let vault_addr = format!("https://vault.test:{port}");
    let o = h.run(
        &[("vault-addr", &vault_addr), ("extra-ca-certs", &ca)],
        &[("https_proxy", &proxy_url)],
    );
    assert_ok(&o, "changed");
    let targets: Vec<String> = proxy.connects().into_iter().map(|c| c.target).collect();
    assert!(
        targets.contains(&format!("token.test:{port}")),
        "the OIDC request did not go through the proxy: {targets:?}"
    );
    assert!(
        targets.contains(&format!("vault.test:{port}")),
        "{targets:?}"
    );
    assert!(proxy.connects().iter().all(|c| c.authorized));
}

#[test]
fn github_calls_and_the_artifact_download_go_through_the_proxy() {
    // GitHub's API and its blob storage over https, named `api.github.test` and
    // `blob.github.test`: reachable only through the proxy. The run takes its CA from an
    // artifact (the API lists it, the blob origin serves it) and posts a check run. Vault is
    // plain http on loopback here, which never goes through a proxy.
    let h = harness();
    let token = "ghs_PROXIEDgithubTOKEN0123456789abcdef";
    let gh = GithubServer::start(GithubOptions {
        owner: "acme".into(),
        repo: "gitops".into(),
        run_id: 4242,
        tokens: vec![(token.into(), Permissions::ALL)],
        tls: Some(GithubTls {
            api_host: "api.github.test".into(),
            blob_host: "blob.github.test".into(),
        }),
    })
    .unwrap();
    gh.add_artifact(
        "k8s-ca",
        zip(&[("k8s-ca.crt", h.ca_pem.as_bytes())]),
        "application/zip",
        false,
    );
    let api_target = format!("api.github.test:{}", gh.api_addr().port());
    let blob_target = format!("blob.github.test:{}", gh.blob_addr().port());
    let routes = BTreeMap::from([
        (api_target.clone(), gh.api_addr()),
        (blob_target.clone(), gh.blob_addr()),
    ]);
    let proxy = ConnectProxy::start(PROXY_CREDENTIALS, routes, Behaviour::Tunnel);
    let proxy_url = format!("http://{PROXY_USERINFO}@{}", proxy.addr());
    let github_ca = gh.ca_pem().unwrap().to_string();
    let api_url = gh.api_url();
    let o = h.run(
        &[
            ("github-token", token),
            ("post", "step-summary,check-run"),
            ("ca-file", ""),
            ("ca-artifact", "k8s-ca"),
            ("extra-ca-certs", &github_ca),
        ],
        &[
            ("GITHUB_API_URL", &api_url),
            ("GITHUB_RUN_ID", "4242"),
            ("HTTPS_PROXY", &proxy_url),
        ],
    );
    assert_ok(&o, "changed");
    assert_eq!(gh.check_runs().len(), 1, "{}", o.stdout);
    assert!(o.summary.contains("check run posted"), "{}", o.summary);
    let targets: Vec<String> = proxy.connects().into_iter().map(|c| c.target).collect();
    assert!(targets.contains(&api_target), "{targets:?}");
    assert!(targets.contains(&blob_target), "{targets:?}");
    assert!(proxy.connects().iter().all(|c| c.authorized));
    let requests = gh.requests();
    assert!(requests.iter().any(|r| r.origin == "blob"));
    assert!(requests.iter().all(|r| r.contract.is_ok()), "{requests:?}");
}

#[test]
fn the_probe_says_it_does_not_use_the_proxy_when_it_cannot_connect() {
    let s = setup();
    // Nothing listens on the VIP's port in this harness: the probe, which connects directly,
    // cannot connect, and `probe: auto` makes that a warning.
    let o = s.run(&[("HTTPS_PROXY", &s.proxy_url)]);
    assert_ok(&o, "changed");
    let note = format!(
        "the probe connects directly: it does not use the proxy `{}` set in `HTTPS_PROXY`",
        s.proxy.addr()
    );
    assert!(o.stdout.contains(&note), "{}", o.stdout);
    assert!(
        o.stdout.contains("does not go through `HTTPS_PROXY`"),
        "{}",
        o.stdout
    );
}

/// `unshare` when it can give a process a network namespace of its own here, or `None` (with a
/// note) where the kernel or a policy refuses unprivileged user namespaces.
fn isolated() -> Option<Vec<&'static str>> {
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let wrapper = vec![unshare, "--user", "--map-root-user", "--net"];
    let works = std::process::Command::new(wrapper[0])
        .args(&wrapper[1..])
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        eprintln!(
            "skipped: `unshare --user --net` is refused here, so NO_PROXY runs cannot be isolated"
        );
        return None;
    }
    Some(wrapper)
}

#[test]
fn no_proxy_covering_vault_makes_the_client_go_direct() {
    let Some(wrapper) = isolated() else { return };
    let rows: [(&str, &str, &str); 4] = [
        ("HTTPS_PROXY", "NO_PROXY", "vault.test"),
        ("https_proxy", "no_proxy", ".test"),
        ("HTTPS_PROXY", "NO_PROXY", "other.internal, vault.test"),
        ("HTTPS_PROXY", "NO_PROXY", "*"),
    ];
    for (proxy_var, no_proxy_var, no_proxy) in rows {
        let s = setup();
        let o = s.run_wrapped(
            &wrapper,
            &[(proxy_var, &s.proxy_url), (no_proxy_var, no_proxy)],
        );
        assert_ne!(o.code, 0, "{}", o.stdout);
        let message = o.output("error-message");
        // Direct: the client resolved `vault.test` itself, which nothing can do here.
        assert!(
            message.contains("the host of `vault-addr` does not resolve on this runner"),
            "{no_proxy_var}={no_proxy}: {message}"
        );
        assert!(
            s.proxy.connects().is_empty(),
            "{no_proxy_var}={no_proxy}: the proxy was used"
        );
        assert!(o.requests.is_empty());
    }
}

#[test]
fn without_no_proxy_the_same_isolated_run_tries_the_proxy() {
    // The control for the test above: in the same namespace, the proxy (outside it) cannot be
    // reached, and the failure names it, without its credentials.
    let Some(wrapper) = isolated() else { return };
    let s = setup();
    let o = s.run_wrapped(&wrapper, &[("HTTPS_PROXY", &s.proxy_url)]);
    assert_ne!(o.code, 0, "{}", o.stdout);
    let message = o.output("error-message");
    assert!(
        message.contains(&format!(
            "the proxy `{}` set in `HTTPS_PROXY` cannot be reached",
            s.proxy.addr()
        )),
        "{message}"
    );
}
