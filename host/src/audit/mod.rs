//! `tazhost secrets audit`: prove a folder (and its git history) holds none of the archive's
//! values, so the repositories can be made public without fear. Hits name the secret (its path
//! in the archive) and where it was found, never the value.
//!
//! - [`needles`]: what to look for (each value raw, base64'd, URL-encoded, as a PEM body, and
//!   the random tokens inside it).
//! - [`scan`]: one Aho-Corasick pass per file.
//! - [`tree`]: the working tree.
//! - [`history`]: every blob reachable from any ref, via `git cat-file --batch`.

pub mod history;
pub mod needles;
pub mod scan;
pub mod tree;

pub use needles::{Form, Needles};
pub use scan::{Found, Scanner};

use std::path::PathBuf;

/// Files larger than this are skipped (and reported): secrets folders leak into text files.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Where something was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// A file in the working tree (relative to the root).
    File(PathBuf),
    /// A blob in the git history: the earliest commit that has it, and its path there.
    Commit {
        /// Abbreviated commit id.
        commit: String,
        /// The path in that commit.
        path: String,
    },
}

/// One leak.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// Where.
    pub place: Place,
    /// What, and on which line.
    pub found: Found,
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clean = crate::report::clean;
        match &self.place {
            Place::File(path) => write!(f, "{}", clean(&path.display().to_string()))?,
            Place::Commit { commit, path } => write!(f, "{commit}:{}", clean(path))?,
        }
        write!(
            f,
            ":{}: {} ({}{})",
            self.found.line,
            clean(&self.found.secret),
            self.found.form,
            if self.found.partial {
                ", a token inside it"
            } else {
                ""
            }
        )
    }
}

/// What an audit saw.
#[derive(Debug, Default)]
pub struct Report {
    /// Every hit, sorted.
    pub hits: Vec<Hit>,
    /// Working-tree files read.
    pub files: u64,
    /// Bytes read from the working tree and the history.
    pub bytes: u64,
    /// Distinct historical blobs read.
    pub blobs: u64,
    /// Files or blobs not read (too large, unreadable), with why.
    pub skipped: Vec<String>,
    /// Why history was not scanned, if it was not.
    pub history_note: Option<String>,
}

/// Audit failed to run (not: found something).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The root cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// git failed.
    #[error("git failed while reading the history: {0}")]
    Git(String),
}

/// Scan `root`'s working tree and, if `history` and it is in a git repository, every blob in
/// its history.
pub fn audit(
    root: &std::path::Path,
    needles: &Needles,
    history: bool,
) -> Result<Report, AuditError> {
    let scanner = Scanner::new(needles);
    let mut report = Report::default();
    tree::scan(root, &scanner, &mut report)?;
    if history {
        history::scan(root, &scanner, &mut report)?;
    }
    report.hits.sort();
    report.hits.dedup();
    Ok(report)
}
