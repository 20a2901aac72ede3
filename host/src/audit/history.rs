//! The git history: every blob reachable from any ref (branches, tags, stashes), each read
//! once through one `git cat-file --batch` process however many commits share it. A blob with
//! a hit is traced back to the earliest commit that has it.

use super::{AuditError, Hit, MAX_FILE_BYTES, Place, Report, Scanner};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

fn git(root: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(root);
    cmd
}

/// Scan the history of the repository `root` is in; notes (does not fail) when there is none.
pub fn scan(root: &Path, scanner: &Scanner, report: &mut Report) -> Result<(), AuditError> {
    let dir = if root.is_file() {
        root.parent().unwrap_or(Path::new("."))
    } else {
        root
    };
    match git(dir)
        .args(["rev-parse", "--is-inside-work-tree"])
        .stderr(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(_) => {
            report.history_note = Some("not in a git repository: history not scanned".into());
            return Ok(());
        }
        Err(e) => {
            report.history_note = Some(format!("git is not available ({e}): history not scanned"));
            return Ok(());
        }
    }
    let blobs = list_blobs(dir)?;
    let mut hit_blobs: BTreeMap<String, (String, Vec<super::Found>)> = BTreeMap::new();
    read_blobs(dir, &blobs, |id, path, bytes| {
        report.blobs += 1;
        report.bytes += bytes.len() as u64;
        let found = scanner.scan(bytes);
        if !found.is_empty() {
            hit_blobs.insert(id.to_string(), (path.to_string(), found));
        }
    })?;
    for (id, (path, found)) in hit_blobs {
        let commit = first_commit_with(dir, &id)?;
        for f in found {
            report.hits.push(Hit {
                place: Place::Commit {
                    commit: commit.clone(),
                    path: path.clone(),
                },
                found: f,
            });
        }
    }
    Ok(())
}

/// Every blob reachable from any ref, once, with the first path it was seen at.
fn list_blobs(dir: &Path) -> Result<Vec<(String, String)>, AuditError> {
    let out = git(dir)
        .args([
            "rev-list",
            "--objects",
            "--all",
            "--filter=object:type=blob",
        ])
        .output()
        .map_err(|e| AuditError::Git(e.to_string()))?;
    if !out.status.success() {
        // An empty repository has no refs: nothing to scan.
        if String::from_utf8_lossy(&out.stderr).contains("bad revision") || out.stdout.is_empty() {
            return Ok(Vec::new());
        }
        return Err(AuditError::Git(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, path)| (id.to_string(), path.to_string()))
        .collect())
}

/// Stream each blob's bytes to `visit` through one `git cat-file --batch`.
fn read_blobs(
    dir: &Path,
    blobs: &[(String, String)],
    mut visit: impl FnMut(&str, &str, &[u8]),
) -> Result<(), AuditError> {
    let mut child = git(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| AuditError::Git(e.to_string()))?;
    let mut stdin = child.stdin.take().expect("piped");
    let ids: Vec<String> = blobs.iter().map(|(id, _)| id.clone()).collect();
    let feeder = std::thread::spawn(move || {
        for id in ids {
            if writeln!(stdin, "{id}").is_err() {
                break;
            }
        }
    });
    let mut out = BufReader::with_capacity(1 << 20, child.stdout.take().expect("piped"));
    let bad = |what: &str| AuditError::Git(format!("unexpected `git cat-file` output: {what}"));
    let mut header = String::new();
    let mut buf = Vec::new();
    for (id, path) in blobs {
        header.clear();
        out.read_line(&mut header)
            .map_err(|e| AuditError::Git(e.to_string()))?;
        let mut parts = header.split_whitespace();
        let (Some(_), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(header.trim()));
        };
        let size: u64 = size.parse().map_err(|_| bad(header.trim()))?;
        if kind != "blob" {
            return Err(bad(kind));
        }
        buf.clear();
        (&mut out)
            .take(size + 1) // the contents and a newline
            .read_to_end(&mut buf)
            .map_err(|e| AuditError::Git(e.to_string()))?;
        if size > MAX_FILE_BYTES {
            continue;
        }
        buf.truncate(size as usize);
        visit(id, path, &buf);
    }
    drop(out);
    let _ = feeder.join();
    let _ = child.wait();
    Ok(())
}

/// The earliest commit (abbreviated) that contains blob `id`.
fn first_commit_with(dir: &Path, id: &str) -> Result<String, AuditError> {
    let out = git(dir)
        .args([
            "log",
            "--all",
            "--reverse",
            "--format=%h",
            "--find-object",
            id,
        ])
        .output()
        .map_err(|e| AuditError::Git(e.to_string()))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("?")
        .to_string())
}
