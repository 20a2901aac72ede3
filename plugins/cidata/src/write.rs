//! Writing an image: validation, name mapping, layout and serialisation.

use std::collections::BTreeSet;

use crate::layout::{
    ESCAPES, FIRST_DESCRIPTOR, FLAG_DIRECTORY, RECORD_FIXED, ROOT_RECORD, STANDARD_ID,
    TYPE_PRIMARY, TYPE_SUPPLEMENTARY, TYPE_TERMINATOR, VOLUME_ID,
};
use crate::{
    CidataError, MAX_FILE_SIZE, MAX_FILES, MAX_LABEL_LEN, MAX_NAME_LEN, SECTOR_SIZE, TIMESTAMP,
};

/// Sectors 19–22 hold the path tables: primary L and M, then Joliet L and M.
const PATH_TABLES: u32 = FIRST_DESCRIPTOR + 3;
/// The primary root directory starts after the four path-table sectors.
const FIRST_DIRECTORY: u32 = PATH_TABLES + 4;
/// A path table with only the root: 8 fixed bytes, a 1-byte identifier, 1 byte of padding.
const PATH_TABLE_SIZE: u32 = 10;
/// The Joliet escape sequence we write: UCS-2 level 3.
const JOLIET_ESCAPE: &[u8; 3] = b"%/E";

/// Builds an ISO 9660 image with a Joliet tree whose root holds `files` (name, content),
/// labelled `volume_label`. The output is deterministic: equal input, equal bytes.
///
/// The label is written as given to the primary volume identifier and, in UCS-2, to the
/// Joliet one; names go to the Joliet directory as given and to the primary directory as
/// unique ISO 9660 level 1 names (`user-data` becomes `USER_DAT.;1`). See the crate
/// documentation for the layout and the limits.
///
/// # Errors
///
/// [`CidataError::InvalidLabel`], [`CidataError::InvalidFileName`],
/// [`CidataError::DuplicateFileName`], [`CidataError::FileTooLarge`] or
/// [`CidataError::TooManyFiles`] when the input breaks a limit.
pub fn build(volume_label: &str, files: &[(&str, &[u8])]) -> Result<Vec<u8>, CidataError> {
    check_label(volume_label)?;
    check_files(files)?;

    let primary_names = primary_names(files.iter().map(|(name, _)| *name));
    let mut primary: Vec<Entry> = files
        .iter()
        .zip(primary_names)
        .enumerate()
        .map(|(index, (_, (stem, ext)))| Entry {
            identifier: format!("{stem}.{ext};1").into_bytes(),
            sort_key: (stem.into_bytes(), ext.into_bytes()),
            file: index,
        })
        .collect();
    let mut joliet: Vec<Entry> = files
        .iter()
        .enumerate()
        .map(|(index, (name, _))| {
            let identifier = ucs2(name);
            Entry {
                sort_key: (identifier.clone(), Vec::new()),
                identifier,
                file: index,
            }
        })
        .collect();
    // ECMA-119 9.3: records ordered by name, then extension. For our character sets,
    // padding the shorter one with spaces orders like plain byte comparison.
    primary.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
    joliet.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));

    // Directory sizes do not depend on extents, so lay them out with placeholders first.
    let primary_sectors = sectors(directory(&primary, &[], 0).len());
    let joliet_sectors = sectors(directory(&joliet, &[], 0).len());
    let primary_root = FIRST_DIRECTORY;
    let joliet_root = primary_root + primary_sectors;

    // File data, each file on sectors of its own; empty files point at sector 0.
    let mut next = joliet_root + joliet_sectors;
    let mut placements = Vec::with_capacity(files.len());
    for (_, content) in files {
        let size = content.len() as u32;
        if content.is_empty() {
            placements.push((0, size));
        } else {
            placements.push((next, size));
            next += sectors(content.len());
        }
    }
    let total_sectors = next;

    let mut image = vec![0u8; total_sectors as usize * SECTOR_SIZE];
    let primary_dir = directory(&primary, &placements, primary_root);
    let joliet_dir = directory(&joliet, &placements, joliet_root);
    let descriptors = [
        volume_descriptor(
            false,
            volume_label,
            primary_root,
            &primary_dir,
            total_sectors,
        ),
        volume_descriptor(true, volume_label, joliet_root, &joliet_dir, total_sectors),
        terminator(),
    ];
    for (index, descriptor) in (0..).zip(&descriptors) {
        put(&mut image, FIRST_DESCRIPTOR + index, descriptor);
    }
    put(&mut image, PATH_TABLES, &path_table(primary_root, false));
    put(&mut image, PATH_TABLES + 1, &path_table(primary_root, true));
    put(&mut image, PATH_TABLES + 2, &path_table(joliet_root, false));
    put(&mut image, PATH_TABLES + 3, &path_table(joliet_root, true));
    put(&mut image, primary_root, &primary_dir);
    put(&mut image, joliet_root, &joliet_dir);
    for ((_, content), (extent, _)) in files.iter().zip(&placements) {
        if !content.is_empty() {
            put(&mut image, *extent, content);
        }
    }
    Ok(image)
}

/// One file's directory record in one of the two trees.
struct Entry {
    /// The file identifier as written (`USER_DAT.;1`, or UCS-2 BE `user-data`).
    identifier: Vec<u8>,
    /// Ordering key: (name, extension).
    sort_key: (Vec<u8>, Vec<u8>),
    /// Index into the caller's `files`.
    file: usize,
}

/// Refuses labels that are empty, too long or not made of `A–Z a–z 0–9 _`.
fn check_label(label: &str) -> Result<(), CidataError> {
    let valid = !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(CidataError::InvalidLabel(label.to_owned()))
    }
}

/// Refuses too many files, bad or duplicate (case-insensitively) names, too large files.
fn check_files(files: &[(&str, &[u8])]) -> Result<(), CidataError> {
    if files.len() > MAX_FILES {
        return Err(CidataError::TooManyFiles(files.len()));
    }
    let mut seen = BTreeSet::new();
    for (name, content) in files {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && *name != "."
            && *name != ".."
            && !name.ends_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !valid {
            return Err(CidataError::InvalidFileName((*name).to_owned()));
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(CidataError::DuplicateFileName((*name).to_owned()));
        }
        if content.len() > MAX_FILE_SIZE {
            return Err(CidataError::FileTooLarge {
                name: (*name).to_owned(),
                size: content.len(),
            });
        }
    }
    Ok(())
}

/// Unique ISO 9660 level 1 (8.3, d-characters) names for `names`, as (stem, extension):
/// upper case, other characters as `_`, the extension after the last dot; on a clash the
/// stem's tail is replaced by a number (`USER_DA1`).
fn primary_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    fn map(part: &str, max: usize) -> String {
        part.chars()
            .take(max)
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    }
    let mut used = BTreeSet::new();
    names
        .map(|name| {
            let (stem, ext) = match name.rfind('.') {
                Some(dot) if dot > 0 => (&name[..dot], &name[dot + 1..]),
                _ => (name, ""),
            };
            let (stem, ext) = (map(stem, 8), map(ext, 3));
            let mut candidate = stem.clone();
            let mut counter = 0u32;
            while !used.insert((candidate.clone(), ext.clone())) {
                counter += 1;
                let suffix = counter.to_string();
                let keep = stem.len().min(8 - suffix.len());
                candidate = format!("{}{suffix}", &stem[..keep]);
            }
            (candidate, ext)
        })
        .collect()
}

/// `text` in UCS-2 big-endian (our names and labels are ASCII, so UTF-16 is UCS-2).
fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Number of sectors `bytes` occupy.
fn sectors(bytes: usize) -> u32 {
    bytes.div_ceil(SECTOR_SIZE) as u32
}

/// Copies `data` into `image` at the start of `sector`.
fn put(image: &mut [u8], sector: u32, data: &[u8]) {
    let start = sector as usize * SECTOR_SIZE;
    image[start..start + data.len()].copy_from_slice(data);
}

/// `value` in both byte orders (ECMA-119 7.2.3 for 16 bits, 7.3.3 for 32 bits).
fn both16(value: u16) -> [u8; 4] {
    let (le, be) = (value.to_le_bytes(), value.to_be_bytes());
    [le[0], le[1], be[0], be[1]]
}

fn both32(value: u32) -> [u8; 8] {
    let mut out = [0; 8];
    out[..4].copy_from_slice(&value.to_le_bytes());
    out[4..].copy_from_slice(&value.to_be_bytes());
    out
}

/// The 7-byte recording date of a directory record (ECMA-119 9.1.5), UTC.
fn record_date() -> [u8; 7] {
    let (year, month, day, hour, minute, second) = TIMESTAMP;
    [(year - 1900) as u8, month, day, hour, minute, second, 0]
}

/// The 17-byte date of a volume descriptor (ECMA-119 8.4.26.1), UTC.
fn descriptor_date() -> [u8; 17] {
    let (year, month, day, hour, minute, second) = TIMESTAMP;
    let digits = format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}00");
    let mut out = [0; 17];
    out[..16].copy_from_slice(digits.as_bytes());
    out
}

/// The "date not specified" form: sixteen `0` digits and a zero offset.
fn no_date() -> [u8; 17] {
    let mut out = [0; 17];
    out[..16].fill(b'0');
    out
}

/// One directory record (ECMA-119 9.1): `identifier` names an extent of `size` bytes.
fn record(identifier: &[u8], extent: u32, size: u32, flags: u8) -> Vec<u8> {
    // The record length must be even: pad after an even-length identifier.
    let padding = usize::from(identifier.len().is_multiple_of(2));
    let length = RECORD_FIXED + identifier.len() + padding;
    let mut out = Vec::with_capacity(length);
    out.push(length as u8);
    out.push(0); // extended attribute record length
    out.extend_from_slice(&both32(extent));
    out.extend_from_slice(&both32(size));
    out.extend_from_slice(&record_date());
    out.push(flags);
    out.push(0); // file unit size
    out.push(0); // interleave gap size
    out.extend_from_slice(&both16(1)); // volume sequence number
    out.push(identifier.len() as u8);
    out.extend_from_slice(identifier);
    out.resize(length, 0);
    out
}

/// The root directory at sector `root`: `.`, `..`, then `entries`, whose data is at
/// `placements[entry.file]` as (extent, size); without placements (the sizing pass) both are
/// zero. Records never cross a sector boundary; the result is whole sectors.
fn directory(entries: &[Entry], placements: &[(u32, u32)], root: u32) -> Vec<u8> {
    let file_records: Vec<Vec<u8>> = entries
        .iter()
        .map(|entry| {
            let (extent, size) = placements.get(entry.file).copied().unwrap_or((0, 0));
            record(&entry.identifier, extent, size, 0)
        })
        .collect();
    // `.` and `..` (the root is its own parent) carry the directory's own size.
    let lay_out = |own_size: u32| {
        let dots = [
            record(&[0], root, own_size, FLAG_DIRECTORY),
            record(&[1], root, own_size, FLAG_DIRECTORY),
        ];
        let mut out = Vec::new();
        for r in dots.iter().chain(&file_records) {
            let used = out.len() % SECTOR_SIZE;
            if used + r.len() > SECTOR_SIZE {
                out.resize(out.len() + SECTOR_SIZE - used, 0);
            }
            out.extend_from_slice(r);
        }
        out.resize(sectors(out.len()) as usize * SECTOR_SIZE, 0);
        out
    };
    let own_size = lay_out(0).len() as u32;
    lay_out(own_size)
}

/// A Primary (or, with `joliet`, a Joliet Supplementary) Volume Descriptor (ECMA-119 8.4/8.5).
fn volume_descriptor(
    joliet: bool,
    label: &str,
    root: u32,
    root_dir: &[u8],
    total_sectors: u32,
) -> [u8; SECTOR_SIZE] {
    let mut vd = [0u8; SECTOR_SIZE];
    // Text fields: spaces, or UCS-2 spaces in the Joliet descriptor.
    let text = |field: &mut [u8], value: &str| {
        let encoded = if joliet {
            ucs2(value)
        } else {
            value.as_bytes().to_vec()
        };
        for (i, byte) in field.iter_mut().enumerate() {
            *byte = match encoded.get(i) {
                Some(&b) => b,
                // UCS-2 space is 0x00 0x20; `encoded` has an even length.
                None if joliet && i % 2 == 0 => 0,
                None => b' ',
            };
        }
    };
    vd[0] = if joliet {
        TYPE_SUPPLEMENTARY
    } else {
        TYPE_PRIMARY
    };
    vd[1..6].copy_from_slice(STANDARD_ID);
    vd[6] = 1; // version
    text(&mut vd[8..40], ""); // system identifier
    text(&mut vd[VOLUME_ID..VOLUME_ID + 32], label);
    vd[80..88].copy_from_slice(&both32(total_sectors));
    if joliet {
        vd[ESCAPES..ESCAPES + 3].copy_from_slice(JOLIET_ESCAPE);
    }
    vd[120..124].copy_from_slice(&both16(1)); // volume set size
    vd[124..128].copy_from_slice(&both16(1)); // volume sequence number
    vd[128..132].copy_from_slice(&both16(SECTOR_SIZE as u16));
    vd[132..140].copy_from_slice(&both32(PATH_TABLE_SIZE));
    let tables = if joliet { PATH_TABLES + 2 } else { PATH_TABLES };
    vd[140..144].copy_from_slice(&tables.to_le_bytes());
    vd[148..152].copy_from_slice(&(tables + 1).to_be_bytes());
    let root_record = record(&[0], root, root_dir.len() as u32, FLAG_DIRECTORY);
    vd[ROOT_RECORD..ROOT_RECORD + root_record.len()].copy_from_slice(&root_record);
    // Volume set, publisher, data preparer, application (128 each); copyright, abstract,
    // bibliographic file identifiers (37 each).
    for (start, len) in [
        (190, 128),
        (318, 128),
        (446, 128),
        (574, 128),
        (702, 37),
        (739, 37),
        (776, 37),
    ] {
        text(&mut vd[start..start + len], "");
    }
    vd[813..830].copy_from_slice(&descriptor_date()); // creation
    vd[830..847].copy_from_slice(&descriptor_date()); // modification
    vd[847..864].copy_from_slice(&no_date()); // expiration
    vd[864..881].copy_from_slice(&no_date()); // effective
    vd[881] = 1; // file structure version
    vd
}

/// The Volume Descriptor Set Terminator (ECMA-119 8.3).
fn terminator() -> [u8; SECTOR_SIZE] {
    let mut vd = [0u8; SECTOR_SIZE];
    vd[0] = TYPE_TERMINATOR;
    vd[1..6].copy_from_slice(STANDARD_ID);
    vd[6] = 1;
    vd
}

/// A path table holding only the root directory (ECMA-119 9.4), type L or (`big_endian`) M.
fn path_table(root: u32, big_endian: bool) -> Vec<u8> {
    let mut out = vec![1, 0]; // identifier length, extended attribute record length
    if big_endian {
        out.extend_from_slice(&root.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // parent directory number
    } else {
        out.extend_from_slice(&root.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
    }
    out.extend_from_slice(&[0, 0]); // root identifier and padding
    debug_assert_eq!(out.len(), PATH_TABLE_SIZE as usize);
    out
}
