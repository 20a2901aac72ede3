//! Property tests for everything that reads untrusted archive bytes: for any input, opening
//! returns a value or an error and never panics, loops or allocates beyond its limits; and
//! whatever opens is inside the folder. Inputs are valid archives mutated at random (bit
//! flips, cuts, insertions, spliced chunks), tars mutated the same way, and plain garbage.
//!
//! The seed is fixed so a failure reproduces; `TAZHOST_FUZZ_ITERATIONS` runs longer.

use super::stream::{Opening, TAG_LEN, Trickle};
use super::{FolderLimits, KdfParams, folder, header::HEADER_LEN};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn iterations(default: usize) -> usize {
    std::env::var("TAZHOST_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sample_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("vault")).unwrap();
    std::fs::write(dir.path().join("vault/unseal-1"), "key one value").unwrap();
    std::fs::write(dir.path().join("token"), vec![b'x'; 70_000]).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("vault/unseal-1", dir.path().join("first")).unwrap();
    dir
}

/// One random change. Bytes 12..24 (the Argon2id parameters) are left alone so a mutation
/// cannot turn each try into seconds of key derivation; the header tests cover those bytes.
fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    let pick = |rng: &mut StdRng, len: usize| {
        let mut at = rng.random_range(0..len.max(1));
        while (12..24).contains(&at) && len > 24 {
            at = rng.random_range(0..len);
        }
        at
    };
    for _ in 0..rng.random_range(1..4) {
        if bytes.is_empty() {
            bytes.push(rng.random());
            continue;
        }
        match rng.random_range(0..6) {
            0 => {
                let at = pick(rng, bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let at = pick(rng, bytes.len());
                bytes[at] = rng.random();
            }
            2 => bytes.truncate(rng.random_range(0..bytes.len())),
            3 => {
                let at = rng.random_range(0..=bytes.len());
                let junk: Vec<u8> = (0..rng.random_range(1..600))
                    .map(|_| rng.random())
                    .collect();
                bytes.splice(at..at, junk);
            }
            4 => {
                // Copy a span over another (a spliced or duplicated chunk).
                let from = rng.random_range(0..bytes.len());
                let len = rng.random_range(1..=(bytes.len() - from).min(70_000));
                let span = bytes[from..from + len].to_vec();
                let to = rng.random_range(0..=bytes.len());
                bytes.splice(to..(to + len).min(bytes.len()), span);
            }
            _ => {
                let at = rng.random_range(0..bytes.len());
                let end = (at + rng.random_range(1..2000)).min(bytes.len());
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

#[test]
fn mutated_archives_never_panic_and_never_open_to_something_else() {
    let dir = sample_folder();
    let sealed = super::seal_folder(dir.path(), b"pw", KdfParams::insecure_fast()).unwrap();
    assert!(super::open(&sealed, b"pw", &FolderLimits::default()).is_ok());
    let mut rng = StdRng::seed_from_u64(0x7a5_0001);
    let mut tried = 0;
    for _ in 0..iterations(1500) {
        let bad = mutate(&mut rng, &sealed);
        if bad == sealed || !bad.starts_with(super::header::MAGIC) {
            continue; // the legacy reader (PBKDF2, slow) has its own test below
        }
        tried += 1;
        // In memory...
        assert!(
            super::open(&bad, b"pw", &FolderLimits::default()).is_err(),
            "a changed archive opened"
        );
        // ...and streaming, one byte at a time.
        if let Ok(opening) = Opening::start(Trickle(&bad))
            && let Ok(keys) = opening.unlock(b"pw")
        {
            let limits = FolderLimits::default();
            let result = folder::read(opening.decrypt(&keys), &limits, folder::Contents::Keep);
            assert!(result.is_err(), "a changed archive opened while streaming");
        }
    }
    assert!(tried > 1000, "most mutations keep the magic: {tried}");
}

#[test]
fn garbage_never_panics_in_either_reader() {
    let mut rng = StdRng::seed_from_u64(0x7a5_0002);
    for i in 0..iterations(300) {
        let len = rng.random_range(0..3 * (HEADER_LEN + TAG_LEN));
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if i % 2 == 0 && bytes.len() >= 8 {
            bytes[..8].copy_from_slice(super::header::MAGIC);
        }
        // Legacy garbage costs a PBKDF2 run each: try only some.
        if bytes.starts_with(super::header::MAGIC) || i % 10 == 1 {
            assert!(super::open(&bytes, b"pw", &FolderLimits::default()).is_err());
        }
    }
}

#[test]
fn mutated_tars_never_panic_and_never_escape() {
    let dir = sample_folder();
    let tar = folder::pack(dir.path()).unwrap();
    let mut rng = StdRng::seed_from_u64(0x7a5_0003);
    let limits = FolderLimits {
        max_total_bytes: 1 << 20,
        max_entries: 100,
    };
    for _ in 0..iterations(3000) {
        let bad = mutate(&mut rng, &tar);
        if let Ok(folder) = folder::unpack(&bad, &limits) {
            for name in folder
                .files
                .keys()
                .chain(folder.dirs.keys())
                .chain(folder.symlinks.keys())
            {
                assert!(
                    !name.starts_with('/') && !name.split('/').any(|p| p == ".."),
                    "{name}"
                );
            }
            let total: u64 = folder.files.values().map(|f| f.size()).sum();
            assert!(total <= limits.max_total_bytes);
        }
    }
}

#[test]
fn random_folders_round_trip() {
    let mut rng = StdRng::seed_from_u64(0x7a5_0004);
    for _ in 0..iterations(20) {
        let dir = tempfile::tempdir().unwrap();
        let mut want = std::collections::BTreeMap::new();
        for f in 0..rng.random_range(0..6) {
            let len = [0, 1, 4095, 65_536, 65_537, 200_000][rng.random_range(0..6)];
            let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let name = format!("f{f}");
            std::fs::write(dir.path().join(&name), &data).unwrap();
            want.insert(name, data);
        }
        let sealed = super::seal_folder(dir.path(), b"pw", KdfParams::insecure_fast()).unwrap();
        let got = super::open(&sealed, b"pw", &FolderLimits::default()).unwrap();
        assert_eq!(got.files.len(), want.len());
        for (name, data) in &want {
            assert!(got.get(name).unwrap().data() == &data[..], "{name}");
        }
    }
}
