//! Checks images against pycdlib, an independent ISO 9660 implementation, through
//! `tests/sdk/cidata_check.py`. Python comes from `$TAZHOST_PYTHON`, else from the workspace
//! venv (`.venv/bin/python`, with `tests/sdk/requirements.txt` installed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tazhost_cidata::{LABEL, META_DATA, NETWORK_CONFIG, USER_DATA, build, nocloud};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    std::env::var_os("TAZHOST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

/// A file in the system temp dir with a name unique to this process and call, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(content: &[u8]) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "tazhost-cidata-{}-{nanos}-{}.iso",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, content).expect("write temp image");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs the pycdlib check on `image` and returns its output lines.
fn pycdlib_check(image: &[u8]) -> Vec<String> {
    let file = TempFile::new(image);
    let script = workspace().join("tests/sdk/cidata_check.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(&file.0)
        .output()
        .unwrap_or_else(|e| panic!("running {} {}: {e}", python().display(), script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cidata_check.py failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

/// What the script should print for an image labelled `label` holding `files`
/// (Joliet name, ISO 9660 identifier, content), in the script's order.
fn expected(label: &str, files: &[(&str, &str, &[u8])]) -> Vec<String> {
    let mut lines = vec![
        format!("volume_identifier {label}"),
        format!("joliet_volume_identifier {label}"),
    ];
    let mut joliet: Vec<_> = files.iter().map(|(n, _, c)| (*n, *c)).collect();
    let mut primary: Vec<_> = files.iter().map(|(_, i, c)| (*i, *c)).collect();
    joliet.sort();
    primary.sort();
    for (kind, list) in [("joliet_file", joliet), ("iso9660_file", primary)] {
        for (name, content) in list {
            lines.push(format!(
                "{kind} {name} {} {}",
                content.len(),
                hex(&sha256(content))
            ));
        }
    }
    lines
}

#[test]
fn pycdlib_reads_nocloud_image() {
    let user_data = noise(100 * 1024 + 123);
    let meta_data = b"instance-id: vm-101\nlocal-hostname: cp-1\n";
    let image = nocloud(&user_data, meta_data).unwrap();
    assert_eq!(
        pycdlib_check(&image),
        expected(
            LABEL,
            &[
                (USER_DATA, "USER_DAT.;1", &user_data),
                (META_DATA, "META_DAT.;1", meta_data),
            ]
        )
    );
}

#[test]
fn pycdlib_reads_all_nocloud_files_an_empty_one_and_clashing_83_names() {
    let files: [(&str, &str, &[u8]); 5] = [
        (USER_DATA, "USER_DAT.;1", b"machine: {}\n"),
        (
            "user-data-2",
            "USER_DA1.;1",
            b"clashes with user-data in 8.3",
        ),
        (META_DATA, "META_DAT.;1", b""),
        (NETWORK_CONFIG, "NETWORK_.;1", b"version: 1\nconfig: []\n"),
        ("user-data.bak", "USER_DAT.BAK;1", &[0xA5; 2048]),
    ];
    let input: Vec<(&str, &[u8])> = files.iter().map(|(n, _, c)| (*n, *c)).collect();
    let image = build("CIDATA", &input).unwrap();
    assert_eq!(pycdlib_check(&image), expected("CIDATA", &files));
}

#[test]
fn sha256_known_answers() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(&[b'a'; 1000])),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
}

/// Deterministic pseudo-random bytes (xorshift64).
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4), small and slow; enough to compare with Python's hashlib without a
/// dependency (the crate has none).
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (state, value) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *state = state.wrapping_add(value);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
