//! `tools/release-stamp.py` produces exactly what the contract renders: the release form of
//! `action.yml` (and its copy), of `binary/action.yml`, the docs' repository and pins, and the
//! local-image form the end-to-end workflow uses. Runs the script on a temporary copy of the
//! files it edits; `.ci/release-check` does the same for the whole checkout and lints the result.

use std::path::{Path, PathBuf};
use std::process::Command;

use vault_k8s_handshake::pure::contract::{
    render_action_yml, render_composite_action_yml, render_stamped_action_yml, ActionImage,
    ReleaseStamp, BINARY_TARGETS,
};

const FILES: &[&str] = &[
    "action.yml",
    ".github/actions/container/action.yml",
    "binary/action.yml",
    "README.md",
    ".github/workflows/handshake.yml",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary root holding copies of the files the script edits.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for rel in FILES {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(rel), &to).unwrap();
    }
    dir
}

/// Runs the script; `None` when python3 is missing outside CI (the test then has nothing to run).
fn stamp(root: &Path, args: &[&str]) -> Option<std::process::Output> {
    let run = Command::new("python3")
        .arg(repo().join("tools/release-stamp.py"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output();
    match run {
        Ok(out) => Some(out),
        Err(e) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but python3 cannot run: {e}"
            );
            eprintln!("note: skipping, python3 cannot run: {e}");
            None
        }
    }
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

fn sha(seed: &str) -> String {
    // Any 64 lowercase hex digits will do; distinct per seed.
    let byte = seed
        .bytes()
        .fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    format!("{byte:02x}").repeat(32)
}

#[test]
fn a_release_stamp_is_the_contracts_stamped_form() {
    let dir = copy();
    let root = dir.path();
    let sums: PathBuf = root.join("SHA256SUMS");
    let mut lines = String::new();
    for (target, ..) in BINARY_TARGETS {
        lines.push_str(&format!("{}  vault-k8s-handshake-{target}\n", sha(target)));
    }
    lines.push_str(&format!("{}  vault-k8s-handshake.wasm\n", sha("wasm")));
    std::fs::write(&sums, lines).unwrap();
    let digest = format!("sha256:{}", sha("image"));
    let args = [
        "release",
        "--repository",
        "acme/vault-k8s-handshake",
        "--tag",
        "v1.2.3",
        "--image",
        "ghcr.io/acme/vault-k8s-handshake",
        "--digest",
        &digest,
        "--sha256sums",
        sums.to_str().unwrap(),
    ];
    let Some(out) = stamp(root, &args) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let image = ActionImage::Published {
        name: "ghcr.io/acme/vault-k8s-handshake".into(),
        digest: digest.clone(),
    };
    let want = render_stamped_action_yml(&image);
    assert_eq!(read(root, "action.yml"), want);
    assert_eq!(read(root, ".github/actions/container/action.yml"), want);
    let release = ReleaseStamp {
        repository: "acme/vault-k8s-handshake".into(),
        tag: "v1.2.3".into(),
        binaries: BINARY_TARGETS
            .iter()
            .map(|(t, ..)| (t.to_string(), sha(t)))
            .collect(),
    };
    assert_eq!(
        read(root, "binary/action.yml"),
        render_composite_action_yml(Some(&release))
    );
    let readme = read(root, "README.md");
    assert!(!readme.contains("OWNER/vault-k8s-handshake"));
    assert!(readme
        .contains("acme/vault-k8s-handshake@0000000000000000000000000000000000000000 # vX.Y.Z"));
    // Workflows are never edited: GITHUB_TOKEN could not push the commit.
    assert_eq!(
        read(root, ".github/workflows/handshake.yml"),
        read(repo(), ".github/workflows/handshake.yml")
    );

    // A stamped checkout is not stamped again.
    let again = stamp(root, &args).unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already stamped"));

    // The second commit pins the docs' snippets to the first one.
    let commit = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c";
    let out = stamp(
        root,
        &[
            "pin-readme",
            "--repository",
            "acme/vault-k8s-handshake",
            "--tag",
            "v1.2.3",
            "--commit",
            commit,
        ],
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme = read(root, "README.md");
    assert!(readme.contains(&format!("uses: acme/vault-k8s-handshake@{commit} # v1.2.3")));
    assert!(!readme.contains("@0000000000000000000000000000000000000000"));
}

#[test]
fn the_local_image_form_builds_the_dockerfile() {
    let dir = copy();
    let Some(out) = stamp(dir.path(), &["local-image"]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = render_stamped_action_yml(&ActionImage::LocalDockerfile);
    assert_eq!(read(dir.path(), "action.yml"), want);
    assert_eq!(
        read(dir.path(), ".github/actions/container/action.yml"),
        want
    );
}

#[test]
fn bad_release_values_are_refused_and_nothing_is_written() {
    let dir = copy();
    let root = dir.path();
    std::fs::write(root.join("SHA256SUMS"), "").unwrap();
    let sums = root.join("SHA256SUMS");
    for (flag, value, message) in [
        (
            "--repository",
            "OWNER/vault-k8s-handshake",
            "is not owner/name",
        ),
        ("--tag", "1.2.3", "is not vX.Y.Z"),
        ("--digest", "sha256:abc", "is not sha256:"),
    ] {
        let mut args = vec![
            "release",
            "--repository",
            "acme/x",
            "--tag",
            "v1.0.0",
            "--image",
            "ghcr.io/acme/x",
            "--digest",
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "--sha256sums",
            sums.to_str().unwrap(),
        ];
        let at = args.iter().position(|a| *a == flag).unwrap() + 1;
        args[at] = value;
        let Some(out) = stamp(root, &args) else {
            return;
        };
        assert!(!out.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{flag}: {stderr}");
    }
    // An empty SHA256SUMS names no binary: refused before any file changes.
    let out = stamp(
        root,
        &[
            "release",
            "--repository",
            "acme/x",
            "--tag",
            "v1.0.0",
            "--image",
            "ghcr.io/acme/x",
            "--digest",
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "--sha256sums",
            sums.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no line for"));
    assert_eq!(read(root, "action.yml"), render_action_yml());
}
