//! Properties over every parser of untrusted input: random and adversarial bytes never panic,
//! and no escaped text can start a workflow command under the runner's own parsing. Bounded
//! (a few hundred cases each, inputs of a few KB) so the suite stays fast on two cores.

mod common;

use common::runner_log::RunnerLog;
use proptest::prelude::*;
use vault_k8s_handshake::pure::artifact::{extract_ca, Limits};
use vault_k8s_handshake::pure::ca::parse_ca;
use vault_k8s_handshake::pure::command::{escape_log_line, render_annotation, Level};
use vault_k8s_handshake::pure::host::{host_from_vip, parse_kubernetes_host, parse_vault_addr};
use vault_k8s_handshake::pure::kubeconfig::parse_kubeconfig;

const NOW: i64 = 1_800_000_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text built from the pieces attacks are made of, mixed with arbitrary characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("::".to_string()),
        Just("##[".to_string()),
        Just("]".to_string()),
        Just("stop-commands".to_string()),
        Just("add-mask".to_string()),
        Just("warning".to_string()),
        Just("\r".to_string()),
        Just("\n".to_string()),
        Just("\u{3000}".to_string()),
        Just("%0A".to_string()),
        Just(" ".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
        "[a-z:#\\[\\] ]{0,6}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// YAML- and JSON-shaped noise: brackets, indentation, keys, quotes.
fn kubeconfig_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("}".to_string()),
        Just("- ".to_string()),
        Just("\n  ".to_string()),
        Just("clusters:".to_string()),
        Just("current-context: a\n".to_string()),
        Just("users:\n- name: u\n  user: {token: t}\n".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|v| v.concat())
}

/// A stored zip of one entry, then mutated at random positions.
fn mutated_zip() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    )
        .prop_map(|(data, edits)| {
            let mut zip = common::zip(&[("k8s-ca.crt", &data)]);
            for (at, byte) in edits {
                let len = zip.len();
                zip[at % len] = byte;
            }
            zip
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn host_parsers_never_panic(text in "\\PC{0,40}", raw in hostile_text()) {
        for value in [&text, &raw, &format!("https://{text}"), &format!("https://{text}:6443/")] {
            let _ = parse_kubernetes_host("kubernetes-host", value, false);
            let _ = parse_kubernetes_host("kubernetes-host", value, true);
            let _ = parse_vault_addr("vault-addr", value);
            let _ = host_from_vip("kv/dev/data/ip#vip", value, 6443, false);
        }
    }

    #[test]
    fn the_ca_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048), text in hostile_text()) {
        let _ = parse_ca(&bytes, NOW);
        let pem = format!("-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----\n");
        let _ = parse_ca(pem.as_bytes(), NOW);
    }

    #[test]
    fn the_kubeconfig_parser_never_panics(text in kubeconfig_like(), noise in "\\PC{0,200}") {
        let _ = parse_kubeconfig(&text);
        let _ = parse_kubeconfig(&noise);
    }

    #[test]
    fn artifact_reading_never_panics(zip in mutated_zip(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let limits = Limits::default();
        let _ = extract_ca(&zip, true, None, None, &limits);
        let _ = extract_ca(&zip, true, None, Some("k8s-ca.crt"), &limits);
        let _ = extract_ca(&bytes, true, None, None, &limits);
        let _ = extract_ca(&bytes, false, Some("k8s-ca.crt"), None, &limits);
    }

    #[test]
    fn escaped_text_never_starts_a_command(text in hostile_text()) {
        let mut log = RunnerLog::new();
        log.feed(&format!("{}\n", escape_log_line(&text)));
        log.feed(&format!("CA `{}` sha256 x\n", escape_log_line(&text)));
        prop_assert!(log.commands.is_empty(), "{:?} from {:?}", log.commands, text);
        let mut log = RunnerLog::new();
        log.feed(&format!("{}\n", render_annotation(Level::Warning, Some(&text), &text)));
        prop_assert_eq!(log.commands.len(), 1, "{:?} from {:?}", log.commands, text);
        prop_assert_eq!(log.commands[0].0.as_str(), "warning");
    }
}
