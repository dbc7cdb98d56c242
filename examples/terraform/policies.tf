# The CI token's rights: exactly the paths the action requests (tests/terraform.rs checks it).
resource "vault_policy" "handshake" {
  for_each = var.environments
  name     = "${each.key}-handshake"
  policy   = templatefile("${path.module}/policies/handshake.hcl.tftpl", { env = each.key })
}

resource "vault_policy" "handshake_plan" {
  for_each = var.environments
  name     = "${each.key}-handshake-plan"
  policy   = templatefile("${path.module}/policies/handshake-plan.hcl.tftpl", { env = each.key })
}

# What External Secrets may read once logged in through <env>-kubernetes.
resource "vault_policy" "external_secrets" {
  for_each = var.environments
  name     = "${each.key}-external-secrets-policy"
  policy   = templatefile("${path.module}/policies/external-secrets.hcl.tftpl", { env = each.key })
}
