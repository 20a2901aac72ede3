//! The working tree: every regular file under the root, symlinks not followed, `.git` skipped
//! (its objects are compressed; [`super::history`] reads them properly).

use super::{AuditError, Hit, MAX_FILE_BYTES, Place, Report, Scanner};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Scan every file under `root` (or `root` itself if it is a file).
pub fn scan(root: &Path, scanner: &Scanner, report: &mut Report) -> Result<(), AuditError> {
    let meta = std::fs::symlink_metadata(root).map_err(|source| AuditError::Read {
        path: root.display().to_string(),
        source,
    })?;
    if meta.is_file() {
        let name = root.file_name().map(Path::new).unwrap_or(root);
        scan_files(
            &[(root.to_path_buf(), name.to_path_buf(), meta.len())],
            scanner,
            report,
        );
        return Ok(());
    }
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if dir == root => {
                return Err(AuditError::Read {
                    path: root.display().to_string(),
                    source: e,
                });
            }
            Err(e) => {
                report.skipped.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    stack.push(path);
                }
            } else if kind.is_file() {
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                files.push((path, rel, len));
            }
        }
    }
    scan_files(&files, scanner, report);
    Ok(())
}

/// Read and scan `files` (path, shown name, size) on every core.
fn scan_files(files: &[(PathBuf, PathBuf, u64)], scanner: &Scanner, report: &mut Report) {
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(std::mem::take(report));
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut local = Report::default();
                while let Some((path, shown, len)) = files.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    scan_file(path, shown, *len, scanner, &mut local);
                }
                let mut all = shared.lock().unwrap_or_else(|p| p.into_inner());
                all.files += local.files;
                all.bytes += local.bytes;
                all.hits.append(&mut local.hits);
                all.skipped.append(&mut local.skipped);
            });
        }
    });
    *report = shared.into_inner().unwrap_or_else(|p| p.into_inner());
}

fn scan_file(path: &Path, shown: &Path, len: u64, scanner: &Scanner, report: &mut Report) {
    if len > MAX_FILE_BYTES {
        report.skipped.push(format!(
            "{}: larger than {} MiB",
            shown.display(),
            MAX_FILE_BYTES >> 20
        ));
        return;
    }
    match std::fs::read(path) {
        Ok(bytes) => {
            report.files += 1;
            report.bytes += bytes.len() as u64;
            for found in scanner.scan(&bytes) {
                report.hits.push(Hit {
                    place: Place::File(shown.to_path_buf()),
                    found,
                });
            }
        }
        Err(e) => report.skipped.push(format!("{}: {e}", shown.display())),
    }
}
