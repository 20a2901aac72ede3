//! The archive's figures, each against a reference tool on the same data in the same run:
//!
//! 1. open (decrypt + verify) a 256 MiB archive with `tazhost secrets list` vs `age -d`;
//! 2. peak RSS of `tazhost secrets list` and `seal` on a 1 GiB archive vs a 64 MiB one
//!    (streaming: it must not grow with size);
//! 3. push and pull 256 MiB to a local SeaweedFS with `tazhost secrets copy` vs `aws s3 cp`;
//! 4. `secrets audit` over a 10 000-file repository, with and without its history.
//!
//! Run with `scripts/bench-archive` (it installs `age`, the venv with awscli and SeaweedFS),
//! or `cargo bench -p tazhost --bench archive` once they are there. Sizes: TAZHOST_BENCH_MIB
//! (256) and TAZHOST_BENCH_BIG_MIB (1024). Whole commands are timed (best of 3), so process
//! start and the archive's Argon2id key derivation are included for tazhost.

/// The tests' SeaweedFS harness, reused as is.
#[path = "../../tests/all/support/process.rs"]
mod process;
#[path = "../../tests/all/support/s3server.rs"]
#[allow(dead_code)]
mod s3server;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

use s3server::S3Server;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TAZHOST: &str = env!("CARGO_BIN_EXE_tazhost");

fn mib_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Incompressible bytes (xorshift), written in 1 MiB blocks.
fn write_noise(path: &Path, mib: u64, seed: u64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x = seed | 1;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        out.write_all(&block).unwrap();
    }
    out.flush().unwrap();
}

fn run(cmd: &mut Command) {
    let out = cmd.stdout(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Best of three.
fn best(mut make: impl FnMut() -> Command) -> Duration {
    (0..3)
        .map(|_| {
            let mut cmd = make();
            let start = Instant::now();
            run(&mut cmd);
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// Peak resident set of a command, in MiB (GNU time's %M is KiB).
fn peak_rss_mib(args: &[&str]) -> f64 {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .args(args)
        .stdout(Stdio::null())
        .output()
        .expect("/usr/bin/time (Debian package `time`)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    let kib: f64 = stderr.lines().last().unwrap().trim().parse().unwrap();
    kib / 1024.0
}

fn rate(mib: u64, d: Duration) -> f64 {
    mib as f64 / d.as_secs_f64()
}

fn tazhost() -> Command {
    let mut cmd = Command::new(TAZHOST);
    cmd.env("TAZHOST_LOG", "warn");
    cmd
}

struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(&self, name: &str) -> String {
        self.p(name).display().to_string()
    }

    /// A folder of `mib` MiB of noise, sealed as `<name>.taz`.
    fn sealed(&self, name: &str, mib: u64) -> PathBuf {
        let folder = self.p(name);
        std::fs::create_dir_all(&folder).unwrap();
        write_noise(&folder.join("raft.snap"), mib, mib);
        let archive = self.p(&format!("{name}.taz"));
        run(tazhost()
            .args(["secrets", "seal"])
            .arg(&folder)
            .arg("--to")
            .arg(&archive)
            .args(["--passphrase-file", &self.s("pass")]));
        archive
    }
}

/// age reads a passphrase only from the terminal: give it one through `script`'s pty.
fn age_with_passphrase(args: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!(
        "printf '%s\\n%s\\n' \"$AGE_BENCH_PASS\" \"$AGE_BENCH_PASS\" | script -qec 'age {args}' /dev/null"
    ));
    c.env("AGE_BENCH_PASS", "bench passphrase, not a secret");
    c
}

fn open_vs_age(b: &Bench, mib: u64) {
    let archive = b.sealed("data", mib);
    // age gets the same plaintext: the tar of the same folder, encrypted twice: with a
    // passphrase (scrypt, what our archive is) and to an X25519 key (no key derivation).
    run(Command::new("tar").args(["-cf", &b.s("data.tar"), "-C", &b.s("data"), "."]));
    run(Command::new("age-keygen").args(["-o", &b.s("age.key")]));
    let key = std::fs::read_to_string(b.p("age.key")).unwrap();
    let recipient = key
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    run(Command::new("age").args(["-r", &recipient, "-o", &b.s("key.age"), &b.s("data.tar")]));
    run(&mut age_with_passphrase(&format!(
        "-p -o {} {}",
        b.s("pass.age"),
        b.s("data.tar")
    )));
    let list = |archive: &Path| {
        let archive = archive.to_path_buf();
        let pass = b.s("pass");
        move || {
            let mut c = tazhost();
            c.args(["secrets", "list"])
                .arg(&archive)
                .args(["--passphrase-file", &pass]);
            c
        }
    };
    let ours = best(list(&archive));
    let age_pass = best(|| age_with_passphrase(&format!("-d -o /dev/null {}", b.s("pass.age"))));
    let age_key = best(|| {
        let mut c = Command::new("age");
        c.args([
            "-d",
            "-i",
            &b.s("age.key"),
            "-o",
            "/dev/null",
            &b.s("key.age"),
        ]);
        c
    });
    // Fixed costs (process start, key derivation) on a 1-byte folder, for payload-only rates.
    std::fs::create_dir_all(b.p("tiny")).unwrap();
    std::fs::write(b.p("tiny/x"), "x").unwrap();
    run(tazhost()
        .args(["secrets", "seal", &b.s("tiny"), "--to", &b.s("tiny.taz")])
        .args(["--passphrase-file", &b.s("pass")]));
    run(Command::new("age").args(["-r", &recipient, "-o", &b.s("tiny.age"), &b.s("tiny/x")]));
    let ours_fixed = best(list(&b.p("tiny.taz")));
    let age_key_fixed = best(|| {
        let mut c = Command::new("age");
        c.args([
            "-d",
            "-i",
            &b.s("age.key"),
            "-o",
            "/dev/null",
            &b.s("tiny.age"),
        ]);
        c
    });
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "open a {mib} MiB archive (decrypt and verify every chunk), whole command, best of 3:"
    );
    println!(
        "  tazhost secrets list (Argon2id passphrase)  {:>7.3} s  {:>7.1} MiB/s",
        secs(ours),
        rate(mib, ours)
    );
    println!(
        "  age -d, passphrase (scrypt)                 {:>7.3} s  {:>7.1} MiB/s   ours: {:.2}x",
        secs(age_pass),
        rate(mib, age_pass),
        secs(age_pass) / secs(ours)
    );
    println!(
        "  age -d, X25519 key file (no KDF)            {:>7.3} s  {:>7.1} MiB/s   ours: {:.2}x",
        secs(age_key),
        rate(mib, age_key),
        secs(age_key) / secs(ours)
    );
    let payload = |total: Duration, fixed: Duration| mib as f64 / (secs(total) - secs(fixed));
    println!(
        "  payload only (minus a 1-byte archive's time): ours {:.0} MiB/s (fixed {:.3} s), age {:.0} MiB/s (fixed {:.3} s)",
        payload(ours, ours_fixed),
        secs(ours_fixed),
        payload(age_key, age_key_fixed),
        secs(age_key_fixed)
    );
    for f in ["data.tar", "key.age", "pass.age"] {
        let _ = std::fs::remove_file(b.p(f));
    }
}

fn rss_streaming(b: &Bench, small: u64, big: u64) {
    println!("peak RSS (must not grow with the archive):");
    for (name, mib) in [("rss-small", small), ("rss-big", big)] {
        let folder = b.p(name);
        std::fs::create_dir_all(&folder).unwrap();
        write_noise(&folder.join("raft.snap"), mib, 99);
        let archive = b.s(&format!("{name}.taz"));
        let seal = peak_rss_mib(&[
            TAZHOST,
            "secrets",
            "seal",
            &folder.display().to_string(),
            "--to",
            &archive,
            "--passphrase-file",
            &b.s("pass"),
        ]);
        std::fs::remove_dir_all(&folder).unwrap();
        let list = peak_rss_mib(&[
            TAZHOST,
            "secrets",
            "list",
            &archive,
            "--passphrase-file",
            &b.s("pass"),
        ]);
        println!(
            "  {mib:>5} MiB archive: seal {seal:>6.1} MiB, list (open, verify) {list:>6.1} MiB"
        );
        std::fs::remove_file(&archive).unwrap();
    }
}

fn s3_vs_aws(b: &Bench, mib: u64) {
    let aws = workspace().join(".venv/bin/aws");
    assert!(
        aws.exists(),
        "awscli: run scripts/bench-archive (it makes .venv)"
    );
    let s3 = S3Server::start();
    let aws_cmd = || {
        let mut c = Command::new(&aws);
        c.arg("--endpoint-url")
            .arg(s3.endpoint())
            .envs(s3.client_env());
        c
    };
    run(aws_cmd().args(["s3", "mb", "s3://bench"]));
    let archive = b.p("data.taz");
    let archive = archive.display().to_string();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let ours_push = best(|| {
        let mut c = tazhost();
        c.envs(s3.client_env())
            .args(["secrets", "copy", "--force", &archive])
            .arg(format!("s3://bench/ours-{}", next()));
        c
    });
    let aws_push = best(|| {
        let mut c = aws_cmd();
        c.args(["s3", "cp", "--only-show-errors", &archive, "s3://bench/aws"]);
        c
    });
    let ours_pull = best(|| {
        let mut c = tazhost();
        c.envs(s3.client_env()).args([
            "secrets",
            "copy",
            "--force",
            "s3://bench/ours-1",
            &b.s("pulled"),
        ]);
        c
    });
    let aws_pull = best(|| {
        let mut c = aws_cmd();
        c.args([
            "s3",
            "cp",
            "--only-show-errors",
            "s3://bench/aws",
            &b.s("pulled-aws"),
        ]);
        c
    });
    println!("S3 (local SeaweedFS), {mib} MiB archive:");
    for (what, ours, theirs) in [("push", ours_push, aws_push), ("pull", ours_pull, aws_pull)] {
        println!(
            "  {what}: tazhost secrets copy {:>7.1} MiB/s, aws s3 cp {:>7.1} MiB/s, ratio {:.2}x",
            rate(mib, ours),
            rate(mib, theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
}

/// `secrets audit` over a repository of `files` text files of 20 KiB each, committed, with
/// and without its history: the pre-commit-hook question.
fn audit_speed(b: &Bench, files: usize) {
    let repo = b.p("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let mut x = 7u64;
    let mut line = String::new();
    for i in 0..files {
        let dir = repo.join(format!("d{}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::with_capacity(20 << 10);
        while text.len() < 20 << 10 {
            line.clear();
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                line.push_str(&format!("{:x} ", x & 0xffff_ffff));
            }
            text.push_str(&line);
            text.push('\n');
        }
        std::fs::write(dir.join(format!("f{i}.txt")), text).unwrap();
    }
    let git = |args: &[&str]| {
        run(Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args([
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@b",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "bench"]);
    // A realistic archive: 30 tokens of 40 characters.
    let secrets = b.p("audit-secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    for i in 0..30 {
        let token: String = (0..40)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(x % 62) as usize]
                    as char
            })
            .collect();
        std::fs::write(secrets.join(format!("token-{i}")), token).unwrap();
    }
    run(tazhost()
        .args([
            "secrets",
            "seal",
            &secrets.display().to_string(),
            "--to",
            &b.s("audit.taz"),
        ])
        .args(["--passphrase-file", &b.s("pass")]));
    let mib = (files * 20) as f64 / 1024.0;
    let time = |extra: &[&str]| {
        let repo = repo.display().to_string();
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        best(|| {
            let mut c = tazhost();
            c.args(["secrets", "audit", &repo, "--archive", &b.s("audit.taz")])
                .args(["--passphrase-file", &b.s("pass")])
                .args(&extra);
            c
        })
    };
    let tree = time(&["--no-history"]);
    let all = time(&[]);
    println!("secrets audit, {files} files ({mib:.0} MiB) in one commit:");
    println!(
        "  working tree only {:.2} s ({:.0} MiB/s); with history {:.2} s",
        tree.as_secs_f64(),
        mib / tree.as_secs_f64(),
        all.as_secs_f64()
    );
    std::fs::remove_dir_all(&repo).unwrap();
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mib = mib_env("TAZHOST_BENCH_MIB", 256);
    let big = mib_env("TAZHOST_BENCH_BIG_MIB", 1024);
    let dir = tempfile::Builder::new()
        .prefix("tazhost-bench-")
        .tempdir_in(std::env::var_os("TAZHOST_BENCH_DIR").unwrap_or_else(|| "/var/tmp".into()))
        .unwrap();
    let b = Bench { dir };
    std::fs::write(b.p("pass"), "bench passphrase, not a secret").unwrap();
    open_vs_age(&b, mib);
    s3_vs_aws(&b, mib);
    audit_speed(&b, 10_000);
    rss_streaming(&b, 64, big);
}
