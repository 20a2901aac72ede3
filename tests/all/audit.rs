//! `tazhost secrets audit` on a real git repository: values leaked raw, base64'd inside a
//! longer blob, URL-encoded, as a re-wrapped PEM body and as a token from a kubeconfig, in the
//! working tree and only in history; a clean repository passes; no value is ever printed.

use crate::support::*;
use base64::Engine;
use std::path::Path;
use std::process::{Command, Output};

const PASSPHRASE: &str = "audit passphrase 51c0";
const TOKEN: &str = "hcloud-Qm7LzX2vP9rT4wK8sN1b";
const PASSWORD: &str = "p@ss w0rd/Zx!9";
const KUBE_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ik9wN3Fh";

fn pem_body() -> String {
    let raw: Vec<u8> = (0..180u32).map(|i| (i * 37 % 251) as u8).collect();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn pem(body: &str, width: usize) -> String {
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(width)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", output_text(&out));
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(secrets.join("hetzner")).unwrap();
        std::fs::write(secrets.join("hetzner/hcloud-token"), format!("{TOKEN}\n")).unwrap();
        std::fs::write(secrets.join("db-password"), PASSWORD).unwrap();
        std::fs::write(secrets.join("tls.key"), pem(&pem_body(), 64)).unwrap();
        std::fs::write(
            secrets.join("kubeconfig"),
            format!("apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: {KUBE_TOKEN}\n"),
        )
        .unwrap();
        std::fs::write(secrets.join("pin"), "1234").unwrap();
        std::fs::write(dir.path().join("pass"), PASSPHRASE).unwrap();
        let s = Self { dir };
        let seal = s.run(&[
            "secrets",
            "seal",
            s.path("secrets"),
            "--to",
            s.path("archive.tar.aes"),
            "--passphrase-file",
            s.path("pass"),
        ]);
        assert!(seal.status.success(), "{}", output_text(&seal));
        std::fs::create_dir(s.dir.path().join("repo")).unwrap();
        git(&s.dir.path().join("repo"), &["init", "-q", "-b", "main"]);
        s
    }

    fn path(&self, name: &str) -> &str {
        Box::leak(
            self.dir
                .path()
                .join(name)
                .to_str()
                .unwrap()
                .to_string()
                .into_boxed_str(),
        )
    }

    fn repo(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = tazhost().args(args).output().unwrap();
        let text = output_text(&out);
        for value in [TOKEN, PASSWORD, KUBE_TOKEN, PASSPHRASE, &pem_body()[..40]] {
            assert!(!text.contains(value), "a value reached the output:\n{text}");
        }
        out
    }

    fn audit(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "secrets",
            "audit",
            self.path("repo"),
            "--archive",
            self.path("archive.tar.aes"),
            "--passphrase-file",
            self.path("pass"),
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

#[test]
fn a_clean_repository_passes_and_says_what_it_skipped() {
    let s = Setup::new();
    std::fs::write(s.repo().join("README.md"), "nothing to see; pin 1234\n").unwrap();
    git(&s.repo(), &["add", "."]);
    git(&s.repo(), &["commit", "-qm", "init"]);
    let out = s.audit(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(
        text.contains("not searched (shorter than 8 bytes): pin"),
        "{text}"
    );
    assert!(text.contains("clean"), "{text}");
    assert!(out.stdout.is_empty());
}

#[test]
fn every_form_of_leak_is_found_by_name_and_line_in_tree_and_history() {
    let s = Setup::new();
    let repo = s.repo();
    let b64 = base64::engine::general_purpose::STANDARD;
    // Committed then deleted: only the history has it, base64'd at an odd offset inside a
    // Kubernetes-style Secret.
    let blob = b64.encode(format!("xx{TOKEN}yyy"));
    std::fs::write(
        repo.join("secret.yaml"),
        format!("kind: Secret\ndata:\n  token: {blob}\n"),
    )
    .unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "oops"]);
    std::fs::remove_file(repo.join("secret.yaml")).unwrap();
    git(&repo, &["commit", "-qam", "remove"]);
    // In the working tree: URL-encoded, re-wrapped PEM, a kubeconfig token, raw.
    let encoded = "p%40ss%20w0rd%2FZx%219";
    std::fs::write(
        repo.join("app.env"),
        format!("A=1\nDATABASE_URL=postgres://app:{encoded}@db/app\n"),
    )
    .unwrap();
    std::fs::write(
        repo.join("key.pem"),
        format!("note\n{}", pem(&pem_body(), 76)),
    )
    .unwrap();
    std::fs::create_dir(repo.join("ci")).unwrap();
    std::fs::write(
        repo.join("ci/deploy.sh"),
        format!("#!/bin/sh\n\nexport KUBE_TOKEN={KUBE_TOKEN}\nexport HCLOUD={TOKEN}\n"),
    )
    .unwrap();

    let out = s.audit(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", output_text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    for want in [
        "app.env:2: db-password (url-encoded)",
        "key.pem:3: tls.key (PEM body)",
        "ci/deploy.sh:3: kubeconfig (raw, a token inside it)",
        "ci/deploy.sh:4: hetzner/hcloud-token (raw)",
    ] {
        assert!(lines.contains(&want), "missing `{want}` in:\n{stdout}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(":secret.yaml:3: hetzner/hcloud-token (base64)")),
        "the deleted file is found in history:\n{stdout}"
    );

    // Working tree only: the history hit disappears, the others stay.
    let tree_only = s.audit(&["--no-history"]);
    assert_eq!(tree_only.status.code(), Some(3));
    let text = String::from_utf8_lossy(&tree_only.stdout);
    assert!(!text.contains("secret.yaml"), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn a_wrong_passphrase_is_an_error_not_a_clean_bill() {
    let s = Setup::new();
    std::fs::write(s.dir.path().join("wrong"), "not it").unwrap();
    let out = s.run(&[
        "secrets",
        "audit",
        s.path("repo"),
        "--archive",
        s.path("archive.tar.aes"),
        "--passphrase-file",
        s.path("wrong"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(output_text(&out).contains("wrong passphrase"));
}
