# GitHub OIDC: the action logs in with the job's ID token, no static Vault token anywhere.
resource "vault_jwt_auth_backend" "github" {
  path               = "jwt"
  type               = "jwt"
  description        = "GitHub Actions OIDC"
  oidc_discovery_url = var.github_oidc_issuer
  bound_issuer       = var.github_oidc_issuer
}

# Writes: runs of the write ref, in the environment's job (`environment:` sets the claim).
resource "vault_jwt_auth_backend_role" "handshake" {
  for_each  = var.environments
  backend   = vault_jwt_auth_backend.github.path
  role_name = "${each.key}-handshake"
  # Sent on every write: Vault turns a role written without it into an OIDC role, which cannot
  # log in with a JWT.
  role_type         = "jwt"
  user_claim        = "repository"
  bound_audiences   = [var.jwt_audience]
  bound_claims_type = "glob"
  bound_claims = {
    repository  = var.github_repository
    environment = each.key
    ref         = var.write_ref
  }
  token_policies = [vault_policy.handshake[each.key].name]
  token_ttl      = 300
  token_max_ttl  = 600
  # The default policy carries auth/token/revoke-self and lookup-self: keep it, or the action
  # cannot revoke its own token.
  token_no_default_policy = false
}

# Dry runs: pull requests and other events that never write may read with this role. Any ref of
# the repository, in the environment's job; the policy only reads.
resource "vault_jwt_auth_backend_role" "handshake_plan" {
  for_each          = var.environments
  backend           = vault_jwt_auth_backend.github.path
  role_name         = "${each.key}-handshake-plan"
  role_type         = "jwt"
  user_claim        = "repository"
  bound_audiences   = [var.jwt_audience]
  bound_claims_type = "glob"
  bound_claims = {
    repository  = var.github_repository
    environment = each.key
  }
  token_policies          = [vault_policy.handshake_plan[each.key].name]
  token_ttl               = 300
  token_max_ttl           = 600
  token_no_default_policy = false
}
