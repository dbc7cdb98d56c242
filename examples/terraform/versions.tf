# The Vault side of vault-k8s-handshake for a set of environments: GitHub OIDC login for CI (an
# apply role and a plan role per environment), the kubernetes auth mount per environment, the
# VIP in KV v2, and External Secrets' policy and role. The action writes the kubernetes auth
# config itself; this module never manages `vault_kubernetes_auth_backend_config` (a config write
# replaces every field, so two owners would undo each other).
#
# .ci/terraform parses every file here (python-hcl2) and compares the policies' paths with the
# paths the action requests (tests/terraform.rs).
terraform {
  required_version = ">= 1.5"
  required_providers {
    vault = {
      source  = "hashicorp/vault"
      version = ">= 4.0, < 6.0"
    }
  }
}
