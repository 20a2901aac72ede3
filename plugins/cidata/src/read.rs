//! Reading an image back, for tests and the fake Proxmox server. Every offset and length
//! comes from untrusted bytes, so all access goes through the checked helpers below; clippy
//! enforces that no indexing, unchecked arithmetic or unwrap can panic here.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;

use crate::layout::{
    BLOCK_SIZE, ESCAPES, FIRST_DESCRIPTOR, FLAG_ASSOCIATED, FLAG_DIRECTORY, FLAG_MULTI_EXTENT,
    JOLIET_ESCAPES, RECORD_FIXED, ROOT_RECORD, STANDARD_ID, TYPE_PRIMARY, TYPE_SUPPLEMENTARY,
    TYPE_TERMINATOR, VOLUME_ID,
};
use crate::{Cidata, CidataError, SECTOR_SIZE};

/// Most volume descriptors read before giving up on finding the terminator.
const MAX_DESCRIPTORS: u32 = 64;
/// Most root directory entries read.
const MAX_ENTRIES: usize = 4096;

use CidataError::{Malformed, Unsupported};

/// Reads a `cidata` image: its labels and the regular files of its root directory, named as
/// Linux shows them (Joliet names if there is a Joliet descriptor, else the primary names
/// lower-cased without `;1`). Rock Ridge entries are not interpreted.
///
/// # Errors
///
/// [`CidataError::Malformed`] for anything out of bounds or inconsistent (no terminator, no
/// primary descriptor, records crossing sectors, duplicate names, file data beyond the image
/// or adding up to more than the image size), [`CidataError::Unsupported`] for block sizes
/// other than 2048, multi-extent files and extended attribute records. Never panics.
pub fn read(image: &[u8]) -> Result<Cidata, CidataError> {
    let mut primary = None;
    let mut joliet = None;
    let mut terminated = false;
    for index in 0..MAX_DESCRIPTORS {
        let number = FIRST_DESCRIPTOR
            .checked_add(index)
            .ok_or(Malformed("descriptor number"))?;
        let vd = sector(image, number)?;
        if field(vd, 1, 5)? != STANDARD_ID {
            return Err(Malformed("volume descriptor without CD001"));
        }
        match byte(vd, 0)? {
            TYPE_TERMINATOR => {
                terminated = true;
                break;
            }
            TYPE_PRIMARY if primary.is_none() => primary = Some(vd),
            TYPE_SUPPLEMENTARY if joliet.is_none() && is_joliet(vd)? => joliet = Some(vd),
            _ => {}
        }
    }
    if !terminated {
        return Err(Malformed("no volume descriptor set terminator"));
    }
    let primary = primary.ok_or(Malformed("no primary volume descriptor"))?;
    for vd in [Some(primary), joliet].into_iter().flatten() {
        if both16(vd, BLOCK_SIZE)? != SECTOR_SIZE {
            return Err(Unsupported("logical block size other than 2048"));
        }
    }

    let primary_label = label(
        field(primary, VOLUME_ID, 32)?
            .iter()
            .map(|&b| char::from(b)),
    );
    let (label, tree) = match joliet {
        Some(vd) => {
            let units = field(vd, VOLUME_ID, 32)?
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([first(pair), second(pair)]));
            let decoded =
                char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER));
            (label(decoded), vd)
        }
        None => (primary_label.clone(), primary),
    };
    let files = root_files(image, field(tree, ROOT_RECORD, 34)?, joliet.is_some())?;
    Ok(Cidata {
        label,
        primary_label,
        joliet: joliet.is_some(),
        files,
    })
}

/// Whether a Supplementary Volume Descriptor announces Joliet (UCS-2 level 1, 2 or 3).
fn is_joliet(vd: &[u8]) -> Result<bool, CidataError> {
    let escape = field(vd, ESCAPES, 3)?;
    Ok(JOLIET_ESCAPES.iter().any(|j| j.as_slice() == escape))
}

/// A volume identifier as text, trailing spaces and NULs trimmed (as go-blockdevice does).
fn label(chars: impl Iterator<Item = char>) -> String {
    let text: String = chars.collect();
    text.trim_end_matches([' ', '\0']).to_owned()
}

/// The regular files listed in the root directory described by `root_record`.
fn root_files(
    image: &[u8],
    root_record: &[u8],
    joliet: bool,
) -> Result<BTreeMap<String, Vec<u8>>, CidataError> {
    let root = Record::parse(root_record)?;
    if root.flags & FLAG_DIRECTORY == 0 {
        return Err(Malformed("root record is not a directory"));
    }
    let directory = extent(image, root.extent, root.size)?;

    let mut files = BTreeMap::new();
    let mut total: usize = 0;
    let mut entries: usize = 0;
    let mut pos: usize = 0;
    while pos < directory.len() {
        let length = usize::from(byte(directory, pos)?);
        if length == 0 {
            // Padding up to the next sector.
            pos = pos
                .checked_div(SECTOR_SIZE)
                .and_then(|s| s.checked_add(1))
                .and_then(|s| s.checked_mul(SECTOR_SIZE))
                .ok_or(Malformed("directory offset"))?;
            continue;
        }
        let in_sector = pos.checked_rem(SECTOR_SIZE).unwrap_or(0);
        if in_sector
            .checked_add(length)
            .is_none_or(|end| end > SECTOR_SIZE)
        {
            return Err(Malformed("directory record crosses a sector boundary"));
        }
        let record = Record::parse(field(directory, pos, length)?)?;
        pos = pos
            .checked_add(length)
            .ok_or(Malformed("directory offset"))?;
        entries = entries.saturating_add(1);
        if entries > MAX_ENTRIES {
            return Err(Malformed("too many directory entries"));
        }
        if record.identifier == [0] || record.identifier == [1] {
            continue; // `.` and `..`
        }
        if record.flags & FLAG_MULTI_EXTENT != 0 {
            return Err(Unsupported("multi-extent file"));
        }
        if record.flags & (FLAG_DIRECTORY | FLAG_ASSOCIATED) != 0 {
            continue;
        }
        let name = if joliet {
            joliet_name(record.identifier)?
        } else {
            primary_name(record.identifier)?
        };
        if name.is_empty() {
            return Err(Malformed("empty file name"));
        }
        // Files of a well-formed image do not overlap, so together they fit in the image;
        // this also bounds what a hostile image can make us allocate.
        total = total
            .checked_add(usize::try_from(record.size).unwrap_or(usize::MAX))
            .filter(|&t| t <= image.len())
            .ok_or(Malformed("files add up to more than the image"))?;
        let content = if record.size == 0 {
            Vec::new()
        } else {
            extent(image, record.extent, record.size)?.to_vec()
        };
        if files.insert(name, content).is_some() {
            return Err(Malformed("duplicate file name"));
        }
    }
    Ok(files)
}

/// The fields of a directory record (ECMA-119 9.1) that we use.
struct Record<'a> {
    extent: u32,
    size: u32,
    flags: u8,
    identifier: &'a [u8],
}

impl<'a> Record<'a> {
    fn parse(record: &'a [u8]) -> Result<Self, CidataError> {
        let length = usize::from(byte(record, 0)?);
        if length < RECORD_FIXED.saturating_add(1) || length > record.len() {
            return Err(Malformed("directory record length"));
        }
        if byte(record, 1)? != 0 {
            return Err(Unsupported("extended attribute record"));
        }
        let identifier_len = usize::from(byte(record, 32)?);
        let identifier_end = RECORD_FIXED
            .checked_add(identifier_len)
            .filter(|&end| end <= length)
            .ok_or(Malformed("file identifier longer than its record"))?;
        Ok(Self {
            extent: both32(record, 2)?,
            size: both32(record, 10)?,
            flags: byte(record, 25)?,
            identifier: record
                .get(RECORD_FIXED..identifier_end)
                .ok_or(Malformed("file identifier"))?,
        })
    }
}

/// A Joliet file identifier as Linux shows it: UCS-2 BE decoded, a trailing `;1` and
/// trailing dots dropped.
fn joliet_name(identifier: &[u8]) -> Result<String, CidataError> {
    if !identifier.len().is_multiple_of(2) {
        return Err(Malformed("odd-length Joliet file identifier"));
    }
    let units = identifier
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([first(pair), second(pair)]));
    let name: String = char::decode_utf16(units)
        .collect::<Result<_, _>>()
        .map_err(|_| Malformed("invalid UCS-2 in Joliet file identifier"))?;
    let name = name.strip_suffix(";1").unwrap_or(&name);
    Ok(strip_trailing_dots(name).to_owned())
}

/// A primary (ISO 9660) file identifier as Linux shows it with the default `map=normal`:
/// lower case, a trailing `.;1` or `;1` dropped, other `;` as `.`.
fn primary_name(identifier: &[u8]) -> Result<String, CidataError> {
    let name = std::str::from_utf8(identifier)
        .ok()
        .filter(|name| name.is_ascii())
        .ok_or(Malformed("non-ASCII ISO 9660 file identifier"))?;
    let name = name
        .strip_suffix(".;1")
        .or_else(|| name.strip_suffix(";1"))
        .unwrap_or(name);
    Ok(name.to_ascii_lowercase().replace(';', "."))
}

/// `name` without trailing dots, keeping at least one character (as Linux does).
fn strip_trailing_dots(mut name: &str) -> &str {
    while name.len() >= 2 {
        match name.strip_suffix('.') {
            Some(shorter) => name = shorter,
            None => break,
        }
    }
    name
}

/// The 2048 bytes of sector `number`.
fn sector(image: &[u8], number: u32) -> Result<&[u8], CidataError> {
    extent(image, number, SECTOR_SIZE as u32)
}

/// `size` bytes starting at sector `start`.
fn extent(image: &[u8], start: u32, size: u32) -> Result<&[u8], CidataError> {
    let offset = usize::try_from(start)
        .ok()
        .and_then(|s| s.checked_mul(SECTOR_SIZE))
        .ok_or(Malformed("extent beyond the image"))?;
    let size = usize::try_from(size).map_err(|_| Malformed("extent beyond the image"))?;
    field(image, offset, size).map_err(|_| Malformed("extent beyond the image"))
}

/// `len` bytes at `offset` of `data`.
fn field(data: &[u8], offset: usize, len: usize) -> Result<&[u8], CidataError> {
    offset
        .checked_add(len)
        .and_then(|end| data.get(offset..end))
        .ok_or(Malformed("truncated"))
}

/// The byte at `offset` of `data`.
fn byte(data: &[u8], offset: usize) -> Result<u8, CidataError> {
    data.get(offset).copied().ok_or(Malformed("truncated"))
}

/// A both-endian 16-bit number (ECMA-119 7.2.3); the two halves must agree.
fn both16(data: &[u8], offset: usize) -> Result<usize, CidataError> {
    let b = field(data, offset, 4)?;
    let le = u16::from_le_bytes([byte(b, 0)?, byte(b, 1)?]);
    let be = u16::from_be_bytes([byte(b, 2)?, byte(b, 3)?]);
    if le == be {
        Ok(usize::from(le))
    } else {
        Err(Malformed("both-endian numbers disagree"))
    }
}

/// A both-endian 32-bit number (ECMA-119 7.3.3); the two halves must agree.
fn both32(data: &[u8], offset: usize) -> Result<u32, CidataError> {
    let b = field(data, offset, 8)?;
    let le = u32::from_le_bytes([byte(b, 0)?, byte(b, 1)?, byte(b, 2)?, byte(b, 3)?]);
    let be = u32::from_be_bytes([byte(b, 4)?, byte(b, 5)?, byte(b, 6)?, byte(b, 7)?]);
    if le == be {
        Ok(le)
    } else {
        Err(Malformed("both-endian numbers disagree"))
    }
}

/// First byte of a pair from `chunks_exact(2)`.
fn first(pair: &[u8]) -> u8 {
    pair.first().copied().unwrap_or(0)
}

/// Second byte of a pair from `chunks_exact(2)`.
fn second(pair: &[u8]) -> u8 {
    pair.get(1).copied().unwrap_or(0)
}
