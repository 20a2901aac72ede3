//! `tazhost secrets`: sealing, opening into memory, listing, rekeying and converting archives
//! through the real binary, and interoperability with an independent implementation of the
//! legacy format (tests/sdk/legacy_archive.py, on the `cryptography` package).

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Output;

const PASSPHRASE: &str = "correct horse battery staple 7f2c";
const VALUES: [&str; 3] = [
    "s.ROOTTOKENVALUE0123456789ab",
    "unseal-key-one-VALUE-9f8e7d",
    "hcloud-api-token-VALUE-5a4b3c",
];

struct Workspace {
    dir: tempfile::TempDir,
    shm: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(secrets.join("vault")).unwrap();
        std::fs::write(secrets.join("vault-root-token"), VALUES[0]).unwrap();
        std::fs::write(secrets.join("vault/vault-unseal-key-1"), VALUES[1]).unwrap();
        std::fs::write(secrets.join("hcloud-token"), VALUES[2]).unwrap();
        std::fs::write(dir.path().join("pass"), format!("{PASSPHRASE}\n")).unwrap();
        std::fs::write(dir.path().join("new-pass"), "a brand new passphrase 11").unwrap();
        std::fs::write(dir.path().join("wrong-pass"), "not the passphrase").unwrap();
        let shm = tempfile::tempdir_in(shm_root()).unwrap();
        Self { dir, shm }
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// Seal the test folder into `name` with the test passphrase; the archive's path.
    fn sealed(&self, name: &str) -> PathBuf {
        let archive = self.p(name);
        let (secrets, pass) = (self.p("secrets"), self.p("pass"));
        let out = self.run(&[
            "secrets",
            "seal",
            s(&secrets),
            "--to",
            s(&archive),
            "--passphrase-file",
            s(&pass),
        ]);
        assert!(out.status.success(), "{}", output_text(&out));
        archive
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = tazhost().args(args).output().expect("tazhost runs");
        let text = output_text(&out);
        for v in VALUES.iter().chain([&PASSPHRASE]) {
            assert!(
                !text.contains(v),
                "a secret value reached the output of {args:?}:\n{text}"
            );
        }
        out
    }
}

/// A tmpfs to open into: /dev/shm, or $XDG_RUNTIME_DIR.
fn shm_root() -> PathBuf {
    [
        "/dev/shm".into(),
        std::env::var("XDG_RUNTIME_DIR").unwrap_or_default(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_dir())
    .expect("a tmpfs folder (/dev/shm) for the opened secrets")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn seal_list_open_round_trip_never_prints_a_value() {
    let w = Workspace::new();
    let archive = w.p("vault.tar.aes");
    let seal = w.run(&[
        "secrets",
        "seal",
        s(&w.p("secrets")),
        "--to",
        s(&archive),
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    assert!(seal.status.success(), "{}", output_text(&seal));

    let list = w.run(&[
        "secrets",
        "list",
        s(&archive),
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    assert!(list.status.success(), "{}", output_text(&list));
    let listing = String::from_utf8_lossy(&list.stdout);
    for name in [
        "vault-root-token",
        "vault/vault-unseal-key-1",
        "hcloud-token",
    ] {
        assert!(listing.contains(name), "{listing}");
    }

    let into = w.shm.path().join("opened");
    let open = w.run(&[
        "secrets",
        "open",
        s(&archive),
        "--into",
        s(&into),
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    assert!(open.status.success(), "{}", output_text(&open));
    assert_eq!(
        std::fs::read_to_string(into.join("vault/vault-unseal-key-1")).unwrap(),
        VALUES[1]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(into.join("hcloud-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let raw = std::fs::read(&archive).unwrap();
    for v in VALUES {
        assert!(
            memchr::memmem::find(&raw, v.as_bytes()).is_none(),
            "plaintext in the archive"
        );
    }
}

#[test]
fn a_wrong_passphrase_or_a_flipped_byte_writes_nothing() {
    let w = Workspace::new();
    let archive = w.sealed("a.tar.aes");
    let into = w.shm.path().join("never");
    let wrong = w.run(&[
        "secrets",
        "open",
        s(&archive),
        "--into",
        s(&into),
        "--passphrase-file",
        s(&w.p("wrong-pass")),
    ]);
    assert!(!wrong.status.success());
    assert!(
        output_text(&wrong).contains("wrong passphrase"),
        "{}",
        output_text(&wrong)
    );
    assert!(!into.exists());

    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 0x10;
    std::fs::write(&archive, &bytes).unwrap();
    let tampered = w.run(&[
        "secrets",
        "open",
        s(&archive),
        "--into",
        s(&into),
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    assert!(!tampered.status.success());
    assert!(
        output_text(&tampered).contains("damaged or tampered with at chunk 0"),
        "{}",
        output_text(&tampered)
    );
    assert!(!into.exists());
}

#[test]
fn opening_onto_disk_needs_allow_disk() {
    let w = Workspace::new();
    let archive = w.sealed("a.tar.aes");
    let disk = w.p("on-disk");
    let refused = w.run(&[
        "secrets",
        "open",
        s(&archive),
        "--into",
        s(&disk),
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    if refused.status.success() {
        // The test folder itself is on tmpfs here: nothing to check.
        return;
    }
    assert!(
        output_text(&refused).contains("not on tmpfs or ramfs"),
        "{}",
        output_text(&refused)
    );
    assert!(!disk.exists());
    let allowed = w.run(&[
        "secrets",
        "open",
        s(&archive),
        "--into",
        s(&disk),
        "--allow-disk",
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    assert!(allowed.status.success(), "{}", output_text(&allowed));
}

#[test]
fn rekey_replaces_the_passphrase_and_the_old_one_stops_working() {
    let w = Workspace::new();
    let archive = w.sealed("a.tar.aes");
    let before = std::fs::read(&archive).unwrap();
    let rekey = w.run(&[
        "secrets",
        "rekey",
        s(&archive),
        "--passphrase-file",
        s(&w.p("pass")),
        "--new-passphrase-file",
        s(&w.p("new-pass")),
    ]);
    assert!(rekey.status.success(), "{}", output_text(&rekey));
    let after = std::fs::read(&archive).unwrap();
    assert_eq!(before[152..], after[152..], "only the header changed");
    assert!(
        !w.run(&[
            "secrets",
            "list",
            s(&archive),
            "--passphrase-file",
            s(&w.p("pass"))
        ])
        .status
        .success()
    );
    assert!(
        w.run(&[
            "secrets",
            "list",
            s(&archive),
            "--passphrase-file",
            s(&w.p("new-pass"))
        ])
        .status
        .success()
    );
}

#[test]
fn the_passphrase_can_come_from_a_file_descriptor() {
    use std::io::Write;
    let w = Workspace::new();
    let archive = w.sealed("a.tar.aes");
    let mut child = tazhost()
        .args(["secrets", "list", s(&archive), "--passphrase-fd", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASSPHRASE.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("hcloud-token"));
}

#[test]
fn legacy_archives_interoperate_with_an_independent_implementation() {
    let w = Workspace::new();
    // Python (cryptography) writes, tazhost reads and converts.
    let from_python = w.p("from-python.tar.aes");
    let py = std::process::Command::new(python())
        .arg(workspace().join("tests/sdk/legacy_archive.py"))
        .args([
            "seal",
            s(&w.p("secrets")),
            s(&from_python),
            "--passphrase-file",
            s(&w.p("pass")),
        ])
        .output()
        .expect("python runs (scripts/test installs tests/sdk/requirements.txt into .venv)");
    assert!(py.status.success(), "{}", output_text(&py));
    let list = w.run(&[
        "secrets",
        "list",
        s(&from_python),
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    assert!(list.status.success(), "{}", output_text(&list));
    assert!(String::from_utf8_lossy(&list.stdout).contains("vault/vault-unseal-key-1"));
    let converted = w.p("converted.tar.aes");
    let convert = w.run(&[
        "secrets",
        "convert",
        s(&from_python),
        "--to",
        s(&converted),
        "--passphrase-file",
        s(&w.p("pass")),
    ]);
    assert!(convert.status.success(), "{}", output_text(&convert));
    assert!(std::fs::read(&converted).unwrap().starts_with(b"TAZHOSTA"));
    let into = w.shm.path().join("conv");
    assert!(
        w.run(&[
            "secrets",
            "open",
            s(&converted),
            "--into",
            s(&into),
            "--passphrase-file",
            s(&w.p("pass"))
        ])
        .status
        .success()
    );
    assert_eq!(
        std::fs::read_to_string(into.join("hcloud-token")).unwrap(),
        VALUES[2]
    );

    // tazhost writes legacy, Python reads.
    let from_tazhost = w.p("from-tazhost.tar.aes");
    assert!(
        w.run(&[
            "secrets",
            "seal",
            s(&w.p("secrets")),
            "--to",
            s(&from_tazhost),
            "--legacy",
            "--passphrase-file",
            s(&w.p("pass"))
        ])
        .status
        .success()
    );
    let out_dir = w.p("py-opened");
    let py = std::process::Command::new(python())
        .arg(workspace().join("tests/sdk/legacy_archive.py"))
        .args([
            "open",
            s(&from_tazhost),
            s(&out_dir),
            "--passphrase-file",
            s(&w.p("pass")),
        ])
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", output_text(&py));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("vault-root-token")).unwrap(),
        VALUES[0]
    );
    let listing = String::from_utf8_lossy(&py.stdout);
    assert!(
        listing.contains("vault/vault-unseal-key-1 27 0644")
            || listing.contains("vault/vault-unseal-key-1 27"),
        "{listing}"
    );
}

#[test]
fn copy_refuses_what_is_not_an_archive_and_rekey_refuses_a_damaged_one() {
    let w = Workspace::new();
    let note = w.p("note.txt");
    std::fs::write(&note, "just some text, not an archive\n").unwrap();
    let out = w.p("copy.taz");
    let copy = w.run(&["secrets", "copy", s(&note), s(&out)]);
    assert!(!copy.status.success());
    assert!(
        output_text(&copy).contains("shorter than the smallest valid archive"),
        "{}",
        output_text(&copy)
    );
    assert!(!out.exists(), "nothing written");

    let archive = w.sealed("damaged.taz");
    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    std::fs::write(&archive, &bytes).unwrap();
    let rekey = w.run(&[
        "secrets",
        "rekey",
        s(&archive),
        "--passphrase-file",
        s(&w.p("pass")),
        "--new-passphrase-file",
        s(&w.p("new-pass")),
    ]);
    assert!(!rekey.status.success());
    assert!(
        output_text(&rekey).contains("damaged or tampered with"),
        "{}",
        output_text(&rekey)
    );
    assert_eq!(std::fs::read(&archive).unwrap(), bytes, "left as it was");
    let leftovers: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
