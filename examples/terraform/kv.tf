# One KV v2 mount per environment, kv/<env>, holding the VIP at secret `ip`, key `vip`: the
# action's defaults (vip-mount kv/<env>, vip-secret ip, vip-key vip).
resource "vault_mount" "kv" {
  for_each    = var.environments
  path        = "kv/${each.key}"
  type        = "kv"
  options     = { version = "2" }
  description = "${each.key} secrets for External Secrets"
}

resource "vault_kv_secret_v2" "vip" {
  for_each  = var.environments
  mount     = vault_mount.kv[each.key].path
  name      = "ip"
  data_json = jsonencode({ vip = var.vips[each.key] })
}
