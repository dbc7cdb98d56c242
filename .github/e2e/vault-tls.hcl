# A TLS listener added to the dev-mode Vault of .github/workflows/e2e.yml (unverified until it
# runs on GitHub). The dev server's own listener is plain HTTP, and the action accepts http://
# only for a Vault on loopback, which a service container is not. The certificate is made in the
# workflow, for the names `vault` (the service's alias on the job network), `localhost` and
# 127.0.0.1; the dev server's in-memory storage and the plain listener on 8200 stay as they are.
listener "tcp" {
  address       = "0.0.0.0:8300"
  tls_cert_file = "/vault/tls/vault.pem"
  tls_key_file  = "/vault/tls/vault-key.pem"
}
