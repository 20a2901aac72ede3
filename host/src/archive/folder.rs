//! The archive's plaintext: a tar of the secrets folder, packed from disk and unpacked into
//! memory only. Unpacking refuses paths that leave the folder, links that point outside it,
//! device files, duplicates, and more bytes or entries than the limits allow.

use super::ArchiveError;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Component, Path};
use zeroize::Zeroizing;

/// Bounds on what an archive may unpack to.
#[derive(Debug, Clone)]
pub struct FolderLimits {
    /// Total bytes of file contents (256 MiB: secrets folders are kilobytes; this stops bombs).
    pub max_total_bytes: u64,
    /// Entries of any kind (10 000).
    pub max_entries: usize,
}

impl Default for FolderLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 256 << 20,
            max_entries: 10_000,
        }
    }
}

/// One file of the folder, in memory, zeroized on drop.
pub struct SecretFile {
    /// Unix permission bits from the archive.
    pub mode: u32,
    size: u64,
    data: Zeroizing<Vec<u8>>,
}

impl SecretFile {
    /// The contents (empty when the folder was read with [`Contents::SizesOnly`]).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The size in bytes, as the archive records it.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// What reading a folder keeps of each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// The bytes, in memory.
    Keep,
    /// Names, modes and sizes only: memory does not grow with the archive (for `list`).
    SizesOnly,
}

impl fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecretFile({} bytes, mode {:o}, [redacted])",
            self.size, self.mode
        )
    }
}

/// A secrets folder held in memory. Paths are relative, `/`-separated, never `..`.
#[derive(Debug, Default)]
pub struct SecretFolder {
    /// Regular files.
    pub files: BTreeMap<String, SecretFile>,
    /// Directories (with their modes).
    pub dirs: BTreeMap<String, u32>,
    /// Symlinks and their (relative, inside) targets.
    pub symlinks: BTreeMap<String, String>,
}

impl SecretFolder {
    /// A file's contents.
    pub fn get(&self, path: &str) -> Option<&SecretFile> {
        self.files.get(path)
    }

    /// Write the folder out under `dir`: the folder 0700, every file 0600, created new (never
    /// through something already there). `dir` must be missing or empty, and on tmpfs or ramfs
    /// unless `allow_disk`. Returns the number of files written.
    pub fn write_into(&self, dir: &Path, allow_disk: bool) -> Result<usize, ArchiveError> {
        if !allow_disk && !in_memory_fs(dir) {
            return Err(ArchiveError::NotInMemory(dir.to_path_buf()));
        }
        let io = |what: &str| ArchiveError::io(format!("{what} in {}", dir.display()));
        if dir.exists() {
            let mut entries = std::fs::read_dir(dir).map_err(io("listing"))?;
            if entries.next().is_some() {
                return Err(ArchiveError::TargetNotEmpty(dir.to_path_buf()));
            }
        }
        private_dir(dir).map_err(io("creating the folder"))?;
        for sub in self.dirs.keys() {
            private_dir(&dir.join(sub)).map_err(io("creating a folder"))?;
        }
        for (name, file) in &self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                private_dir(parent).map_err(io("creating a folder"))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(&path).map_err(io("creating a file"))?;
            out.write_all(file.data()).map_err(io("writing a file"))?;
        }
        #[cfg(unix)]
        for (name, target) in &self.symlinks {
            std::os::unix::fs::symlink(target, dir.join(name)).map_err(io("creating a symlink"))?;
        }
        Ok(self.files.len())
    }
}

fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Whether `dir` (or, if it does not exist yet, its nearest existing ancestor) is on tmpfs or
/// ramfs, i.e. in memory.
#[cfg(target_os = "linux")]
fn in_memory_fs(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let Some(existing) = dir.ancestors().find(|p| p.exists()) else {
        return false;
    };
    let Ok(c_path) = std::ffi::CString::new(existing.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct we pass; the path is a valid C string.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut stat) } != 0 {
        return false;
    }
    let kind = stat.f_type as i64;
    kind == TMPFS_MAGIC || kind == RAMFS_MAGIC
}

#[cfg(not(target_os = "linux"))]
fn in_memory_fs(_dir: &Path) -> bool {
    false
}

/// A `Vec` sink that never leaves a copy behind: when it grows, the old buffer is zeroized.
#[derive(Default)]
pub(crate) struct SecureBuf(pub(crate) Zeroizing<Vec<u8>>);

impl Write for SecureBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > self.0.capacity() {
            let want = (self.0.len() + buf.len())
                .max(2 * self.0.capacity())
                .max(4096);
            let mut bigger = Zeroizing::new(Vec::with_capacity(want));
            bigger.extend_from_slice(&self.0);
            self.0 = bigger;
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tar `dir` (recursively, in name order; modes and symlinks kept, owners and times dropped)
/// into memory.
pub fn pack(dir: &Path) -> Result<Zeroizing<Vec<u8>>, ArchiveError> {
    Ok(pack_into(dir, SecureBuf::default())?.0)
}

/// Tar `dir` into `out` as [`pack`] does, streaming: memory does not grow with file sizes.
pub fn pack_into<W: Write>(dir: &Path, out: W) -> Result<W, ArchiveError> {
    let mut builder = tar::Builder::new(out);
    add_dir(&mut builder, dir, "")?;
    builder
        .into_inner()
        .map_err(ArchiveError::io("building the tar"))
}

fn add_dir<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &str,
) -> Result<(), ArchiveError> {
    let read = |e| ArchiveError::io(format!("reading {}", dir.display()))(e);
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path)
            .map_err(ArchiveError::io(format!("reading {}", path.display())))?;
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode_of(&meta));
        header.set_mtime(0);
        let ft = meta.file_type();
        let io_err = |e| ArchiveError::io(format!("adding {}", path.display()))(e);
        if ft.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder
                .append_data(&mut header, format!("{rel}/"), std::io::empty())
                .map_err(io_err)?;
            add_dir(builder, &path, &rel)?;
        } else if ft.is_file() {
            let file = std::fs::File::open(&path).map_err(io_err)?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(meta.len());
            let exact = ExactLen {
                inner: file.take(meta.len()),
                left: meta.len(),
            };
            builder
                .append_data(&mut header, &rel, exact)
                .map_err(io_err)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(io_err)?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder
                .append_link(&mut header, &rel, &target)
                .map_err(io_err)?;
        } else {
            return Err(ArchiveError::SpecialFile(rel));
        }
    }
    Ok(())
}

/// A file's bytes, failing if it turns out shorter than the size already written in its tar
/// header (it changed while being sealed) instead of producing a corrupt tar.
struct ExactLen<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ExactLen<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being sealed",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    if meta.is_dir() { 0o700 } else { 0o600 }
}

/// A path inside the folder, made canonical, or `None` if it leaves it.
fn inside(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// Where a symlink at `link` pointing to `target` lands, if inside the folder.
fn link_target_inside(link: &str, target: &Path) -> Option<String> {
    if target.is_absolute() {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop(); // the link's own name
    let mut owned: Vec<String> = parts.into_iter().map(str::to_string).collect();
    for c in target.components() {
        match c {
            Component::Normal(p) => owned.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                owned.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(owned.join("/"))
}

/// Unpack a tar into memory, checking every entry.
pub fn unpack(tar_bytes: &[u8], limits: &FolderLimits) -> Result<SecretFolder, ArchiveError> {
    read(tar_bytes, limits, Contents::Keep)
}

/// Read a tar from `input` (typically a [`super::stream::Decryptor`]), checking every entry,
/// then read `input` to its end, so that a decrypting reader verifies its final chunk before
/// anything is returned. An error from `input` itself comes back as the [`ArchiveError`] it
/// carried, not as a tar error.
pub fn read(
    input: impl Read,
    limits: &FolderLimits,
    contents: Contents,
) -> Result<SecretFolder, ArchiveError> {
    let mut watched = Watched {
        inner: input,
        failure: None,
    };
    let result = read_entries(&mut watched, limits, contents).and_then(|folder| {
        std::io::copy(&mut watched, &mut std::io::sink())
            .map_err(ArchiveError::io("reading the archive"))?;
        Ok(folder)
    });
    match (result, watched.failure) {
        (Err(_), Some(failure)) => Err(super::stream::into_archive_error(
            failure,
            "reading the archive",
        )),
        (result, _) => result,
    }
}

/// Keeps the first error the input returned, which tar would otherwise flatten into text.
struct Watched<R> {
    inner: R,
    failure: Option<std::io::Error>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let text = e.to_string();
            let kind = e.kind();
            self.failure.get_or_insert(e);
            std::io::Error::new(kind, text)
        })
    }
}

fn read_entries(
    input: impl Read,
    limits: &FolderLimits,
    contents: Contents,
) -> Result<SecretFolder, ArchiveError> {
    let mut archive = tar::Archive::new(input);
    let mut folder = SecretFolder::default();
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| ArchiveError::Tar(e.to_string()))?;
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let mut entry = entry.map_err(|e| ArchiveError::Tar(e.to_string()))?;
        let raw = entry
            .path()
            .map_err(|e| ArchiveError::Tar(e.to_string()))?
            .into_owned();
        let shown = raw.to_string_lossy().into_owned();
        let path = inside(&raw).ok_or_else(|| ArchiveError::PathEscapes(shown.clone()))?;
        if path.is_empty() {
            continue; // "./" itself
        }
        if !seen.insert(path.clone()) {
            return Err(ArchiveError::DuplicatePath(path));
        }
        let mode = entry.header().mode().unwrap_or(0o600) & 0o7777;
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                let mut data = Zeroizing::new(Vec::new());
                if contents == Contents::Keep {
                    total = total.saturating_add(size);
                    if total > limits.max_total_bytes {
                        return Err(ArchiveError::TooLarge {
                            limit: limits.max_total_bytes,
                        });
                    }
                    data.resize(size as usize, 0);
                    entry
                        .read_exact(&mut data)
                        .map_err(|e| ArchiveError::Tar(e.kind().to_string()))?;
                }
                folder.files.insert(path, SecretFile { mode, size, data });
            }
            tar::EntryType::Directory => {
                folder.dirs.insert(path, mode);
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| ArchiveError::Tar(e.to_string()))?
                    .ok_or_else(|| ArchiveError::Tar(format!("symlink `{path}` has no target")))?;
                link_target_inside(&path, &target)
                    .ok_or_else(|| ArchiveError::LinkEscapes(path.clone()))?;
                folder
                    .symlinks
                    .insert(path, target.to_string_lossy().into_owned());
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| ArchiveError::Tar(e.to_string()))?
                    .ok_or_else(|| ArchiveError::Tar(format!("hardlink `{path}` has no target")))?;
                let target =
                    inside(&target).ok_or_else(|| ArchiveError::LinkEscapes(path.clone()))?;
                let Some(source) = folder.files.get(&target) else {
                    return Err(ArchiveError::LinkEscapes(path));
                };
                if contents == Contents::Keep {
                    total = total.saturating_add(source.size);
                }
                if total > limits.max_total_bytes {
                    return Err(ArchiveError::TooLarge {
                        limit: limits.max_total_bytes,
                    });
                }
                let copy = SecretFile {
                    mode: source.mode,
                    size: source.size,
                    data: source.data.clone(),
                };
                folder.files.insert(path, copy);
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            _ => return Err(ArchiveError::SpecialFile(path)),
        }
    }
    check_no_path_through_a_link(&folder)?;
    Ok(folder)
}

/// Links are checked one by one as text, which cannot see a chain: `up -> ..` lands inside,
/// but `esc -> up/../x` then resolves to outside the folder. Refuse any entry whose path, or
/// any link whose target, passes through another link of the archive.
fn check_no_path_through_a_link(folder: &SecretFolder) -> Result<(), ArchiveError> {
    let through_link = |path: &str| {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        parts[..parts.len().saturating_sub(1)].iter().any(|part| {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            folder.symlinks.contains_key(prefix.as_str())
        })
    };
    let entries = folder
        .files
        .keys()
        .chain(folder.dirs.keys())
        .chain(folder.symlinks.keys());
    for path in entries {
        if through_link(path) {
            return Err(ArchiveError::LinkEscapes(path.clone()));
        }
    }
    for (link, target) in &folder.symlinks {
        let raw: Vec<&str> = link.split('/').collect();
        let mut base: Vec<&str> = raw[..raw.len() - 1].to_vec();
        // Walk the target as written: no step (into a name, or up with `..`) may start from
        // a link; only the last component may be one.
        for part in target.split('/') {
            if part.is_empty() || part == "." {
                continue;
            }
            let here = base.join("/");
            if !here.is_empty() && folder.symlinks.contains_key(here.as_str()) {
                return Err(ArchiveError::LinkEscapes(link.clone()));
            }
            if part == ".." {
                base.pop();
            } else {
                base.push(part);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o600);
        h
    }

    /// Write a raw name into a header, bypassing the tar crate's own `..` checks, the way a
    /// hostile archive would.
    fn raw_name(h: &mut tar::Header, name: &str) {
        let bytes = &mut h.as_old_mut().name;
        bytes.fill(0);
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
    }

    #[test]
    fn pack_then_unpack_keeps_files_modes_dirs_and_inside_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vault")).unwrap();
        std::fs::write(dir.path().join("vault/vault-unseal-key-1"), "k1").unwrap();
        std::fs::write(dir.path().join("token"), "t0ken").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("token"),
                std::fs::Permissions::from_mode(0o640),
            )
            .unwrap();
            std::os::unix::fs::symlink("vault/vault-unseal-key-1", dir.path().join("first"))
                .unwrap();
        }
        let tar = pack(dir.path()).unwrap();
        let folder = unpack(&tar, &FolderLimits::default()).unwrap();
        assert_eq!(
            folder.get("vault/vault-unseal-key-1").unwrap().data(),
            b"k1"
        );
        assert_eq!(folder.get("token").unwrap().data(), b"t0ken");
        assert!(folder.dirs.contains_key("vault"));
        #[cfg(unix)]
        {
            assert_eq!(folder.get("token").unwrap().mode, 0o640);
            assert_eq!(folder.symlinks["first"], "vault/vault-unseal-key-1");
        }
        assert!(
            !format!("{folder:?}").contains("t0ken"),
            "Debug never shows contents"
        );
    }

    #[test]
    fn hostile_entries_are_refused() {
        let escape = tar_with(|b| {
            let mut h = header(tar::EntryType::Regular, 1);
            raw_name(&mut h, "../../etc/cron.d/x");
            b.append(&h, &b"x"[..]).unwrap();
        });
        assert!(matches!(
            unpack(&escape, &FolderLimits::default()),
            Err(ArchiveError::PathEscapes(_))
        ));

        let absolute = tar_with(|b| {
            let mut h = header(tar::EntryType::Regular, 1);
            raw_name(&mut h, "/etc/passwd");
            b.append(&h, &b"x"[..]).unwrap();
        });
        assert!(matches!(
            unpack(&absolute, &FolderLimits::default()),
            Err(ArchiveError::PathEscapes(_))
        ));

        let symlink_out = tar_with(|b| {
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "a/link", "../../outside").unwrap();
        });
        assert!(matches!(
            unpack(&symlink_out, &FolderLimits::default()),
            Err(ArchiveError::LinkEscapes(_))
        ));

        let symlink_abs = tar_with(|b| {
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "link", "/etc/shadow").unwrap();
        });
        assert!(matches!(
            unpack(&symlink_abs, &FolderLimits::default()),
            Err(ArchiveError::LinkEscapes(_))
        ));

        let hardlink_out = tar_with(|b| {
            let mut h = header(tar::EntryType::Link, 0);
            b.append_link(&mut h, "hard", "/etc/shadow").unwrap();
        });
        assert!(matches!(
            unpack(&hardlink_out, &FolderLimits::default()),
            Err(ArchiveError::LinkEscapes(_))
        ));

        let device = tar_with(|b| {
            let mut h = header(tar::EntryType::Char, 0);
            b.append_data(&mut h, "null", std::io::empty()).unwrap();
        });
        assert!(matches!(
            unpack(&device, &FolderLimits::default()),
            Err(ArchiveError::SpecialFile(_))
        ));

        let fifo = tar_with(|b| {
            let mut h = header(tar::EntryType::Fifo, 0);
            b.append_data(&mut h, "pipe", std::io::empty()).unwrap();
        });
        assert!(matches!(
            unpack(&fifo, &FolderLimits::default()),
            Err(ArchiveError::SpecialFile(_))
        ));

        let duplicate = tar_with(|b| {
            for _ in 0..2 {
                let mut h = header(tar::EntryType::Regular, 1);
                b.append_data(&mut h, "same", &b"x"[..]).unwrap();
            }
        });
        assert!(matches!(
            unpack(&duplicate, &FolderLimits::default()),
            Err(ArchiveError::DuplicatePath(_))
        ));
    }

    #[test]
    fn opening_into_a_folder_needs_memory_backing_unless_allowed() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("sub")).unwrap();
        std::fs::write(src.path().join("sub/key"), "k").unwrap();
        let folder = unpack(&pack(src.path()).unwrap(), &FolderLimits::default()).unwrap();

        let disk = tempfile::tempdir().unwrap();
        let target = disk.path().join("opened");
        if !in_memory_fs(disk.path()) {
            assert!(matches!(
                folder.write_into(&target, false),
                Err(ArchiveError::NotInMemory(_))
            ));
            assert!(!target.exists(), "nothing written");
        }
        assert_eq!(folder.write_into(&target, true).unwrap(), 1);
        assert_eq!(std::fs::read(target.join("sub/key")).unwrap(), b"k");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&target), 0o700);
            assert_eq!(mode(&target.join("sub")), 0o700);
            assert_eq!(mode(&target.join("sub/key")), 0o600);
        }
        assert!(matches!(
            folder.write_into(&target, true),
            Err(ArchiveError::TargetNotEmpty(_))
        ));
        if Path::new("/dev/shm").exists() && in_memory_fs(Path::new("/dev/shm")) {
            let shm = tempfile::tempdir_in("/dev/shm").unwrap();
            assert_eq!(folder.write_into(&shm.path().join("o"), false).unwrap(), 1);
        }
    }

    #[test]
    fn size_and_entry_limits_hold() {
        let big = tar_with(|b| {
            let mut h = header(tar::EntryType::Regular, 5000);
            b.append_data(&mut h, "big", &vec![0u8; 5000][..]).unwrap();
        });
        let small = FolderLimits {
            max_total_bytes: 4096,
            max_entries: 3,
        };
        assert!(matches!(
            unpack(&big, &small),
            Err(ArchiveError::TooLarge { .. })
        ));
        let many = tar_with(|b| {
            for i in 0..4 {
                let mut h = header(tar::EntryType::Regular, 0);
                b.append_data(&mut h, format!("f{i}"), std::io::empty())
                    .unwrap();
            }
        });
        assert!(matches!(
            unpack(&many, &small),
            Err(ArchiveError::TooManyEntries { .. })
        ));
    }

    #[test]
    fn a_chain_of_links_that_would_leave_the_folder_is_refused() {
        let tar = tar_with(|b| {
            let mut up = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut up, "x/up", "..").unwrap();
            let mut esc = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut esc, "esc", "x/up/../y").unwrap();
        });
        assert!(matches!(
            unpack(&tar, &FolderLimits::default()),
            Err(ArchiveError::LinkEscapes(_))
        ));
        let inside = tar_with(|b| {
            let mut one = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut one, "a/first", "../b/key").unwrap();
        });
        assert!(unpack(&inside, &FolderLimits::default()).is_ok());
    }
}
