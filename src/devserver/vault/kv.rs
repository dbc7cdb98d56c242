//! KV secrets engines of the in-memory Vault: v1 (one value per key) and v2 (versioned data,
//! metadata, listing, check-and-set).
//!
//! Answers follow docs/vault-behaviour.md §6 and `path_data.go` / `path_metadata.go` of
//! hashicorp/vault-plugin-secrets-kv. Not modelled, and answered as a path the backend does not
//! serve (`unsupported path`): metadata writes (`max_versions`, `cas_required`,
//! `custom_metadata`), `delete`/`undelete`/`destroy`, `config`, `subkeys` and the HTTP `PATCH`
//! verb (the OpenAPI table has no PATCH operation, so the contract check refuses it first).
//! Never reads the clock: the caller passes `now`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::sys::{listing, unsupported_path};
use super::{envelope, errors, multierror, no_content, rfc3339, KvVersion, Outgoing};

pub(super) fn kv2(
    secrets: &mut BTreeMap<String, Vec<KvVersion>>,
    method: &str,
    rest: &str,
    body: &Value,
    now: i64,
) -> Outgoing {
    if let Some(key) = rest
        .strip_prefix("metadata")
        .map(|k| k.trim_start_matches('/'))
    {
        return metadata(secrets, method, key);
    }
    // Real routes of the engine this model leaves out: answered as a path no handler serves.
    let first = rest.split('/').next().unwrap_or_default();
    if matches!(
        first,
        "config" | "delete" | "undelete" | "destroy" | "subkeys"
    ) {
        return unsupported_path();
    }
    let Some(key) = rest.strip_prefix("data/").filter(|k| !k.is_empty()) else {
        let word = match method {
            "GET" => "read",
            "LIST" => "list",
            "DELETE" => "delete",
            _ => "write",
        };
        let warning = if rest == "data" || rest == "data/" {
            "Non-listing operations on the root of a K/V v2 mount are not supported.".to_string()
        } else {
            format!("Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv {}' for this operation.", if word == "read" { "get" } else { word })
        };
        return Outgoing {
            status: 404,
            body: Some(envelope(Value::Null, None, Some(vec![warning]))),
        };
    };
    match method {
        "GET" => {
            let Some(versions) = secrets.get(key) else {
                return errors(404, &[]);
            };
            let Some(latest) = versions.last() else {
                return errors(404, &[]);
            };
            let metadata = json!({
                "created_time": latest.created,
                "custom_metadata": null,
                "deletion_time": latest.deleted,
                "destroyed": latest.destroyed,
                "version": versions.len(),
            });
            if latest.data.is_none() {
                // Deleted or destroyed: 404 with a normal envelope and no `errors` (§6).
                let mut env = envelope(json!({"data": null, "metadata": metadata}), None, None);
                env["mount_type"] = json!("kv");
                return Outgoing {
                    status: 404,
                    body: Some(env),
                };
            }
            let mut env = envelope(
                json!({"data": latest.data, "metadata": metadata}),
                None,
                None,
            );
            env["mount_type"] = json!("kv");
            Outgoing {
                status: 200,
                body: Some(env),
            }
        }
        "POST" | "PUT" => {
            let Some(data) = body.get("data").filter(|d| d.is_object()) else {
                return errors(400, &["no data provided"]);
            };
            // Check-and-set (`options.cas`, §6): the write names the version it read, 0 for
            // "must not exist yet"; hvac's `patch` is a read followed by such a write.
            if let Some(cas) = body.pointer("/options/cas") {
                let current = secrets.get(key).map_or(0, Vec::len);
                if cas.as_u64() != Some(current as u64) {
                    return errors(
                        400,
                        &["check-and-set parameter did not match the current version"],
                    );
                }
            }
            let versions = secrets.entry(key.to_string()).or_default();
            versions.push(KvVersion {
                data: Some(data.clone()),
                created: rfc3339(now),
                deleted: String::new(),
                destroyed: false,
            });
            let metadata = json!({"created_time": rfc3339(now), "custom_metadata": null, "deletion_time": "", "destroyed": false, "version": versions.len()});
            Outgoing {
                status: 200,
                body: Some(envelope(metadata, None, None)),
            }
        }
        "DELETE" => {
            if let Some(latest) = secrets.get_mut(key).and_then(|v| v.last_mut()) {
                latest.data = None;
                latest.deleted = rfc3339(now);
            }
            no_content()
        }
        _ => multierror(405, &["unsupported operation"]),
    }
}

pub(super) fn kv1(
    secrets: &mut BTreeMap<String, Vec<KvVersion>>,
    method: &str,
    rest: &str,
    body: &Value,
) -> Outgoing {
    match method {
        "GET" => match secrets
            .get(rest)
            .and_then(|v| v.last())
            .and_then(|v| v.data.clone())
        {
            Some(data) => Outgoing {
                status: 200,
                body: Some(envelope(data, None, None)),
            },
            None => errors(404, &[]),
        },
        "POST" | "PUT" => {
            secrets.insert(
                rest.to_string(),
                vec![KvVersion {
                    data: Some(body.clone()),
                    created: String::new(),
                    deleted: String::new(),
                    destroyed: false,
                }],
            );
            no_content()
        }
        _ => multierror(405, &["unsupported operation"]),
    }
}

/// `metadata/<key>`: read one secret's version history, list keys below a prefix, or delete
/// every version (`path_metadata.go`).
fn metadata(secrets: &mut BTreeMap<String, Vec<KvVersion>>, method: &str, key: &str) -> Outgoing {
    match method {
        "LIST" => {
            // Direct children only; deeper keys show as their first segment with a `/`.
            let prefix = if key.is_empty() || key.ends_with('/') {
                key.to_string()
            } else {
                format!("{key}/")
            };
            let keys: BTreeSet<String> = secrets
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .map(|below| match below.split_once('/') {
                    Some((dir, _)) => format!("{dir}/"),
                    None => below.to_string(),
                })
                .collect();
            listing(keys.into_iter().collect())
        }
        "GET" if !key.is_empty() => {
            let Some(versions) = secrets.get(key).filter(|v| !v.is_empty()) else {
                return errors(404, &[]);
            };
            let mut by_number = Map::new();
            for (i, v) in versions.iter().enumerate() {
                by_number.insert(
                    (i + 1).to_string(),
                    json!({
                        "created_time": v.created,
                        "deletion_time": v.deleted,
                        "destroyed": v.destroyed,
                    }),
                );
            }
            let first = versions.first().map(|v| v.created.clone());
            let last = versions.last().map(|v| v.created.clone());
            Outgoing {
                status: 200,
                body: Some(envelope(
                    json!({
                        "cas_required": false,
                        "created_time": first,
                        "current_version": versions.len(),
                        "custom_metadata": null,
                        "delete_version_after": "0s",
                        "max_versions": 0,
                        "oldest_version": 0,
                        "updated_time": last,
                        "versions": by_number,
                    }),
                    None,
                    None,
                )),
            }
        }
        "DELETE" if !key.is_empty() => {
            secrets.remove(key);
            no_content()
        }
        _ => unsupported_path(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(s: &mut BTreeMap<String, Vec<KvVersion>>, key: &str, body: Value) -> Outgoing {
        kv2(s, "POST", &format!("data/{key}"), &body, 1_700_000_000)
    }

    #[test]
    fn check_and_set_names_the_version_read() {
        let mut s = BTreeMap::new();
        assert_eq!(
            put(
                &mut s,
                "a",
                json!({"data": {"k": "1"}, "options": {"cas": 0}})
            )
            .status,
            200
        );
        let stale = put(
            &mut s,
            "a",
            json!({"data": {"k": "2"}, "options": {"cas": 0}}),
        );
        assert_eq!(
            stale,
            errors(
                400,
                &["check-and-set parameter did not match the current version"]
            )
        );
        assert_eq!(
            put(
                &mut s,
                "a",
                json!({"data": {"k": "2"}, "options": {"cas": 1}})
            )
            .status,
            200
        );
    }

    #[test]
    fn metadata_reads_lists_and_deletes() {
        let mut s = BTreeMap::new();
        put(&mut s, "ip", json!({"data": {"vip": "x"}}));
        put(&mut s, "team/db", json!({"data": {"u": "a"}}));
        put(&mut s, "team/db", json!({"data": {"u": "b"}}));
        let meta = kv2(&mut s, "GET", "metadata/team/db", &Value::Null, 0)
            .body
            .expect("body");
        assert_eq!(meta["data"]["current_version"], json!(2));
        assert_eq!(meta["data"]["versions"]["2"]["destroyed"], json!(false));
        let root = kv2(&mut s, "LIST", "metadata/", &Value::Null, 0)
            .body
            .expect("body");
        assert_eq!(root["data"]["keys"], json!(["ip", "team/"]));
        let team = kv2(&mut s, "LIST", "metadata/team", &Value::Null, 0)
            .body
            .expect("body");
        assert_eq!(team["data"]["keys"], json!(["db"]));
        assert_eq!(
            kv2(&mut s, "DELETE", "metadata/team/db", &Value::Null, 0).status,
            204
        );
        assert_eq!(
            kv2(&mut s, "LIST", "metadata/team", &Value::Null, 0),
            errors(404, &[])
        );
        assert_eq!(
            kv2(
                &mut s,
                "POST",
                "metadata/ip",
                &json!({"max_versions": 3}),
                0
            ),
            unsupported_path()
        );
        for path in [
            "config",
            "delete/ip",
            "undelete/ip",
            "destroy/ip",
            "subkeys/ip",
        ] {
            assert_eq!(
                kv2(&mut s, "GET", path, &Value::Null, 0),
                unsupported_path(),
                "{path}"
            );
        }
    }
}
