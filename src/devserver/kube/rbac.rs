//! The kube-apiserver stand-in's RBAC: ClusterRoleBindings as objects of
//! `rbac.authorization.k8s.io/v1`, the few ClusterRoles the handshake meets, and the
//! authorization decision with kube-apiserver's wording of a denial.
//!
//! Owns the bindings and the decision, nothing else: no HTTP, no tokens. Shapes and texts were
//! copied from these sources (looked up, not guessed):
//! - the ClusterRoleBinding object: k8s.io/api `rbac/v1/types.go` (`subjects`, then `roleRef`;
//!   `Subject.apiGroup` omitted when empty, as for a ServiceAccount) and the object `kubectl
//!   create clusterrolebinding NAME --clusterrole=R --serviceaccount=NS:SA` sends;
//! - the default roles: kubernetes `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`
//!   (`cluster-admin`: every verb on every resource and non-resource URL;
//!   `system:auth-delegator`: `create` on `tokenreviews` in `authentication.k8s.io` and on
//!   `subjectaccessreviews` in `authorization.k8s.io`; `system:public-info-viewer`: `get` on
//!   `/healthz`, `/livez`, `/readyz`, `/version`, `/version/`, bound to `system:authenticated`
//!   and `system:unauthenticated`);
//! - the denial: apiserver `endpoints/handlers/responsewriters/errors.go` `forbiddenMessage`
//!   wrapped by apimachinery `NewForbidden` (`<resource>.<group> "<name>" is forbidden: …`).
//!
//! Not modelled: Roles and RoleBindings, aggregated ClusterRoles, the escalation check (a
//! caller that may create bindings may bind any role, as `cluster-admin` may), group subjects
//! other than the two built-in ones, `update`/`patch`/`delete` of bindings, watches, label
//! selectors and `managedFields`.

use std::collections::BTreeMap;

use serde::Serialize;

/// The API group of RBAC objects.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// A ServiceAccount subject, `<namespace>/<name>`.
pub type Account = (String, String);

/// One ClusterRoleBinding, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRoleBinding {
    pub name: String,
    pub uid: String,
    pub resource_version: u64,
    pub created: String,
    pub role: String,
    pub subjects: Vec<Subject>,
}

/// A binding's subject: `kind` is `ServiceAccount` (with a namespace), `User` or `Group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub kind: String,
    #[serde(rename = "apiGroup", skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl Subject {
    pub fn service_account(namespace: &str, name: &str) -> Subject {
        Subject {
            kind: "ServiceAccount".into(),
            api_group: String::new(),
            name: name.into(),
            namespace: namespace.into(),
        }
    }

    fn matches(&self, account: &Account) -> bool {
        self.kind == "ServiceAccount" && self.namespace == account.0 && self.name == account.1
    }
}

/// What a request asks to do, as kube-apiserver's request-info resolver names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attributes<'a> {
    Resource {
        verb: &'static str,
        group: &'static str,
        /// `resource` or `resource/subresource`.
        resource: &'static str,
        namespace: &'a str,
        name: &'a str,
    },
    NonResource {
        verb: &'static str,
        path: &'a str,
    },
}

/// The rules of the ClusterRoles modelled here; any other role name grants nothing.
fn role_allows(role: &str, request: &Attributes<'_>) -> bool {
    match (role, request) {
        ("cluster-admin", _) => true,
        (
            "system:auth-delegator",
            Attributes::Resource {
                verb: "create",
                group,
                resource,
                ..
            },
        ) => {
            (*group, *resource) == ("authentication.k8s.io", "tokenreviews")
                || (*group, *resource) == ("authorization.k8s.io", "subjectaccessreviews")
        }
        _ => false,
    }
}

/// The bindings of one cluster, keyed by name (a list answers in name order, as etcd does).
#[derive(Default)]
pub struct Rbac {
    bindings: BTreeMap<String, ClusterRoleBinding>,
    next_version: u64,
}

impl Rbac {
    /// Stores a new binding; `Err` with the existing one's name when the name is taken.
    pub fn create(&mut self, mut binding: ClusterRoleBinding) -> Result<ClusterRoleBinding, ()> {
        if self.bindings.contains_key(&binding.name) {
            return Err(());
        }
        self.next_version += 1;
        binding.resource_version = self.next_version;
        self.bindings.insert(binding.name.clone(), binding.clone());
        Ok(binding)
    }

    pub fn get(&self, name: &str) -> Option<&ClusterRoleBinding> {
        self.bindings.get(name)
    }

    pub fn list(&self) -> impl Iterator<Item = &ClusterRoleBinding> {
        self.bindings.values()
    }

    pub fn resource_version(&self) -> u64 {
        self.next_version
    }

    /// Removes the account from every binding of `role`, dropping bindings left empty.
    pub fn unbind(&mut self, role: &str, account: &Account) {
        for binding in self.bindings.values_mut().filter(|b| b.role == role) {
            binding.subjects.retain(|s| !s.matches(account));
        }
        self.bindings
            .retain(|_, b| b.role != role || !b.subjects.is_empty());
    }

    /// RBAC's decision for a ServiceAccount: allowed when a binding names it and its role's
    /// rules cover the request. Every authenticated user may read `/version` (the
    /// `system:public-info-viewer` binding of `system:authenticated`).
    pub fn allows(&self, account: &Account, request: &Attributes<'_>) -> bool {
        if let Attributes::NonResource { verb: "get", path } = request {
            if ["/healthz", "/livez", "/readyz", "/version", "/version/"].contains(path) {
                return true;
            }
        }
        self.bindings
            .values()
            .any(|b| b.subjects.iter().any(|s| s.matches(account)) && role_allows(&b.role, request))
    }
}

/// apiserver `forbiddenMessage`: what the user may not do, and where.
pub fn forbidden_message(username: &str, request: &Attributes<'_>) -> String {
    match request {
        Attributes::NonResource { verb, path } => {
            format!("User \"{username}\" cannot {verb} path \"{path}\"")
        }
        Attributes::Resource {
            verb,
            group,
            resource,
            namespace,
            ..
        } if !namespace.is_empty() => format!(
            "User \"{username}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" in \
             the namespace \"{namespace}\""
        ),
        Attributes::Resource {
            verb,
            group,
            resource,
            ..
        } => format!(
            "User \"{username}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" at \
             the cluster scope"
        ),
    }
}

/// The object as the API returns it, fields in Go's declaration order.
pub fn binding_json(binding: &ClusterRoleBinding) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("kind".into(), "ClusterRoleBinding".into());
    object.insert("apiVersion".into(), format!("{RBAC_GROUP}/v1").into());
    object.insert("metadata".into(), item_metadata(binding));
    if !binding.subjects.is_empty() {
        object.insert(
            "subjects".into(),
            serde_json::to_value(&binding.subjects).unwrap_or_default(),
        );
    }
    object.insert(
        "roleRef".into(),
        serde_json::json!({"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": binding.role}),
    );
    serde_json::Value::Object(object)
}

fn item_metadata(binding: &ClusterRoleBinding) -> serde_json::Value {
    // serde_json sorts keys (no `preserve_order`): ObjectMeta's order is lost, which no client
    // depends on; `managedFields` is left out.
    serde_json::json!({
        "name": binding.name,
        "uid": binding.uid,
        "resourceVersion": binding.resource_version.to_string(),
        "creationTimestamp": binding.created,
    })
}

/// `ClusterRoleBindingList`.
pub fn list_json(rbac: &Rbac) -> serde_json::Value {
    let items: Vec<serde_json::Value> = rbac.list().map(binding_json).collect();
    serde_json::json!({
        "kind": "ClusterRoleBindingList",
        "apiVersion": format!("{RBAC_GROUP}/v1"),
        "metadata": {"resourceVersion": rbac.resource_version().to_string()},
        "items": items,
    })
}

/// A field error of a rejected object: apimachinery `field.Error` as a `StatusCause`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// `FieldValueRequired`, `FieldValueInvalid` or `FieldValueNotSupported`.
    pub reason: &'static str,
    pub field: String,
    /// The message after `<field>: ` (e.g. `Required value`).
    pub message: String,
}

/// Decodes and validates the body of `POST …/clusterrolebindings` (JSON only: the stand-in does
/// not speak protobuf, which real servers also accept).
pub fn parse_binding(body: &[u8]) -> Result<(String, String, Vec<Subject>), ParseError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ParseError::Decode(format!("couldn't get version/kind; json parse error: {e}"))
    })?;
    if let Some(version) = value.get("apiVersion").and_then(|v| v.as_str()) {
        if version != format!("{RBAC_GROUP}/v1") {
            return Err(ParseError::Decode(format!(
                "the API version in the data ({version}) does not match the expected API version \
                 ({RBAC_GROUP}/v1)"
            )));
        }
    }
    if let Some(kind) = value.get("kind").and_then(|v| v.as_str()) {
        if kind != "ClusterRoleBinding" {
            return Err(ParseError::Decode(format!(
                "the kind in the data ({kind}) does not match the expected kind \
                 (ClusterRoleBinding)"
            )));
        }
    }
    let text =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let name = text(value.pointer("/metadata/name"));
    let role_ref = value.get("roleRef");
    let role_kind = text(role_ref.and_then(|r| r.get("kind")));
    let role = text(role_ref.and_then(|r| r.get("name")));
    let mut errors = Vec::new();
    // pkg/apis/rbac/validation/validation.go ValidateClusterRoleBinding.
    if name.is_empty() {
        errors.push(FieldError {
            reason: "FieldValueRequired",
            field: "metadata.name".into(),
            message: "Required value: name or generateName is required".into(),
        });
    }
    if role_kind != "ClusterRole" {
        errors.push(FieldError {
            reason: "FieldValueNotSupported",
            field: "roleRef.kind".into(),
            message: format!(
                "Unsupported value: \"{role_kind}\": supported values: \"ClusterRole\""
            ),
        });
    }
    if role.is_empty() {
        errors.push(FieldError {
            reason: "FieldValueRequired",
            field: "roleRef.name".into(),
            message: "Required value".into(),
        });
    }
    let mut subjects = Vec::new();
    let items = value
        .get("subjects")
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        let subject = Subject {
            kind: text(item.get("kind")),
            api_group: text(item.get("apiGroup")),
            name: text(item.get("name")),
            namespace: text(item.get("namespace")),
        };
        if subject.name.is_empty() {
            errors.push(FieldError {
                reason: "FieldValueRequired",
                field: format!("subjects[{i}].name"),
                message: "Required value".into(),
            });
        }
        if subject.kind == "ServiceAccount" && subject.namespace.is_empty() {
            errors.push(FieldError {
                reason: "FieldValueRequired",
                field: format!("subjects[{i}].namespace"),
                message: "Required value".into(),
            });
        }
        subjects.push(subject);
    }
    if errors.is_empty() {
        Ok((name, role, subjects))
    } else {
        Err(ParseError::Invalid { name, errors })
    }
}

/// Why a binding was not created.
#[derive(Debug)]
pub enum ParseError {
    /// 400 BadRequest.
    Decode(String),
    /// 422 Invalid, with the object's name and each field error.
    Invalid {
        name: String,
        errors: Vec<FieldError>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(ns: &str, name: &str) -> Account {
        (ns.into(), name.into())
    }

    fn binding(name: &str, role: &str, subjects: Vec<Subject>) -> ClusterRoleBinding {
        ClusterRoleBinding {
            name: name.into(),
            uid: "u".into(),
            resource_version: 0,
            created: "2026-01-01T00:00:00Z".into(),
            role: role.into(),
            subjects,
        }
    }

    const REVIEW: Attributes<'static> = Attributes::Resource {
        verb: "create",
        group: "authentication.k8s.io",
        resource: "tokenreviews",
        namespace: "",
        name: "",
    };

    #[test]
    fn auth_delegator_grants_tokenreviews_only_to_its_subjects() {
        let mut rbac = Rbac::default();
        let eso = account("external-secrets", "external-secrets");
        assert!(!rbac.allows(&eso, &REVIEW));
        rbac.create(binding(
            "eso",
            "system:auth-delegator",
            vec![Subject::service_account(
                "external-secrets",
                "external-secrets",
            )],
        ))
        .unwrap();
        assert!(rbac.allows(&eso, &REVIEW));
        assert!(!rbac.allows(&account("other", "external-secrets"), &REVIEW));
        let token = Attributes::Resource {
            verb: "create",
            group: "",
            resource: "serviceaccounts/token",
            namespace: "external-secrets",
            name: "external-secrets",
        };
        assert!(!rbac.allows(&eso, &token));
        // A name is taken once.
        assert!(rbac
            .create(binding("eso", "cluster-admin", vec![]))
            .is_err());
        rbac.unbind("system:auth-delegator", &eso);
        assert!(!rbac.allows(&eso, &REVIEW));
        assert!(rbac.get("eso").is_none(), "a binding left empty is dropped");
    }

    #[test]
    fn denials_are_worded_as_kube_apiserver_words_them() {
        assert_eq!(
            forbidden_message("system:serviceaccount:a:b", &REVIEW),
            "User \"system:serviceaccount:a:b\" cannot create resource \"tokenreviews\" in API \
             group \"authentication.k8s.io\" at the cluster scope"
        );
        let token = Attributes::Resource {
            verb: "create",
            group: "",
            resource: "serviceaccounts/token",
            namespace: "ns",
            name: "eso",
        };
        assert_eq!(
            forbidden_message("u", &token),
            "User \"u\" cannot create resource \"serviceaccounts/token\" in API group \"\" in the \
             namespace \"ns\""
        );
    }

    #[test]
    fn invalid_bindings_name_each_field() {
        let body = br#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
            "metadata":{},"roleRef":{"kind":"Role","name":""},
            "subjects":[{"kind":"ServiceAccount","name":"eso"}]}"#;
        let Err(ParseError::Invalid { errors, .. }) = parse_binding(body) else {
            panic!("accepted");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "roleRef.kind",
                "roleRef.name",
                "subjects[0].namespace"
            ]
        );
        let ok = br#"{"metadata":{"name":"x"},"roleRef":{"kind":"ClusterRole","name":"r"}}"#;
        assert_eq!(parse_binding(ok).unwrap(), ("x".into(), "r".into(), vec![]));
    }
}
