//! Cluster material shaped like what RKE2 produces, generated at run time for the demo and tests.
//!
//! A server CA as RKE2's dynamiclistener makes it (EC P-256, serial number 0, CN
//! `rke2-server-ca@<unix seconds>`, notBefore one hour back, ten years, CA:TRUE with
//! keyCertSign), a client CA and an admin client certificate, and the `rke2.yaml` kubeconfig
//! that carries them (docs/cluster-behaviour.md). Keys never leave memory except the admin key
//! inside the kubeconfig, exactly as on a real server.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

/// A CA that can sign certificates.
pub struct ClusterCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl ClusterCa {
    pub fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}

fn ca_params(common_name: &str, now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    // dyniclistener's NewSelfSignedCACert: serial 0 (not RFC 5280's "positive"), backdated 1 h,
    // ten years of 365 days.
    params.serial_number = Some(SerialNumber::from_slice(&[0]));
    params.not_before = now - Duration::hours(1);
    params.not_after = params.not_before + Duration::days(3650);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params
}

/// RKE2's server CA (`server-ca.crt`), the one that signs the API server's certificate.
pub fn rke2_ca(prefix: &str, now: OffsetDateTime) -> Result<ClusterCa, rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let params = ca_params(&format!("{prefix}-ca@{}", now.unix_timestamp()), now);
    let cert = params.self_signed(&key)?;
    Ok(ClusterCa {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    })
}

/// What the bootstrap leaves on the runner: the CA file Ansible fetched and `rke2.yaml`.
pub struct BootstrapOutput {
    pub ca_file: PathBuf,
    pub kubeconfig: PathBuf,
    pub ca: ClusterCa,
}

/// Writes `k8s-ca.crt` and `rke2.yaml` (clientcmd's layout: everything named `default`, server
/// `https://127.0.0.1:6443`, admin client certificate and key inline) into `dir`.
pub fn write_bootstrap_output(dir: &Path, now: OffsetDateTime) -> Result<BootstrapOutput, String> {
    let err = |e: rcgen::Error| e.to_string();
    let server_ca = rke2_ca("rke2-server", now).map_err(err)?;
    let client_ca = rke2_ca("rke2-client", now).map_err(err)?;
    let admin_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "system:masters");
    dn.push(DnType::CommonName, "system:admin");
    params.distinguished_name = dn;
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(365);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin = params
        .signed_by(&admin_key, client_ca.issuer())
        .map_err(err)?;
    // RKE2 writes a leaf followed by its CA.
    let admin_chain = format!("{}{}", admin.pem(), client_ca.pem);
    let kubeconfig = format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: https://127.0.0.1:6443\n  name: default\ncontexts:\n- context:\n    cluster: default\n    user: default\n  name: default\ncurrent-context: default\nkind: Config\npreferences: {{}}\nusers:\n- name: default\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        STANDARD.encode(&server_ca.pem),
        STANDARD.encode(&admin_chain),
        STANDARD.encode(admin_key.serialize_pem()),
    );
    let ca_file = dir.join("k8s-ca.crt");
    let kubeconfig_path = dir.join("rke2.yaml");
    std::fs::write(&ca_file, &server_ca.pem).map_err(|e| e.to_string())?;
    std::fs::write(&kubeconfig_path, kubeconfig).map_err(|e| e.to_string())?;
    Ok(BootstrapOutput {
        ca_file,
        kubeconfig: kubeconfig_path,
        ca: server_ca,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ca_has_rke2_shape_and_parses() {
        let now = OffsetDateTime::from_unix_timestamp(1_798_761_600).unwrap();
        let ca = rke2_ca("rke2-server", now).unwrap();
        let bundle = crate::pure::ca::parse_ca(ca.pem.as_bytes(), 1_798_761_600).unwrap();
        let cert = &bundle.certs[0];
        assert_eq!(cert.serial, "00");
        assert_eq!(cert.key_algorithm, "EC P-256");
        assert_eq!(cert.subject, "CN=rke2-server-ca@1798761600");
        assert!(cert.is_self_signed());
        assert_eq!(cert.not_after.0 - cert.not_before.0, 3650 * 86_400);
    }

    #[test]
    fn bootstrap_output_kubeconfig_yields_the_server_ca() {
        let dir = std::env::temp_dir().join(format!("vkh-cluster-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_798_761_600).unwrap();
        let out = write_bootstrap_output(&dir, now).unwrap();
        let loaded = crate::source::load_ca(
            &crate::pure::contract::CaSource::File(out.kubeconfig.display().to_string()),
            &crate::source::FileRules::anywhere(),
            1_798_761_600,
        )
        .unwrap();
        let direct = crate::pure::ca::parse_ca(out.ca.pem.as_bytes(), 1_798_761_600).unwrap();
        assert_eq!(loaded.bundle.fingerprints(), direct.fingerprints());
        assert!(loaded
            .warnings
            .iter()
            .any(|w| w.contains("client credentials")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
