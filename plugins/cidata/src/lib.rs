//! NoCloud `cidata` ISO 9660 images, built in memory and read back.
//!
//! A Talos Linux VM on Proxmox gets its machine config from a NoCloud data source: a CD-ROM
//! whose filesystem label is `cidata` and whose root directory holds `user-data` (the machine
//! config), `meta-data` and optionally `network-config`. [`build`] (or [`nocloud`]) writes such
//! an image; [`read`] parses one back (for the fake Proxmox server and the tests). The crate
//! is pure Rust without dependencies, so it compiles for `wasm32-wasip2` plugins.
//!
//! # What the image contains
//!
//! Sectors of 2048 bytes (ECMA-119 logical blocks):
//!
//! | sector | content |
//! | --- | --- |
//! | 0–15 | System Area, zeros |
//! | 16 | Primary Volume Descriptor, volume identifier = the label as given |
//! | 17 | Joliet Supplementary Volume Descriptor (escape sequence `%/E`, UCS-2 level 3), volume identifier = the label in UCS-2 BE |
//! | 18 | Volume Descriptor Set Terminator |
//! | 19, 20 | primary path tables, type L (little-endian) and type M (big-endian) |
//! | 21, 22 | Joliet path tables, type L and type M |
//! | 23… | primary root directory (ISO 9660 level 1 names such as `USER_DAT.;1`) |
//! | … | Joliet root directory (the real names: `user-data`) |
//! | … | file data, each file starting on a sector of its own, shared by both trees |
//!
//! Only a flat root directory is written. Every timestamp is the fixed
//! [`TIMESTAMP`] (1980-01-01 00:00:00 UTC), so equal input gives byte-identical images.
//! Text fields are padded with spaces (`0x20`, or UCS-2 `0x0020` in the Joliet descriptor),
//! never with NULs. Joliet names carry no `;1` version suffix (as xorriso writes them; the
//! kernel strips one anyway). No Rock Ridge: see below why it is not needed.
//!
//! # How Talos finds the volume and reads the files
//!
//! * **Label matching, current Talos.** `configFromCD` of the nocloud platform hands the
//!   labels `cidata` and `CIDATA` to `blockutils.ReadFromVolume`
//!   (siderolabs/talos `internal/app/machined/pkg/runtime/v1alpha1/platform/internal/blockutils/blockutils.go`;
//!   the openstack and opennebula platforms call it the same way; Talos 1.12 logs show its
//!   volume `platform/cidata/config`). That helper creates a volume whose locator is the CEL
//!   expression `volume.label in [labels] || volume.partition_label in [labels]`: an exact,
//!   case-sensitive string comparison. `volume.label` comes from go-blockdevice v2's prober
//!   (siderolabs/go-blockdevice `blkid/internal/filesystems/iso9660/iso9660.go`), which scans
//!   the descriptors from sector 16 and, **if there is any Supplementary Volume Descriptor,
//!   takes the label from it**, decoded as UTF-16 big-endian, with trailing spaces and NULs
//!   trimmed; only without an SVD does it use the primary volume identifier. So the Joliet
//!   volume identifier must be exactly `cidata` (or `CIDATA`) in proper UCS-2 BE. Field
//!   reports of getting this wrong: siderolabs/omni-infra-provider-proxmox#84 ("v0.2.0
//!   generates cidata ISOs with a Joliet descriptor, which Talos nocloud fails to detect":
//!   `platform/cidata/config` goes `waiting -> missing` on Talos 1.12.2; the report does not
//!   say what is wrong in its SVD), and luthermonson/go-proxmox#258 fixed by
//!   diskfs/go-diskfs#391 (go-diskfs 1.9.2 wrote the Joliet volume identifier as raw ASCII,
//!   which read as UCS-2 is CJK mojibake, so `blkid` showed no `cidata` label and cloud-init
//!   missed the data source). Talos 1.12.0–1.12.6 also did not trim NULs from labels
//!   (siderolabs/talos#13063 "not detecting cidata iso" where 1.11.6 worked, fixed by
//!   siderolabs/talos#13070 / go-blockdevice#150), hence the space padding here.
//! * **Label matching, earlier Talos** (the nocloud code in the stored sources before the
//!   switch): `probe.GetDevWithFileSystemLabel("cidata")`, then `("CIDATA")`
//!   (siderolabs/talos `.../platform/nocloud/metadata.go`, go-blockdevice v1
//!   `blockdevice/probe/probe.go`, `blockdevice/filesystem/fs.go`): it reads the descriptor at
//!   byte 0x8000 (which must be the PVD) and compares its volume identifier, trimmed of
//!   spaces and NULs, byte for byte. So the primary volume identifier must also be exactly
//!   `cidata` or `CIDATA`.
//! * We write the label as given in both places, as `genisoimage -V cidata` does (cloud-init's
//!   NoCloud documentation builds its example seed that way; the `file` output in
//!   siderolabs/talos#12477 shows `'cidata'` read from such a PVD) and as xorrisofs does
//!   (its manual: "xorriso accepts any text up to 32 characters, but according to rarely
//!   obeyed specs stricter rules apply: Conformant are ASCII characters out of [A-Z0-9_] …
//!   Joliet allows 16 UCS-2 characters"). cloud-init asks for "`cidata` or `CIDATA`" too.
//!   Lower case is not a strict ECMA-119 d-character, but every reader above compares
//!   bytes, so upper-casing would only change what `blkid` and Talos report; pass `CIDATA`
//!   for an upper-case label. libblkid (util-linux 2.38 `blkid -p` on a [`nocloud`] image)
//!   reports `LABEL=cidata`, `VERSION=Joliet Extension`.
//! * **File names.** Talos then mounts the device read-only as `iso9660` with no other
//!   options and reads `meta-data`, `network-config` and `user-data` from its root by those
//!   exact names (`configMetaDataPath` etc. in `metadata.go`). The Linux isofs driver
//!   (`fs/isofs/inode.c`, `isofs_fill_super`) stops its descriptor scan at the first SVD whose
//!   escape sequence is `%/@`, `%/C` or `%/E` and switches to that Joliet root directory,
//!   **unless the primary root carries Rock Ridge** (`SP`/`RR` entries): with both present,
//!   Rock Ridge wins ("we want to use Rock Ridge by default", overridable with `norock`).
//!   With Joliet only, names come from `get_joliet_filename` (`fs/isofs/joliet.c`): UCS-2 BE
//!   converted to UTF-8, a trailing `;1` and trailing dots dropped; lookups are then
//!   case-insensitive (`check=r` is the default for Joliet). Without Joliet or Rock Ridge the
//!   default `map=normal` would show `USER_DAT.;1` as `user_dat`, which Talos would not find.
//!   So Joliet alone gives Talos the names it needs, and Rock Ridge is not written. (File
//!   modes then come from the kernel's defaults, readable by everyone, which is all Talos
//!   needs as root.)
//!
//! # Limits
//!
//! [`build`] refuses labels that are empty, longer than [`MAX_LABEL_LEN`] (the Joliet volume
//! identifier holds 16 UCS-2 characters) or not made of `A–Z a–z 0–9 _`; file names that are
//! empty, longer than [`MAX_NAME_LEN`], `.`/`..`, end with a dot, or use characters outside
//! `A–Z a–z 0–9 . _ -`; names equal when compared case-insensitively; files larger than
//! [`MAX_FILE_SIZE`]; more than [`MAX_FILES`] files.
//!
//! # Example
//!
//! ```
//! let image = tazhost_cidata::nocloud(b"version: v1alpha1\n", b"local-hostname: cp-1\n")?;
//! let cidata = tazhost_cidata::read(&image)?;
//! assert_eq!(cidata.label, "cidata");
//! assert_eq!(cidata.file("user-data"), Some(&b"version: v1alpha1\n"[..]));
//! # Ok::<(), tazhost_cidata::CidataError>(())
//! ```
//!
//! [`read`] checks every offset and length against the image and returns
//! [`CidataError::Malformed`] or [`CidataError::Unsupported`] instead of panicking; the
//! files it returns never add up to more bytes than the image holds.

mod read;
mod write;

use std::collections::BTreeMap;
use std::fmt;

pub use read::read;
pub use write::build;

/// The volume label Talos and cloud-init look for.
pub const LABEL: &str = "cidata";
/// The file holding the Talos machine config (cloud-init user data).
pub const USER_DATA: &str = "user-data";
/// The file holding instance meta data (YAML: `instance-id`, `local-hostname`, …).
pub const META_DATA: &str = "meta-data";
/// The optional file holding a network configuration (cloud-init v1 or v2 format).
pub const NETWORK_CONFIG: &str = "network-config";

/// Size of an ISO 9660 logical block (sector) in bytes; the image is a whole number of them.
pub const SECTOR_SIZE: usize = 2048;
/// Longest volume label: the Joliet volume identifier field holds 16 UCS-2 characters.
pub const MAX_LABEL_LEN: usize = 16;
/// Longest file name: Joliet allows 64 UCS-2 characters.
pub const MAX_NAME_LEN: usize = 64;
/// Largest file [`build`] accepts (16 MiB; Talos machine configs are far smaller).
pub const MAX_FILE_SIZE: usize = 16 * 1024 * 1024;
/// Most files [`build`] accepts in one image.
pub const MAX_FILES: usize = 64;
/// The timestamp written everywhere, as (year, month, day, hour, minute, second) in UTC.
pub const TIMESTAMP: (u16, u8, u8, u8, u8, u8) = (1980, 1, 1, 0, 0, 0);

/// Builds the NoCloud image Talos reads: label [`LABEL`], files [`USER_DATA`] and
/// [`META_DATA`].
///
/// # Errors
///
/// [`CidataError::FileTooLarge`] if either file exceeds [`MAX_FILE_SIZE`].
pub fn nocloud(user_data: &[u8], meta_data: &[u8]) -> Result<Vec<u8>, CidataError> {
    build(LABEL, &[(USER_DATA, user_data), (META_DATA, meta_data)])
}

/// The content of a `cidata` image, as returned by [`read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidata {
    /// The label current Talos (go-blockdevice v2) matches: the Joliet volume identifier if
    /// the image has a Joliet descriptor, else the primary one; trailing spaces and NULs
    /// trimmed.
    pub label: String,
    /// The primary volume identifier (what earlier Talos compared), trailing spaces and NULs
    /// trimmed.
    pub primary_label: String,
    /// Whether the names in [`Cidata::files`] come from a Joliet directory (`true`) or, for
    /// images without Joliet, from the primary directory mapped as Linux does by default:
    /// lower case, without a trailing `;1` or `.;1` (`false`).
    pub joliet: bool,
    /// The regular files of the root directory, by name. Subdirectories are skipped.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Cidata {
    /// The content of the file `name` in the root directory, if there is one.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }
}

/// Why an image could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidataError {
    /// The volume label is empty, longer than [`MAX_LABEL_LEN`] or has characters other than
    /// `A–Z a–z 0–9 _`.
    InvalidLabel(String),
    /// The file name is empty, longer than [`MAX_NAME_LEN`], `.` or `..`, ends with a dot, or
    /// has characters other than `A–Z a–z 0–9 . _ -`.
    InvalidFileName(String),
    /// Two files have the same name, compared case-insensitively (Linux looks Joliet names up
    /// case-insensitively).
    DuplicateFileName(String),
    /// The file is larger than [`MAX_FILE_SIZE`].
    FileTooLarge {
        /// The file's name.
        name: String,
        /// The file's size in bytes.
        size: usize,
    },
    /// More than [`MAX_FILES`] files were given.
    TooManyFiles(usize),
    /// The image is not a well-formed ISO 9660 image; says what is wrong.
    Malformed(&'static str),
    /// The image is valid ISO 9660 but uses a feature [`read`] does not handle.
    Unsupported(&'static str),
}

impl fmt::Display for CidataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLabel(label) => write!(
                f,
                "invalid volume label {label:?}: 1 to {MAX_LABEL_LEN} characters of A-Z a-z 0-9 _"
            ),
            Self::InvalidFileName(name) => write!(
                f,
                "invalid file name {name:?}: 1 to {MAX_NAME_LEN} characters of A-Z a-z 0-9 . _ -, \
                 not ending with a dot"
            ),
            Self::DuplicateFileName(name) => {
                write!(
                    f,
                    "duplicate file name {name:?} (names are case-insensitive)"
                )
            }
            Self::FileTooLarge { name, size } => write!(
                f,
                "file {name:?} has {size} bytes, more than the limit of {MAX_FILE_SIZE}"
            ),
            Self::TooManyFiles(count) => {
                write!(f, "{count} files, more than the limit of {MAX_FILES}")
            }
            Self::Malformed(what) => write!(f, "malformed ISO 9660 image: {what}"),
            Self::Unsupported(what) => write!(f, "unsupported ISO 9660 image: {what}"),
        }
    }
}

impl std::error::Error for CidataError {}

/// Layout facts shared by the writer and the reader (ECMA-119 offsets).
mod layout {
    /// Sector of the first volume descriptor (after the 16-sector System Area).
    pub const FIRST_DESCRIPTOR: u32 = 16;
    /// Volume descriptor types.
    pub const TYPE_PRIMARY: u8 = 1;
    /// Supplementary (Joliet) volume descriptor.
    pub const TYPE_SUPPLEMENTARY: u8 = 2;
    /// Volume Descriptor Set Terminator.
    pub const TYPE_TERMINATOR: u8 = 255;
    /// Standard identifier at bytes 1..6 of every volume descriptor.
    pub const STANDARD_ID: &[u8; 5] = b"CD001";
    /// Joliet escape sequences (UCS-2 levels 1, 2, 3) at byte 88 of an SVD.
    pub const JOLIET_ESCAPES: [&[u8; 3]; 3] = [b"%/@", b"%/C", b"%/E"];
    /// Offset of the volume identifier (32 bytes) in a volume descriptor.
    pub const VOLUME_ID: usize = 40;
    /// Offset of the escape sequences (32 bytes) in a volume descriptor.
    pub const ESCAPES: usize = 88;
    /// Offset of the logical block size (both-endian u16) in a volume descriptor.
    pub const BLOCK_SIZE: usize = 128;
    /// Offset of the root directory record (34 bytes) in a volume descriptor.
    pub const ROOT_RECORD: usize = 156;
    /// Length of a directory record without its identifier.
    pub const RECORD_FIXED: usize = 33;
    /// Directory record flag: the entry is a directory.
    pub const FLAG_DIRECTORY: u8 = 0x02;
    /// Directory record flag: associated file (hidden by Linux by default).
    pub const FLAG_ASSOCIATED: u8 = 0x04;
    /// Directory record flag: the file continues in a further record.
    pub const FLAG_MULTI_EXTENT: u8 = 0x80;
}

#[cfg(test)]
mod tests;
