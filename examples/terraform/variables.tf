variable "environments" {
  description = "Environment names; each gets <env>-kubernetes, kv/<env> and its roles."
  type        = set(string)
  default     = ["dev", "stage", "prod"]
}

variable "vips" {
  description = "The API server VIP of each environment's cluster (kube-vip), kept in kv/<env>, secret ip, key vip."
  type        = map(string)
}

variable "github_repository" {
  description = "owner/name of the repository whose workflows run the action."
  type        = string
}

variable "github_oidc_issuer" {
  description = "GitHub's OIDC issuer: https://token.actions.githubusercontent.com, or https://<host>/_services/token on GitHub Enterprise Server."
  type        = string
  default     = "https://token.actions.githubusercontent.com"
}

variable "jwt_audience" {
  description = "The audience the workflows request (the action's jwt-audience); roles bind exactly this value."
  type        = string
}

variable "write_ref" {
  description = "The only ref whose runs may write the config (glob)."
  type        = string
  default     = "refs/heads/main"
}
