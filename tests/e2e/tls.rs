//! The HTTP client's trusted roots, through the binary: a server whose certificate is signed
//! by a private CA is trusted when that CA is in the operating system's store (here the file
//! named by `SSL_CERT_FILE`, or a directory named by `SSL_CERT_DIR`, which
//! `rustls-native-certs` reads instead of the platform's store), with no `ca_file`; and
//! refused when the store does not hold it. The server is the fake kubelet (TLS, certificate
//! `tests/testdata/kubelet/server.pem`, signed by `ca.pem`).

use std::process::Command;

use gleaner_e2e::fake_kubelet::{FakeKubelet, fixture_lines, fixture_summary, testdata};
use gleaner_e2e::gleaner_bin;

/// Runs `--test` on a kubelet input without `ca_file`, with `env` set; (code, stdout, stderr).
fn test_mode(fake: &FakeKubelet, env: &[(&str, &std::path::Path)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("gleaner.toml");
    let token = dir.path().join("token");
    std::fs::write(&token, "t").expect("token");
    std::fs::write(
        &cfg,
        format!(
            "[agent]\nomit_hostname = true\n[[inputs.kubelet]]\nurl = \"{}\"\nbearer_token_file = \"{}\"\n",
            fake.url(),
            token.display()
        ),
    )
    .expect("config");
    let mut cmd = Command::new(gleaner_bin());
    cmd.arg("--config").arg(&cfg).arg("--test");
    cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run gleaner");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_ca_in_the_system_store_is_trusted_without_ca_file() {
    let fake = FakeKubelet::start("t", fixture_summary());
    let store = tempfile::tempdir().expect("tempdir");

    // A store without the CA: the certificate is refused.
    let (code, out, err) = test_mode(&fake, &[("SSL_CERT_DIR", store.path())]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");

    // The CA as a bundle file (SSL_CERT_FILE).
    let bundle = store.path().join("bundle.pem");
    std::fs::copy(testdata("ca.pem"), &bundle).expect("copy ca");
    let (code, out, err) = test_mode(&fake, &[("SSL_CERT_FILE", &bundle)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, fixture_lines());

    // The CA in a directory (SSL_CERT_DIR; every file in it is read, hash-named or not).
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(testdata("ca.pem"), dir.path().join("corp-ca.pem")).expect("copy ca");
    let (code, out, err) = test_mode(&fake, &[("SSL_CERT_DIR", dir.path())]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, fixture_lines());
}
