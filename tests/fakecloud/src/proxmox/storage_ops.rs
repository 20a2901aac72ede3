//! Storage as `pve-storage`'s API handles it: `POST .../storage/{storage}/upload`
//! (an `imgcopy` task), `GET .../storage/{storage}/content`, `DELETE
//! .../storage/{storage}/content/{volume}` (an `imgdel` task) and `GET .../storage`.
//!
//! The upload handler (`PVE/API2/Storage/Status.pm`) refuses at once: an unknown storage
//! ("storage 'X' does not exist"), a storage without a path ("can't upload to storage type
//! 'lvmthin'"), a file name with the wrong extension (400, `filename`: "wrong file
//! extension"), a storage that does not allow the content ("storage 'X' does not support
//! 'iso' content"). The file name is normalised (path stripped, characters outside
//! `[ a-zA-Z0-9-.+=_]` replaced by `_`); an existing file is overwritten. A `checksum` is
//! verified inside the task ("checksum mismatch: got 'X' != expect 'Y'").

use std::sync::Arc;

use serde_json::{Value, json};
use sha2::Digest;

use super::errors::ApiError;
use super::model::{Effect, StorageKind, TaskEnd, Volume};
use super::state::{Clock, Job, State};

/// What `POST .../upload` received.
#[derive(Debug, Clone)]
pub(crate) struct UploadArgs {
    pub storage: String,
    pub content: String,
    pub filename: String,
    pub checksum: Option<String>,
    pub checksum_algorithm: Option<String>,
    pub data: Vec<u8>,
}

/// Content types a storage can hold (`pve-storage-content`).
pub(crate) const CONTENT_TYPES: &[&str] = &[
    "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import",
];

impl State {
    /// Checks and starts the `imgcopy` task (its id is empty, as in PVE).
    pub fn upload(&mut self, a: UploadArgs, clock: Clock) -> Result<String, ApiError> {
        let storage = self.storage(&a.storage)?;
        if storage.kind != StorageKind::Dir {
            return Err(ApiError::die(format!(
                "can't upload to storage type '{}'",
                storage.kind.type_name()
            )));
        }
        let filename = normalize_content_filename(&a.filename);
        let lower = filename.to_ascii_lowercase();
        let (subdir, content, format) = match a.content.as_str() {
            "iso" if lower.ends_with(".iso") || lower.ends_with(".img") => ("iso", "iso", "iso"),
            "vztmpl"
                if [".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2"]
                    .iter()
                    .any(|e| lower.ends_with(e)) =>
            {
                ("template/cache", "vztmpl", "tgz")
            }
            "import"
                if [".ova", ".ovf", ".qcow2", ".raw", ".vmdk"]
                    .iter()
                    .any(|e| lower.ends_with(e)) =>
            {
                ("import", "import", "raw")
            }
            "import" => {
                return Err(ApiError::param(
                    "filename",
                    "invalid filename or wrong extension",
                ));
            }
            _ => return Err(ApiError::param("filename", "wrong file extension")),
        };
        if stem_is_empty(&filename) {
            return Err(ApiError::param("filename", "wrong file extension"));
        }
        if !storage.content.contains(content) {
            return Err(ApiError::die(format!(
                "storage '{}' does not support '{content}' content",
                a.storage
            )));
        }
        let base = if a.storage == "local" {
            "/var/lib/vz".to_string()
        } else {
            format!("/mnt/pve/{}", a.storage)
        };
        let dir = if content == "iso" {
            format!("{base}/template/iso")
        } else {
            format!("{base}/{subdir}")
        };
        let tmp: String = (0..32)
            .map(|_| char::from_digit(rand::random_range(0..16), 16).unwrap_or('0'))
            .collect();
        let tmp = format!("/var/tmp/pveupload-{tmp}");
        let mut log = vec![format!("starting file import from: {tmp}")];
        let checked = match (&a.checksum_algorithm, &a.checksum) {
            (Some(alg), Some(want)) => match hash(alg, &a.data) {
                Some(got) if got.eq_ignore_ascii_case(want) => {
                    log.push("calculating checksum...OK, checksum verified".into());
                    Ok(())
                }
                Some(got) => Err(format!("checksum mismatch: got '{got}' != expect '{want}'")),
                None => Err(format!(
                    "fakecloud cannot verify '{alg}' checksums (only sha224, sha256, sha384, sha512)"
                )),
            },
            _ => Ok(()),
        };
        if let Err(msg) = checked {
            return Ok(self.failed_task("imgcopy", "", clock, msg));
        }
        let dest = format!("{dir}/{filename}");
        log.extend([
            format!("target node: {}", self.node),
            format!("target file: {dest}"),
            format!("file size is: {}", a.data.len()),
            format!("command: cp -- {tmp} {dest}"),
            "finished file import successfully".to_string(),
        ]);
        let name = if content == "iso" {
            format!("iso/{filename}")
        } else {
            format!("{content}/{filename}")
        };
        let volume = Volume {
            storage: a.storage.clone(),
            name,
            content,
            format,
            size: a.data.len() as u64,
            vmid: None,
            ctime: clock.wall,
            data: Some(Arc::new(a.data)),
        };
        Ok(self.spawn(
            clock,
            Job {
                kind: "imgcopy",
                id: String::new(),
                duration: self.task_duration,
                log,
                end: TaskEnd::Ok,
                effect: Effect::VolumeAdded(volume),
            },
        ))
    }

    /// `GET .../storage/{storage}/content`: the volumes of the content types the storage
    /// allows, optionally of one type and one owner VM.
    pub fn storage_content(
        &self,
        storage: &str,
        content: Option<&str>,
        vmid: Option<u32>,
    ) -> Result<Vec<Value>, ApiError> {
        let s = self.storage(storage)?;
        Ok(self
            .volumes
            .values()
            .filter(|v| v.storage == storage && s.content.contains(v.content))
            .filter(|v| content.is_none_or(|c| c == v.content))
            .filter(|v| vmid.is_none_or(|id| v.vmid == Some(id)))
            .map(|v| {
                let mut entry = json!({
                    "volid": v.volid(),
                    "format": v.format,
                    "size": v.size,
                    "content": v.content,
                    "ctime": v.ctime,
                });
                if let Some(id) = v.vmid {
                    entry["vmid"] = json!(id);
                }
                entry
            })
            .collect())
    }

    /// `DELETE .../storage/{storage}/content/{volume}`: an `imgdel` task (id `STORAGE`, or
    /// `VMID@STORAGE` for a VM's disk). A missing file only warns, as in PVE.
    pub fn delete_volume(
        &mut self,
        path_storage: &str,
        volume: &str,
        clock: Clock,
    ) -> Result<String, ApiError> {
        let (storage, name) = match volume.split_once(':') {
            Some((sid, name)) => {
                if sid != path_storage {
                    return Err(ApiError::param(
                        "volume",
                        format!("storage ID mismatch ({sid} != {path_storage})\n"),
                    ));
                }
                (sid.to_string(), name.to_string())
            }
            None => (path_storage.to_string(), volume.to_string()),
        };
        let kind = self.storage(&storage)?.kind;
        let owner = parse_volname(kind, &name).map_err(ApiError::die)?;
        let volid = format!("{storage}:{name}");
        let id = match owner {
            Some(vmid) => format!("{vmid}@{storage}"),
            None => storage.clone(),
        };
        let log = vec![format!("Removed volume '{volid}'")];
        Ok(self.spawn(
            clock,
            Job {
                kind: "imgdel",
                id,
                duration: self.task_duration,
                log,
                end: TaskEnd::Ok,
                effect: Effect::VolumeRemoved(volid),
            },
        ))
    }

    /// `GET /nodes/{node}/storage`.
    pub fn storage_list(&self, content: Option<&str>, only: Option<&str>) -> Vec<Value> {
        self.storages
            .values()
            .filter(|s| only.is_none_or(|id| id == s.id))
            .filter(|s| content.is_none_or(|c| s.content.contains(c)))
            .map(|s| {
                let used = self.used(&s.id);
                json!({
                    "storage": s.id,
                    "type": s.kind.type_name(),
                    "content": s.content.iter().cloned().collect::<Vec<_>>().join(","),
                    "active": 1,
                    "enabled": 1,
                    "shared": 0,
                    "total": s.total,
                    "used": used,
                    "avail": s.total.saturating_sub(used),
                    "used_fraction": if s.total == 0 { 0.0 } else { used as f64 / s.total as f64 },
                })
            })
            .collect()
    }

    /// Bytes used on a storage.
    pub fn used(&self, storage: &str) -> u64 {
        self.volumes
            .values()
            .filter(|v| v.storage == storage)
            .map(|v| v.size)
            .sum()
    }

    /// The bytes of every uploaded file, by volume id.
    pub fn uploads(&self) -> Vec<(String, Arc<Vec<u8>>)> {
        self.volumes
            .values()
            .filter_map(|v| v.data.as_ref().map(|d| (v.volid(), d.clone())))
            .collect()
    }
}

/// `PVE::Storage::normalize_content_filename`.
fn normalize_content_filename(name: &str) -> String {
    let name = name.trim_end_matches('\n');
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " -.+=_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `x.iso` has a stem; `.iso` does not (`[^/]+\.iso`).
fn stem_is_empty(name: &str) -> bool {
    name.rsplit_once('.')
        .is_none_or(|(stem, _)| stem.is_empty())
}

/// The owner VM of a volume name, or the error `parse_volname` raises.
fn parse_volname(kind: StorageKind, name: &str) -> Result<Option<u32>, String> {
    let owner = |s: &str| {
        let rest = s.strip_prefix("vm-").or_else(|| s.strip_prefix("base-"))?;
        let (id, disk) = rest.split_once('-')?;
        disk.starts_with("disk-").then(|| id.parse().ok()).flatten()
    };
    match kind {
        StorageKind::LvmThin => {
            let last = name.rsplit('/').next().unwrap_or(name);
            owner(last)
                .map(Some)
                .ok_or_else(|| format!("unable to parse lvm volume name '{name}'"))
        }
        StorageKind::Dir => {
            let ok = ["iso/", "vztmpl/", "import/", "snippets/", "backup/"]
                .iter()
                .any(|p| {
                    name.strip_prefix(p)
                        .is_some_and(|f| !f.is_empty() && !f.contains('/'))
                });
            if ok {
                return Ok(None);
            }
            match name.split_once('/') {
                Some((id, file)) if id.parse::<u32>().is_ok() => {
                    Ok(owner(file).or_else(|| id.parse().ok()))
                }
                _ => Err(format!("unable to parse directory volume name '{name}'")),
            }
        }
    }
}

/// The checksum of `data` in lower-case hex, for the algorithms the fake can compute.
fn hash(alg: &str, data: &[u8]) -> Option<String> {
    let bytes = match alg {
        "sha224" => sha2::Sha224::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The largest upload body the fake reads (it keeps uploads in memory; PVE has no limit
/// but the disk).
pub(crate) const UPLOAD_BODY_LIMIT: usize = 64 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_normalised_like_pve() {
        assert_eq!(
            normalize_content_filename("C:\\x\\talos w1.iso"),
            "talos w1.iso"
        );
        assert_eq!(normalize_content_filename("../a/b$c.iso"), "b_c.iso");
        assert!(stem_is_empty(".iso") && !stem_is_empty("a.iso"));
    }

    #[test]
    fn volume_names_are_parsed_per_storage_type() {
        assert_eq!(parse_volname(StorageKind::Dir, "iso/a.iso"), Ok(None));
        assert!(parse_volname(StorageKind::Dir, "nope").is_err());
        assert_eq!(
            parse_volname(StorageKind::LvmThin, "base-9000-disk-0/vm-101-disk-0"),
            Ok(Some(101))
        );
        assert!(parse_volname(StorageKind::LvmThin, "iso/a.iso").is_err());
    }

    #[test]
    fn checksums() {
        assert_eq!(
            hash("sha256", b"").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(hash("md5", b""), None);
    }
}
