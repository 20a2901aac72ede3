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
    let (mut blob_count, mut byte_count) = (0u64, 0u64);
    let skipped = read_blobs(dir, &blobs, |id, path, bytes| {
        blob_count += 1;
        byte_count += bytes.len() as u64;
        let found = scanner.scan(bytes);
        if !found.is_empty() {
            hit_blobs.insert(id.to_string(), (path.to_string(), found));
        }
    })?;
    report.blobs += blob_count;
    report.bytes += byte_count;
    report.skipped.extend(skipped);
    for (id, (seen_at, found)) in hit_blobs {
        let (commit, path) =
            first_commit_with(dir, &id)?.unwrap_or_else(|| ("?".to_string(), seen_at));
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

/// Stream each blob's bytes to `visit` through one `git cat-file --batch`. Returns the blobs
/// skipped for their size.
fn read_blobs(
    dir: &Path,
    blobs: &[(String, String)],
    mut visit: impl FnMut(&str, &str, &[u8]),
) -> Result<Vec<String>, AuditError> {
    let mut skipped = Vec::new();
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
        let git_err = |e: std::io::Error| AuditError::Git(e.to_string());
        if size > MAX_FILE_BYTES {
            // Drained, never held: the contents and the newline after them.
            std::io::copy(&mut (&mut out).take(size + 1), &mut std::io::sink()).map_err(git_err)?;
            skipped.push(format!(
                "history blob {id} ({path}): larger than {} MiB",
                MAX_FILE_BYTES >> 20
            ));
            continue;
        }
        buf.clear();
        (&mut out)
            .take(size + 1) // the contents and a newline
            .read_to_end(&mut buf)
            .map_err(git_err)?;
        buf.truncate(size as usize);
        visit(id, path, &buf);
    }
    drop(out);
    let _ = feeder.join();
    let _ = child.wait();
    Ok(skipped)
}

/// The earliest commit that added blob `id` (abbreviated), and the path it had there.
fn first_commit_with(dir: &Path, id: &str) -> Result<Option<(String, String)>, AuditError> {
    let out = git(dir)
        .args([
            "log",
            "--all",
            "--reverse",
            "--format=commit %H",
            "--raw",
            "--no-abbrev",
            "--find-object",
            id,
        ])
        .output()
        .map_err(|e| AuditError::Git(e.to_string()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut commit = None;
    for line in text.lines() {
        if let Some(hash) = line.strip_prefix("commit ") {
            commit = Some(hash.chars().take(12).collect::<String>());
        } else if let Some(raw) = line.strip_prefix(':') {
            // ":<old mode> <new mode> <old id> <new id> <status>\t<path>[\t<new path>]"
            let (meta, paths) = raw.split_once('\t').unwrap_or((raw, ""));
            let new_id = meta.split_whitespace().nth(3);
            if new_id == Some(id)
                && let Some(commit) = &commit
            {
                let path = paths.rsplit('\t').next().unwrap_or(paths);
                return Ok(Some((commit.clone(), path.to_string())));
            }
        }
    }
    Ok(None)
}
