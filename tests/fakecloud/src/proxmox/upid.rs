//! Task identifiers (UPIDs) in Proxmox VE's exact format,
//! `UPID:$node:$pid:$pstart:$starttime:$type:$id:$user:` with pid, pstart and starttime as
//! upper-case hex padded to 8 digits (`PVE::Tools::upid_encode`), and the parser the tasks
//! API applies to the `{upid}` path segment (`PVE::Tools::upid_decode`: node name, 8 hex
//! digits of pid, 8 or 9 of pstart, 8 of starttime, a type without `:` or white space, an id
//! that may be empty, a user, and the trailing `:`).

use std::fmt;

/// One parsed UPID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upid {
    pub node: String,
    pub pid: u32,
    /// Start time of the worker process in clock ticks since boot (`/proc/PID/stat`).
    pub pstart: u64,
    /// Task start, UNIX seconds.
    pub starttime: u64,
    /// Worker type: `qmclone`, `qmstart`, `imgcopy`, ...
    pub kind: String,
    /// Worker id: usually the VMID; empty for an upload (`imgcopy`).
    pub id: String,
    /// Who started it; for API tokens the token id `user@realm!token`.
    pub user: String,
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.kind, self.id, self.user
        )
    }
}

impl Upid {
    /// Parses a UPID as `upid_decode` does; `None` where PVE answers "unable to parse worker
    /// upid".
    pub fn parse(s: &str) -> Option<Upid> {
        let rest = s.strip_prefix("UPID:")?.strip_suffix(':')?;
        let parts: Vec<&str> = rest.split(':').collect();
        let [node, pid, pstart, starttime, kind, id, user] = parts.as_slice() else {
            return None;
        };
        let hex = |v: &str, lens: &[usize]| {
            (lens.contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(v, 16).ok())
                .flatten()
        };
        let no_space = |v: &str| !v.chars().any(char::is_whitespace);
        if !valid_node_name(node)
            || kind.is_empty()
            || !no_space(kind)
            || !no_space(id)
            || user.is_empty()
            || !no_space(user)
        {
            return None;
        }
        Some(Upid {
            node: (*node).to_string(),
            pid: u32::try_from(hex(pid, &[8])?).ok()?,
            pstart: hex(pstart, &[8, 9])?,
            starttime: hex(starttime, &[8])?,
            kind: (*kind).to_string(),
            id: (*id).to_string(),
            user: (*user).to_string(),
        })
    }
}

/// `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`: a node name as UPIDs and `pve-node` carry it.
pub(crate) fn valid_node_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Upid {
        Upid {
            node: "pve".into(),
            pid: 0x1A2B,
            pstart: 0x3C4D5E,
            starttime: 0x6553_F100,
            kind: "qmclone".into(),
            id: "9000".into(),
            user: "root@pam!tazhost".into(),
        }
    }

    #[test]
    fn formats_like_pve_with_upper_case_hex_padded_to_eight_digits() {
        assert_eq!(
            sample().to_string(),
            "UPID:pve:00001A2B:003C4D5E:6553F100:qmclone:9000:root@pam!tazhost:"
        );
    }

    #[test]
    fn parses_what_it_prints_and_an_empty_id() {
        let s = sample();
        assert_eq!(Upid::parse(&s.to_string()), Some(s));
        let upload = "UPID:pve:00001A2B:003C4D5E:6553F100:imgcopy::root@pam!t:";
        assert_eq!(Upid::parse(upload).map(|u| u.id), Some(String::new()));
        // pstart may have 9 digits after a long uptime.
        let long = "UPID:pve:00001A2B:1003C4D5E:6553F100:qmstart:100:root@pam:";
        assert_eq!(Upid::parse(long).map(|u| u.pstart), Some(0x1_003C_4D5E));
    }

    #[test]
    fn refuses_malformed_upids() {
        for bad in [
            "",
            "UPID:pve:00001A2B:003C4D5E:6553F100:qmclone:9000:root@pam",
            "UPID:pve:1A2B:003C4D5E:6553F100:qmclone:9000:root@pam:",
            "UPID:pve:00001A2B:003C4D5E:6553F100::9000:root@pam:",
            "UPID:pve:00001A2B:003C4D5E:6553F100:qmclone:9000::",
            "UPID:-pve:00001A2B:003C4D5E:6553F100:qmclone:9000:root@pam:",
            "UPID:pve:0000XA2B:003C4D5E:6553F100:qmclone:9000:root@pam:",
            "upid:pve:00001A2B:003C4D5E:6553F100:qmclone:9000:root@pam:",
        ] {
            assert_eq!(Upid::parse(bad), None, "{bad}");
        }
    }
}
