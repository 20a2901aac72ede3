//! Unit tests: round trips, layout facts Talos depends on, limits, and hostile input.

use super::*;

/// Deterministic pseudo-random bytes (xorshift64), so tests need no dependencies.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn sector(image: &[u8], n: usize) -> &[u8] {
    &image[n * SECTOR_SIZE..(n + 1) * SECTOR_SIZE]
}

fn ucs2_padded(text: &str, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    while out.len() < len {
        out.extend_from_slice(&[0, b' ']);
    }
    out
}

#[test]
fn nocloud_round_trip() {
    let user_data = b"version: v1alpha1\nmachine:\n  type: controlplane\n";
    let meta_data = b"instance-id: vm-101\nlocal-hostname: cp-1\n";
    let image = nocloud(user_data, meta_data).unwrap();
    assert_eq!(image.len() % SECTOR_SIZE, 0);

    let cidata = read(&image).unwrap();
    assert_eq!(cidata.label, "cidata");
    assert_eq!(cidata.primary_label, "cidata");
    assert!(cidata.joliet);
    assert_eq!(cidata.files.len(), 2);
    assert_eq!(cidata.file(USER_DATA), Some(&user_data[..]));
    assert_eq!(cidata.file(META_DATA), Some(&meta_data[..]));
    assert_eq!(cidata.file(NETWORK_CONFIG), None);
}

#[test]
fn sizes_across_sectors_round_trip() {
    let sizes = [0, 1, 2047, 2048, 2049, 4096, 100 * 1024, 100 * 1024 + 7];
    let contents: Vec<Vec<u8>> = (0..)
        .zip(sizes)
        .map(|(seed, size)| noise(seed, size))
        .collect();
    let names: Vec<String> = sizes
        .iter()
        .map(|size| format!("file-{size}.bin"))
        .collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&contents)
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let image = build("cidata", &files).unwrap();

    let data: usize = sizes.iter().map(|s| s.div_ceil(SECTOR_SIZE)).sum();
    // 23 sectors of system area, descriptors and path tables, one sector per directory.
    assert_eq!(image.len(), (23 + 2 + data) * SECTOR_SIZE);
    let cidata = read(&image).unwrap();
    assert_eq!(cidata.files.len(), files.len());
    for (name, content) in &files {
        assert_eq!(cidata.file(name), Some(*content), "{name}");
    }
}

#[test]
fn network_config_and_empty_file() {
    let image = build(
        LABEL,
        &[
            (USER_DATA, b"machine: {}\n"),
            (META_DATA, b""),
            (NETWORK_CONFIG, b"version: 1\n"),
        ],
    )
    .unwrap();
    let cidata = read(&image).unwrap();
    assert_eq!(cidata.file(META_DATA), Some(&b""[..]));
    assert_eq!(cidata.file(NETWORK_CONFIG), Some(&b"version: 1\n"[..]));
}

#[test]
fn no_files_at_all() {
    let cidata = read(&build("cidata", &[]).unwrap()).unwrap();
    assert!(cidata.files.is_empty());
    assert_eq!(cidata.label, "cidata");
}

#[test]
fn output_is_deterministic() {
    let a = nocloud(b"a", b"b").unwrap();
    let b = nocloud(b"a", b"b").unwrap();
    assert_eq!(a, b);
    // Input order does not matter either: directories are sorted.
    let c = build(LABEL, &[(META_DATA, b"b"), (USER_DATA, b"a")]).unwrap();
    let d = build(LABEL, &[(USER_DATA, b"a"), (META_DATA, b"b")]).unwrap();
    assert_eq!(read(&c).unwrap(), read(&d).unwrap());
}

#[test]
fn descriptor_layout_matches_what_talos_probes() {
    let image = nocloud(b"config", b"meta").unwrap();
    assert!(image[..16 * SECTOR_SIZE].iter().all(|&b| b == 0));

    // Earlier Talos (go-blockdevice v1) reads the PVD at 0x8000 and compares its volume
    // identifier, trimmed of spaces and NULs, with "cidata".
    let pvd = sector(&image, 16);
    assert_eq!(&pvd[..7], b"\x01CD001\x01");
    assert_eq!(&pvd[40..72], format!("{:<32}", "cidata").as_bytes());
    let total = (image.len() / SECTOR_SIZE) as u32;
    assert_eq!(&pvd[80..84], total.to_le_bytes());
    assert_eq!(&pvd[84..88], total.to_be_bytes());

    // Current Talos (go-blockdevice v2) takes the label from the SVD as UTF-16 BE: it must be
    // real UCS-2, padded with UCS-2 spaces (NUL padding broke Talos 1.12.0-1.12.6).
    let svd = sector(&image, 17);
    assert_eq!(&svd[..7], b"\x02CD001\x01");
    assert_eq!(&svd[88..91], b"%/E");
    assert_eq!(svd[40..72], ucs2_padded("cidata", 32)[..]);

    let terminator = sector(&image, 18);
    assert_eq!(&terminator[..7], b"\xffCD001\x01");

    // Path tables: L and M for the primary tree (19, 20), then for Joliet (21, 22).
    assert_eq!(&pvd[132..140], [10, 0, 0, 0, 0, 0, 0, 10]);
    assert_eq!(&pvd[140..144], 19u32.to_le_bytes());
    assert_eq!(&pvd[148..152], 20u32.to_be_bytes());
    assert_eq!(&svd[140..144], 21u32.to_le_bytes());
    assert_eq!(&svd[148..152], 22u32.to_be_bytes());
    assert_eq!(&sector(&image, 19)[..10], [1, 0, 23, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(&sector(&image, 20)[..10], [1, 0, 0, 0, 0, 23, 0, 1, 0, 0]);
    assert_eq!(&sector(&image, 21)[..10], [1, 0, 24, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(&sector(&image, 22)[..10], [1, 0, 0, 0, 0, 24, 0, 1, 0, 0]);
}

#[test]
fn primary_tree_has_level_1_names_and_is_the_fallback() {
    let mut image = build(
        LABEL,
        &[
            (USER_DATA, b"u"),
            (META_DATA, b"m"),
            (NETWORK_CONFIG, b"n"),
            ("user-data-2", b"u2"),
            ("a.tar.gz", b"t"),
        ],
    )
    .unwrap();
    let primary_dir = sector(&image, 23);
    for id in [
        "USER_DAT.;1",
        "META_DAT.;1",
        "NETWORK_.;1",
        "USER_DA1.;1",
        "A_TAR.GZ;1",
    ] {
        assert!(
            primary_dir.windows(id.len()).any(|w| w == id.as_bytes()),
            "{id} missing"
        );
    }

    // Without the Joliet descriptor (turned into a terminator), names come from the primary
    // tree the way Linux maps them by default.
    image[17 * SECTOR_SIZE] = 0xff;
    let cidata = read(&image).unwrap();
    assert!(!cidata.joliet);
    assert_eq!(cidata.label, "cidata");
    let names: Vec<&str> = cidata.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["a_tar.gz", "meta_dat", "network_", "user_da1", "user_dat"]
    );
    assert_eq!(cidata.file("user_da1"), Some(&b"u2"[..]));
}

#[test]
fn upper_case_label_is_kept() {
    let image = build("CIDATA", &[(USER_DATA, b"x")]).unwrap();
    let cidata = read(&image).unwrap();
    assert_eq!(
        (cidata.label.as_str(), cidata.primary_label.as_str()),
        ("CIDATA", "CIDATA")
    );
}

#[test]
fn bad_labels_are_refused() {
    for label in ["", "ci-data", "cidätä", "with space", "seventeen_chars_x"] {
        assert_eq!(
            build(label, &[]),
            Err(CidataError::InvalidLabel(label.to_owned())),
            "{label:?}"
        );
    }
    assert!(build("sixteen_chars_xx", &[]).is_ok());
}

#[test]
fn bad_names_are_refused() {
    let long = "x".repeat(MAX_NAME_LEN + 1);
    for name in [
        "",
        ".",
        "..",
        "a/b",
        "a;1",
        "foo.",
        "sp ace",
        "ümlaut",
        "a\\b",
        long.as_str(),
    ] {
        assert_eq!(
            build(LABEL, &[(name, b"")]),
            Err(CidataError::InvalidFileName(name.to_owned())),
            "{name:?}"
        );
    }
    let longest = "x".repeat(MAX_NAME_LEN);
    let cidata = read(&build(LABEL, &[(&longest, b"ok"), (".hidden", b"h")]).unwrap()).unwrap();
    assert_eq!(cidata.file(&longest), Some(&b"ok"[..]));
    assert_eq!(cidata.file(".hidden"), Some(&b"h"[..]));
}

#[test]
fn duplicate_names_are_refused_case_insensitively() {
    assert_eq!(
        build(LABEL, &[(USER_DATA, b"a"), (USER_DATA, b"b")]),
        Err(CidataError::DuplicateFileName(USER_DATA.to_owned()))
    );
    assert_eq!(
        build(LABEL, &[(USER_DATA, b"a"), ("User-Data", b"b")]),
        Err(CidataError::DuplicateFileName("User-Data".to_owned()))
    );
}

#[test]
fn size_and_count_limits() {
    let big = vec![0u8; MAX_FILE_SIZE + 1];
    assert_eq!(
        build(LABEL, &[(USER_DATA, &big)]),
        Err(CidataError::FileTooLarge {
            name: USER_DATA.to_owned(),
            size: MAX_FILE_SIZE + 1
        })
    );
    let image = build(LABEL, &[(USER_DATA, &big[1..])]).unwrap();
    assert_eq!(
        read(&image).unwrap().file(USER_DATA).map(<[u8]>::len),
        Some(MAX_FILE_SIZE)
    );

    let names: Vec<String> = (0..=MAX_FILES).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    assert_eq!(
        build(LABEL, &files),
        Err(CidataError::TooManyFiles(MAX_FILES + 1))
    );
    let cidata = read(&build(LABEL, &files[..MAX_FILES]).unwrap()).unwrap();
    assert_eq!(cidata.files.len(), MAX_FILES);
}

#[test]
fn many_long_names_spill_directories_over_several_sectors() {
    let names: Vec<String> = (0..MAX_FILES)
        .map(|i| format!("{i:02}-{}", "n".repeat(MAX_NAME_LEN - 3)))
        .collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), n.as_bytes())).collect();
    let image = build(LABEL, &files).unwrap();
    // 64 Joliet records of 162 bytes: the Joliet root takes 6 sectors.
    let svd = sector(&image, 17);
    assert_eq!(&svd[166..170], (6 * SECTOR_SIZE as u32).to_le_bytes());
    let cidata = read(&image).unwrap();
    assert_eq!(cidata.files.len(), MAX_FILES);
    for name in &names {
        assert_eq!(cidata.file(name), Some(name.as_bytes()));
    }
}

#[test]
fn errors_display() {
    let message = CidataError::FileTooLarge {
        name: "user-data".into(),
        size: 5,
    }
    .to_string();
    assert!(
        message.contains("user-data") && message.contains('5'),
        "{message}"
    );
    let error: Box<dyn std::error::Error> = Box::new(CidataError::Malformed("truncated"));
    assert_eq!(error.to_string(), "malformed ISO 9660 image: truncated");
}

#[test]
fn truncated_images_never_read_wrong() {
    let image = nocloud(&noise(1, 5000), b"instance-id: x\n").unwrap();
    let full = read(&image).unwrap();
    // Sectors 0-24 hold descriptors and directories, then user-data (3 sectors), then
    // meta-data, whose 15 bytes end the needed part.
    let needed = 28 * SECTOR_SIZE + 15;
    for len in 0..image.len() {
        match read(&image[..len]) {
            Ok(cidata) => {
                assert!(len >= needed, "length {len} read");
                assert_eq!(cidata, full);
            }
            Err(_) => assert!(len < needed, "length {len} refused"),
        }
    }
}

#[test]
fn flipped_bits_never_panic() {
    let image = build(
        LABEL,
        &[
            (USER_DATA, &noise(2, 3000)[..]),
            (META_DATA, b"m"),
            (NETWORK_CONFIG, b""),
        ],
    )
    .unwrap();
    // Every bit of the descriptors, path tables and directories (sectors 16..25).
    let mut copy = image.clone();
    for offset in 16 * SECTOR_SIZE..25 * SECTOR_SIZE {
        for bit in 0..8 {
            copy[offset] ^= 1 << bit;
            let _ = read(&copy);
            copy[offset] ^= 1 << bit;
        }
    }
    // Whole garbage bytes anywhere, several at a time.
    let random = noise(3, 40_000);
    for chunk in random.chunks(8) {
        let mut copy = image.clone();
        for pair in chunk.chunks(2) {
            let offset = (usize::from(pair[0]) << 8 | usize::from(pair[1])) * 7 % image.len();
            copy[offset] = pair[0] ^ pair[1];
        }
        let _ = read(&copy);
    }
    assert!(read(&noise(4, 64 * SECTOR_SIZE)).is_err());
}

#[test]
fn hostile_records_are_rejected() {
    let image = nocloud(b"user", b"meta").unwrap();
    let joliet_dir = 24 * SECTOR_SIZE;
    // The third record of the Joliet root is the first file: `meta-data`.
    let first = joliet_dir + 34 + 34;
    let set_both32 = |image: &mut Vec<u8>, offset: usize, value: u32| {
        image[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
        image[offset + 4..offset + 8].copy_from_slice(&value.to_be_bytes());
    };

    let mut beyond = image.clone();
    set_both32(&mut beyond, first + 2, u32::MAX);
    assert_eq!(
        read(&beyond),
        Err(CidataError::Malformed("extent beyond the image"))
    );

    let mut huge = image.clone();
    set_both32(&mut huge, first + 10, u32::MAX);
    assert!(read(&huge).is_err());

    let mut disagree = image.clone();
    disagree[first + 2] ^= 1;
    assert_eq!(
        read(&disagree),
        Err(CidataError::Malformed("both-endian numbers disagree"))
    );

    // A root directory as large as the image, and files that all point at the whole image:
    // their sizes add up to more than the image, which must be refused, not allocated.
    let mut amplified = image.clone();
    let whole = amplified.len() as u32;
    set_both32(&mut amplified, first + 2, 0);
    set_both32(&mut amplified, first + 10, whole);
    let second = first + usize::from(amplified[first]);
    set_both32(&mut amplified, second + 2, 0);
    set_both32(&mut amplified, second + 10, whole);
    assert_eq!(
        read(&amplified),
        Err(CidataError::Malformed(
            "files add up to more than the image"
        ))
    );

    let mut short = image.clone();
    short[first] = 20;
    assert_eq!(
        read(&short),
        Err(CidataError::Malformed("directory record length"))
    );

    let mut no_primary = image.clone();
    no_primary[16 * SECTOR_SIZE] = 3;
    assert_eq!(
        read(&no_primary),
        Err(CidataError::Malformed("no primary volume descriptor"))
    );

    let mut block_size = image;
    block_size[16 * SECTOR_SIZE + 128..16 * SECTOR_SIZE + 132].copy_from_slice(&[0, 2, 2, 0]);
    assert_eq!(
        read(&block_size),
        Err(CidataError::Unsupported(
            "logical block size other than 2048"
        ))
    );
}

#[test]
fn mojibake_joliet_label_is_reported_as_is() {
    // go-diskfs 1.9.2 wrote the Joliet volume identifier as raw ASCII: current Talos then sees
    // CJK characters, not "cidata". `read` reports the label the same way.
    let mut image = nocloud(b"u", b"m").unwrap();
    let at = 17 * SECTOR_SIZE + 40;
    image[at..at + 32].copy_from_slice(format!("{:<32}", "cidata").as_bytes());
    let cidata = read(&image).unwrap();
    assert_eq!(cidata.primary_label, "cidata");
    assert_ne!(cidata.label, "cidata");
    assert_eq!(cidata.label.chars().next(), Some('\u{6369}'));
}
