# The mount the action configures (auth/<env>-kubernetes/config). Its config is the action's:
# no vault_kubernetes_auth_backend_config here. If an older state has one, hand it over with
# `terraform state rm 'vault_kubernetes_auth_backend_config.<name>'`.
resource "vault_auth_backend" "kubernetes" {
  for_each    = var.environments
  type        = "kubernetes"
  path        = "${each.key}-kubernetes"
  description = "${each.key} cluster; config written by vault-k8s-handshake"
}

# External Secrets logs in with its own ServiceAccount token (client JWT mode), which must also
# be bound to system:auth-delegator in the cluster.
resource "vault_kubernetes_auth_backend_role" "external_secrets" {
  for_each                         = var.environments
  backend                          = vault_auth_backend.kubernetes[each.key].path
  role_name                        = "external-secrets"
  bound_service_account_names      = ["external-secrets"]
  bound_service_account_namespaces = ["external-secrets"]
  token_policies                   = [vault_policy.external_secrets[each.key].name]
  token_ttl                        = 3600
  token_max_ttl                    = 86400
}
