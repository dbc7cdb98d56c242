//! The `sys/` backend of the in-memory Vault: mount tables (`sys/auth`, `sys/mounts`), ACL
//! policies on both routes (`sys/policies/acl` and the legacy `sys/policy`), namespaces, and
//! `sys/capabilities-self`.
//!
//! Answers follow docs/vault-behaviour.md §1.3 (legacy routes copy `data` to the top level),
//! §4 and §5, and `vault/logical_system.go` of hashicorp/vault where the facts are silent (named
//! at each use). Anything else under `sys/` is a path the modelled backend does not serve and is
//! answered as Vault answers a path no handler matches (`unsupported_path`). It never decides
//! who may call a path: the ACL ran before any of this.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{
    envelope, errors, mount_info, multierror, no_content, relative_to, written, Backend, Incoming,
    Mount, MountKind, Outgoing, Vault,
};
use crate::devserver::acl;

/// What Vault answers for a path inside a mounted backend that none of its handlers matches:
/// the framework's `unsupported path` error, wrapped by the request path's multierror (§1.4).
pub(super) fn unsupported_path() -> Outgoing {
    multierror(404, &["unsupported path"])
}

/// A 200 whose `data` is also copied to the top level, as `injectDataIntoTopRoutes` does for
/// `sys/auth`, `sys/mounts`, `sys/policy` and `sys/capabilities*` (§1.3).
fn legacy(data: Map<String, Value>) -> Outgoing {
    let mut env = envelope(Value::Object(data.clone()), None, None);
    if let Value::Object(top) = &mut env {
        for (k, v) in data {
            top.insert(k, v);
        }
    }
    Outgoing {
        status: 200,
        body: Some(env),
    }
}

/// A list answer; an empty list is a 404 with no errors (§1.1).
pub(super) fn listing(keys: Vec<String>) -> Outgoing {
    if keys.is_empty() {
        return errors(404, &[]);
    }
    Outgoing {
        status: 200,
        body: Some(envelope(json!({ "keys": keys }), None, None)),
    }
}

impl Vault {
    pub(super) fn sys(&mut self, req: &Incoming, rest: &str, token: &str) -> Outgoing {
        let ns = req.namespace.clone();
        let body = req.body.clone().unwrap_or(Value::Null);
        match (req.method.as_str(), rest) {
            ("GET", "auth") => legacy(self.mount_table(&ns, true)),
            ("GET", "mounts") => legacy(self.mount_table(&ns, false)),
            ("GET", p) if p.starts_with("auth/") && !p.ends_with("/tune") => {
                // One mount's entry (Vault 1.10+); a missing one is an error response (§1.8).
                let path = p["auth/".len()..].trim_matches('/');
                match self.mounts.get(&(ns.clone(), format!("auth/{path}"))) {
                    Some(m) => Outgoing {
                        status: 200,
                        body: Some(legacy_body(mount_info(m, self.profile))),
                    },
                    None => errors(400, &[&format!("No auth engine at {path}/")]),
                }
            }
            ("POST" | "PUT", p) if p.starts_with("auth/") && !p.ends_with("/tune") => {
                let path = p["auth/".len()..].trim_matches('/').to_string();
                let type_name = body
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let (kind, backend) = match type_name.as_str() {
                    "jwt" | "oidc" => (
                        MountKind::Jwt,
                        Backend::Jwt {
                            config: None,
                            roles: BTreeMap::new(),
                        },
                    ),
                    "kubernetes" => (
                        MountKind::Kubernetes,
                        Backend::Kubernetes {
                            config: None,
                            roles: BTreeMap::new(),
                        },
                    ),
                    "" => return errors(400, &["plugin type must be specified"]),
                    other => {
                        return errors(400, &[&format!("plugin not found in the catalog: {other}")])
                    }
                };
                let none = (None, Value::Null);
                self.enable(&ns, format!("auth/{path}"), kind, &type_name, none, backend)
            }
            ("POST" | "PUT", p) if p.starts_with("mounts/") && !p.ends_with("/tune") => {
                let path = p["mounts/".len()..].trim_matches('/').to_string();
                let type_name = body.get("type").and_then(Value::as_str).unwrap_or_default();
                let version = body.pointer("/options/version").and_then(Value::as_str);
                // `handleMount`: the `kv-v2` alias sets `version` 2; a plain `kv` keeps the
                // options it was given (none, for `vault secrets enable kv`), and is v1 without
                // a `version` of 2.
                let (kind, v) = match (type_name, version.unwrap_or("1")) {
                    ("kv-v2", _) | ("kv", "2") => (MountKind::KvV2, 2),
                    ("kv", _) => (MountKind::KvV1, 1),
                    ("", _) => return errors(400, &["plugin type must be specified"]),
                    (other, _) => {
                        return errors(400, &[&format!("plugin not found in the catalog: {other}")])
                    }
                };
                let options = match (type_name, version) {
                    ("kv-v2", _) => json!({"version": "2"}),
                    (_, Some(version)) => json!({ "version": version }),
                    (_, None) => Value::Null,
                };
                let kv = (Some(v), options);
                self.enable(&ns, path, kind, "kv", kv, Backend::Kv(BTreeMap::new()))
            }
            ("POST" | "PUT", p) if p.starts_with("policies/acl/") => {
                self.write_policy(&ns, &p["policies/acl/".len()..], &body, false)
            }
            ("POST" | "PUT", p) if p.starts_with("policy/") => {
                self.write_policy(&ns, &p["policy/".len()..], &body, true)
            }
            ("GET", p) if p.starts_with("policies/acl/") => {
                let name = p["policies/acl/".len()..].to_lowercase();
                match self.policy_text(&ns, &name) {
                    Some(text) => Outgoing {
                        status: 200,
                        body: Some(envelope(json!({"name": name, "policy": text}), None, None)),
                    },
                    None => errors(404, &[]),
                }
            }
            ("GET", p) if p.starts_with("policy/") => {
                // The legacy read names the text `rules`, not `policy` (§5).
                let name = p["policy/".len()..].to_lowercase();
                match self.policy_text(&ns, &name) {
                    Some(text) => {
                        let mut data = Map::new();
                        data.insert("name".into(), json!(name));
                        data.insert("rules".into(), json!(text));
                        legacy(data)
                    }
                    None => errors(404, &[]),
                }
            }
            ("LIST", "policies/acl" | "policies/acl/") => listing(self.policy_names(&ns)),
            ("GET", "policy") | ("LIST", "policy" | "policy/") => {
                // `handlePoliciesList`: the legacy route answers `policies` beside `keys`.
                let names = self.policy_names(&ns);
                let mut data = Map::new();
                data.insert("keys".into(), json!(names));
                data.insert("policies".into(), json!(names));
                legacy(data)
            }
            ("DELETE", p) if p.starts_with("policies/acl/") || p.starts_with("policy/") => {
                let name = p.rsplit_once('/').map_or(p, |(_, n)| n).to_lowercase();
                // `handlePoliciesDelete`: the two built-in policies cannot go; an absent one is
                // not an error.
                match name.as_str() {
                    acl::DEFAULT_POLICY_NAME => errors(400, &["cannot delete default policy"]),
                    acl::ROOT_POLICY_NAME => errors(400, &["cannot delete \"root\" policy"]),
                    _ => {
                        self.policies.remove(&(ns, name));
                        no_content()
                    }
                }
            }
            ("DELETE", p) if p.starts_with("auth/") || p.starts_with("mounts/") => {
                // Disabling removes the mount with everything in it; an absent one is a no-op
                // (`handleDisableAuth`, `handleUnmount`). Tokens it issued are not tracked per
                // mount here, so they stay live until they expire.
                let path = match p.strip_prefix("mounts/") {
                    Some(m) => m.to_string(),
                    None => p.to_string(),
                };
                self.disable_mount(&ns, &path);
                no_content()
            }
            ("POST" | "PUT", "capabilities-self") => self.capabilities_self(req, token, &body),
            ("POST" | "PUT", p) if p.starts_with("namespaces/") => {
                let child = p["namespaces/".len()..].trim_matches('/');
                let full = if ns.is_empty() {
                    child.to_string()
                } else {
                    format!("{ns}/{child}")
                };
                if !self.namespaces.contains(&full) {
                    self.namespaces.push(full.clone());
                    self.add_namespace_defaults(&full);
                }
                Outgoing {
                    status: 200,
                    body: Some(envelope(json!({"path": format!("{full}/")}), None, None)),
                }
            }
            _ => unsupported_path(),
        }
    }

    /// `sys/auth` (auth methods, keyed without `auth/`) or `sys/mounts` (secrets engines): the
    /// request namespace's mounts, keys with a trailing slash (§4.1). The built-in `sys/`,
    /// `cubbyhole/` and `identity/` engines are not modelled, so they are not listed.
    fn mount_table(&self, ns: &str, auth: bool) -> Map<String, Value> {
        let mut data = Map::new();
        for ((n, path), m) in &self.mounts {
            if n != ns {
                continue;
            }
            match (path.strip_prefix("auth/"), auth) {
                (Some(p), true) => {
                    data.insert(format!("{p}/"), mount_info(m, self.profile));
                }
                (None, false) => {
                    data.insert(format!("{path}/"), mount_info(m, self.profile));
                }
                _ => {}
            }
        }
        data
    }

    /// Both write routes: `policy` (or, on the legacy route, the deprecated `rules`) holds the
    /// text; names are lower-cased with a warning when that changed them (§5).
    fn write_policy(&mut self, ns: &str, raw_name: &str, body: &Value, legacy: bool) -> Outgoing {
        let name = raw_name.to_lowercase();
        let mut warnings = Vec::new();
        let mut text = body
            .get("policy")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if legacy && text.is_empty() {
            if let Some(rules) = body.get("rules").and_then(Value::as_str) {
                text = rules;
                warnings.push("'rules' is deprecated, please use 'policy' instead".to_string());
            }
        }
        if name == acl::ROOT_POLICY_NAME {
            return errors(400, &["cannot update \"root\" policy"]);
        }
        match acl::parse_policy(&name, text) {
            Ok(policy) => {
                self.policies.insert((ns.to_string(), name.clone()), policy);
                if name != raw_name {
                    warnings.push(format!("policy name was converted to {name}"));
                }
                written(warnings)
            }
            Err(e) => errors(400, &[&e.to_string()]),
        }
    }

    fn policy_text(&self, ns: &str, name: &str) -> Option<String> {
        self.policies
            .get(&(ns.to_string(), name.to_string()))
            .map(|p| p.text().to_string())
    }

    /// Stored ACL policy names in order, then `root`, which exists without being stored
    /// (`handlePoliciesList` appends it for ACL listings).
    fn policy_names(&self, ns: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .policies
            .keys()
            .filter(|(n, _)| n == ns)
            .map(|(_, name)| name.clone())
            .collect();
        names.push(acl::ROOT_POLICY_NAME.to_string());
        names
    }

    /// `sys/capabilities-self`, as `handleCapabilities` and `Core.Capabilities` in
    /// hashicorp/vault answer it:
    /// - the paths come from `paths` (a list, or a comma-separated string), else from the
    ///   deprecated `path`; none at all is the error response `paths must be supplied`;
    /// - each path gets the calling token's capabilities from its ACL (`ACL.Capabilities`,
    ///   evaluated like a read with the list fallbacks): `["root"]` for a root token, `["deny"]`
    ///   when no rule grants anything or the deciding rule denies, else the granted capabilities
    ///   sorted by name (`Core.Capabilities` sorts them);
    /// - `data` maps each path to its list; with exactly one path, `capabilities` repeats it
    ///   (kept by Vault for older clients). Legacy injection copies `data` to the top level.
    ///
    /// Paths are taken relative to the request's namespace, as the ACL sees them.
    fn capabilities_self(&self, req: &Incoming, token: &str, body: &Value) -> Outgoing {
        let mut paths = string_or_list(body.get("paths"));
        if paths.is_empty() {
            paths = string_or_list(body.get("path"));
        }
        if paths.is_empty() {
            return errors(400, &["paths must be supplied"]);
        }
        let entry = &self.tokens[token];
        let acl = self.acl_of(entry);
        let mut data = Map::new();
        for path in &paths {
            let seen =
                relative_to(&entry.namespace, &req.namespace, path).unwrap_or_else(|| path.clone());
            let mut caps: Vec<&str> = acl.capabilities(&seen).iter().map(|c| c.as_str()).collect();
            caps.sort_unstable();
            data.insert(path.clone(), json!(caps));
        }
        if paths.len() == 1 {
            let only = data[&paths[0]].clone();
            data.insert("capabilities".into(), only);
        }
        legacy(data)
    }
}

/// The envelope of a single-mount read (`sys/auth/<path>`), legacy-injected like the list.
fn legacy_body(info: Value) -> Value {
    let data = match info {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    legacy(data).body.unwrap_or(Value::Null)
}

/// A `[]string` field as Vault's framework reads it: a JSON list, or a comma-separated string.
fn string_or_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

impl Vault {
    pub(super) fn enable(
        &mut self,
        ns: &str,
        path: String,
        kind: MountKind,
        type_name: &str,
        (kv_version, options): (Option<u8>, Value),
        backend: Backend,
    ) -> Outgoing {
        // Overlapping mounts are refused, whichever is the prefix of the other (§4.2).
        if let Some((_, existing)) = self.mounts.keys().find(|(n, m)| {
            n == ns
                && (m == &path
                    || path.starts_with(&format!("{m}/"))
                    || m.starts_with(&format!("{path}/")))
        }) {
            let shown = existing.strip_prefix("auth/").unwrap_or(existing);
            return errors(400, &[&format!("path is already in use at {shown}/")]);
        }
        let prefix = if path.starts_with("auth/") {
            format!("auth_{type_name}")
        } else {
            type_name.to_string()
        };
        let accessor = self.accessor(&prefix);
        self.mounts.insert(
            (ns.to_string(), path),
            Mount {
                kind,
                type_name: type_name.to_string(),
                accessor,
                kv_version,
                options,
                backend,
            },
        );
        no_content()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devserver::vault::Profile;

    fn call(v: &mut Vault, method: &str, path: &str, token: &str, body: Option<Value>) -> Outgoing {
        v.handle(&Incoming {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            namespace: String::new(),
            token: Some(token.into()),
            body,
        })
    }

    fn vault() -> Vault {
        Vault::new(Profile::V1_17, "hvs.root-test".into())
    }

    #[test]
    fn capabilities_self_answers_per_path_from_the_acl() {
        let mut v = vault();
        let policy = "path \"auth/k/config\" { capabilities = [\"update\", \"read\"] }\n\
                      path \"kv/*\" { capabilities = [\"list\"] }\n\
                      path \"kv/secret\" { capabilities = [\"deny\"] }\n";
        let out = call(
            &mut v,
            "PUT",
            "sys/policies/acl/ops",
            "hvs.root-test",
            Some(json!({ "policy": policy })),
        );
        assert_eq!(out.status, 204);
        let token = v.create_token("", &["default", "ops"], 3600);
        let paths = ["auth/k/config", "kv/a", "kv/secret", "sys/mounts"];
        let out = call(
            &mut v,
            "POST",
            "sys/capabilities-self",
            &token,
            Some(json!({ "paths": paths })),
        );
        assert_eq!(out.status, 200);
        let body = out.body.expect("a body");
        assert_eq!(body["data"]["auth/k/config"], json!(["read", "update"]));
        assert_eq!(body["data"]["kv/a"], json!(["list"]));
        assert_eq!(body["data"]["kv/secret"], json!(["deny"]));
        assert_eq!(body["data"]["sys/mounts"], json!(["deny"]));
        assert!(body["data"].get("capabilities").is_none(), "several paths");
        assert_eq!(body["kv/a"], json!(["list"]), "copied to the top level");
    }

    #[test]
    fn capabilities_self_takes_the_deprecated_path_and_root_gets_root() {
        let mut v = vault();
        let out = call(
            &mut v,
            "PUT",
            "sys/capabilities-self",
            "hvs.root-test",
            Some(json!({ "path": "anything/at/all" })),
        );
        let body = out.body.expect("a body");
        assert_eq!(body["data"]["capabilities"], json!(["root"]));
        assert_eq!(body["data"]["anything/at/all"], json!(["root"]));
        let token = v.create_token("", &["default"], 3600);
        let out = call(
            &mut v,
            "POST",
            "sys/capabilities-self",
            &token,
            Some(json!({ "path": "auth/token/lookup-self" })),
        );
        assert_eq!(out.body.expect("a body")["capabilities"], json!(["read"]));
        let out = call(
            &mut v,
            "POST",
            "sys/capabilities-self",
            &token,
            Some(json!({})),
        );
        assert_eq!(out, errors(400, &["paths must be supplied"]));
    }

    #[test]
    fn legacy_policy_routes_name_the_text_rules_and_list_policies() {
        let mut v = vault();
        let root = "hvs.root-test";
        let text = "path \"x\" { capabilities = [\"read\"] }";
        let out = call(
            &mut v,
            "PUT",
            "sys/policy/Ops",
            root,
            Some(json!({ "rules": text })),
        );
        let body = out.body.expect("warnings make a body");
        assert_eq!(
            body["warnings"],
            json!([
                "'rules' is deprecated, please use 'policy' instead",
                "policy name was converted to ops"
            ])
        );
        let read = call(&mut v, "GET", "sys/policy/ops", root, None)
            .body
            .expect("body");
        assert_eq!(read["data"]["rules"], json!(text));
        assert_eq!(read["name"], json!("ops"));
        let list = call(&mut v, "GET", "sys/policy", root, None)
            .body
            .expect("body");
        assert_eq!(list["data"]["policies"], json!(["default", "ops", "root"]));
        assert_eq!(list["keys"], json!(["default", "ops", "root"]));
        let acl = call(&mut v, "LIST", "sys/policies/acl", root, None)
            .body
            .expect("body");
        assert_eq!(acl["data"]["keys"], json!(["default", "ops", "root"]));
        assert!(
            acl.get("keys").is_none(),
            "the new route is not legacy-injected"
        );
        let out = call(
            &mut v,
            "PUT",
            "sys/policy/root",
            root,
            Some(json!({ "policy": text })),
        );
        assert_eq!(out.status, 400);
    }

    #[test]
    fn mount_tables_split_auth_methods_from_secrets_engines() {
        let mut v = vault();
        let root = "hvs.root-test";
        let kv = json!({"type": "kv", "options": {"version": "2"}});
        assert_eq!(
            call(&mut v, "POST", "sys/mounts/kv/dev", root, Some(kv)).status,
            204
        );
        let k8s = json!({"type": "kubernetes"});
        assert_eq!(
            call(&mut v, "POST", "sys/auth/k", root, Some(k8s)).status,
            204
        );
        let mounts = call(&mut v, "GET", "sys/mounts", root, None)
            .body
            .expect("body");
        assert_eq!(mounts["data"]["kv/dev/"]["options"]["version"], json!("2"));
        assert!(mounts["data"].get("k/").is_none());
        let auth = call(&mut v, "GET", "sys/auth", root, None)
            .body
            .expect("body");
        assert_eq!(auth["data"]["k/"]["type"], json!("kubernetes"));
        assert_eq!(auth["token/"]["type"], json!("token"));
        let one = call(&mut v, "GET", "sys/auth/k", root, None)
            .body
            .expect("body");
        assert_eq!(one["data"]["type"], json!("kubernetes"));
        assert_eq!(
            call(&mut v, "GET", "sys/auth/none", root, None),
            errors(400, &["No auth engine at none/"])
        );
    }

    #[test]
    fn the_ui_mount_route_describes_a_mount_to_tokens_with_access_under_it() {
        let mut v = vault();
        let root = "hvs.root-test";
        let v1 = json!({"type": "kv"});
        assert_eq!(
            call(&mut v, "POST", "sys/mounts/kv", root, Some(v1)).status,
            204
        );
        let policy = json!({"policy": "path \"kv/dev/data/ip\" { capabilities = [\"read\"] }"});
        assert_eq!(
            call(&mut v, "PUT", "sys/policies/acl/vip", root, Some(policy)).status,
            204
        );
        let reader = v.create_token("", &["vip"], 3600);
        let stranger = v.create_token("", &["default"], 3600);
        // The longest mount prefix answers, with its path and no `options` for a plain `kv`.
        let seen = call(
            &mut v,
            "GET",
            "sys/internal/ui/mounts/kv/dev",
            &reader,
            None,
        );
        assert_eq!(seen.status, 200, "{seen:?}");
        let data = &seen.body.expect("body")["data"];
        assert_eq!(data["path"], json!("kv/"));
        assert_eq!(data["type"], json!("kv"));
        assert_eq!(data["options"], Value::Null);
        // No access, no token and no mount answer alike.
        let refused = errors(
            403,
            &[
                "preflight capability check returned 403, please ensure client's policies grant \
               access to path \"kv/dev/\"",
            ],
        );
        assert_eq!(
            call(
                &mut v,
                "GET",
                "sys/internal/ui/mounts/kv/dev",
                &stranger,
                None
            ),
            refused
        );
        assert_eq!(
            call(
                &mut v,
                "GET",
                "sys/internal/ui/mounts/kv/dev",
                "hvs.unknown",
                None
            ),
            refused
        );
        assert_eq!(
            call(
                &mut v,
                "GET",
                "sys/internal/ui/mounts/nothing/here",
                root,
                None
            )
            .status,
            403
        );
    }

    #[test]
    fn the_namespace_selector_is_reset_by_every_role_write_from_1_16_and_unknown_before() {
        let selector = r#"{"matchLabels":{"team":"a"}}"#;
        for profile in [Profile::V1_15, Profile::V1_17] {
            let mut v = Vault::new(profile, "hvs.root-test".into());
            let root = "hvs.root-test";
            let k8s = json!({"type": "kubernetes"});
            assert_eq!(
                call(&mut v, "POST", "sys/auth/k", root, Some(k8s)).status,
                204
            );
            let role = "auth/k/role/r";
            let only_selector = json!({"bound_service_account_names": "eso",
                "bound_service_account_namespace_selector": selector, "audience": "vault"});
            let written = call(&mut v, "POST", role, root, Some(only_selector));
            if profile == Profile::V1_15 {
                // 1.15 drops the field it does not know, so the namespaces are missing.
                assert_eq!(
                    written,
                    errors(
                        400,
                        &["\"bound_service_account_namespaces\" can not be empty"]
                    )
                );
                continue;
            }
            assert_eq!(written.status, 204, "{written:?}");
            let add = json!({"bound_service_account_namespaces": "a,,b"});
            assert_eq!(call(&mut v, "POST", role, root, Some(add)).status, 204);
            let read = call(&mut v, "GET", role, root, None).body.expect("body");
            // Left out of the write: reset. Empty items of a comma list are kept, as Vault keeps them.
            assert_eq!(
                read["data"]["bound_service_account_namespace_selector"],
                json!("")
            );
            assert_eq!(
                read["data"]["bound_service_account_namespaces"],
                json!(["a", "", "b"])
            );
        }
    }

    #[test]
    fn reading_one_auth_mount_needs_sudo() {
        let mut v = vault();
        let k8s = json!({"type": "kubernetes"});
        assert_eq!(
            call(&mut v, "POST", "sys/auth/k", "hvs.root-test", Some(k8s)).status,
            204
        );
        for (name, caps) in [("plain", "\"read\""), ("sudo", "\"read\", \"sudo\"")] {
            let policy = format!(
                "path \"sys/auth/*\" {{ capabilities = [{caps}] }}\n\
                 path \"sys/auth\" {{ capabilities = [\"read\"] }}"
            );
            let body = Some(json!({ "policy": policy }));
            let path = format!("sys/policies/acl/{name}");
            assert_eq!(
                call(&mut v, "PUT", &path, "hvs.root-test", body).status,
                204
            );
        }
        let plain = v.create_token("", &["plain"], 3600);
        let sudo = v.create_token("", &["sudo"], 3600);
        assert_eq!(call(&mut v, "GET", "sys/auth/k", &plain, None).status, 403);
        assert_eq!(call(&mut v, "GET", "sys/auth", &plain, None).status, 200);
        assert_eq!(call(&mut v, "GET", "sys/auth/k", &sudo, None).status, 200);
    }

    #[test]
    fn paths_the_sys_backend_does_not_model_answer_unsupported_path() {
        let mut v = vault();
        for (method, path) in [
            ("GET", "sys/mounts/kv/tune"),
            ("GET", "sys/auth/token/tune"),
            ("POST", "sys/auth/k/tune"),
            ("GET", "sys/mounts/kv"),
        ] {
            assert_eq!(
                call(&mut v, method, path, "hvs.root-test", None),
                unsupported_path(),
                "{method} {path}"
            );
        }
    }
}
