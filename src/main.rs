fn main() -> std::process::ExitCode {
    vault_k8s_handshake::cli::main()
}
