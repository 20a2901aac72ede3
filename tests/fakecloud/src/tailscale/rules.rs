//! The pure rules: which scope grants which, the tag syntax, and which tags a credential may
//! put on an auth key. No state, no HTTP.

use std::collections::BTreeSet;

/// What minting auth keys needs: the `auth_keys` scope (trust-credentials scopes).
pub const AUTH_KEYS: &str = "auth_keys";
/// Reading auth keys.
pub const AUTH_KEYS_READ: &str = "auth_keys:read";
/// Reading OAuth clients (and the tokens they issue) in the keys list.
pub const OAUTH_KEYS_READ: &str = "oauth_keys:read";

/// Scopes with which a credential must have tags, and with which the token endpoint accepts
/// `tags`: the current `auth_keys` and `devices:core`, the legacy `devices`, and `all`.
const TAGGED_SCOPES: [&str; 4] = ["auth_keys", "devices:core", "devices", "all"];

/// Whether holding scope `held` allows what scope `wanted` allows.
///
/// `all` grants everything; `all:read` every `*:read`; a scope grants its own `:read`; the
/// legacy `devices` scope (before the scopes were split) grants what `auth_keys` and
/// `devices:core` now do, and the legacy `devices:read` their `:read` halves. The split
/// scopes do not grant the legacy ones.
pub fn grants(held: &str, wanted: &str) -> bool {
    if held == wanted || held == "all" {
        return true;
    }
    if held == "all:read" && wanted.ends_with(":read") {
        return true;
    }
    if wanted.strip_suffix(":read") == Some(held) {
        return true;
    }
    match held {
        "devices" => matches!(
            wanted,
            "auth_keys" | "auth_keys:read" | "devices:core" | "devices:core:read"
        ),
        "devices:read" => matches!(wanted, "auth_keys:read" | "devices:core:read"),
        _ => false,
    }
}

/// Whether any of `held` grants `wanted`.
pub fn any_grants(held: &[String], wanted: &str) -> bool {
    held.iter().any(|h| grants(h, wanted))
}

/// Whether a credential with these scopes must carry tags (and may ask for them).
pub fn needs_tags(scopes: &[String]) -> bool {
    scopes.iter().any(|s| TAGGED_SCOPES.contains(&s.as_str()))
}

/// A list in a form field: items separated by spaces (OAuth 2.0's `scope` syntax) or
/// commas (what people also send); empty items dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// `tag:NAME`, NAME starting with a letter and made of ASCII letters, digits and hyphens
/// (the tag syntax of the policy file).
pub fn is_tag(s: &str) -> bool {
    let Some(name) = s.strip_prefix("tag:") else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The tags an OAuth access token carries and those its client's tags own.
pub struct TagRights<'a> {
    /// The token's tags (the client's, or those asked for at the token endpoint).
    pub token_tags: &'a [String],
    /// Tags whose `tagOwners` entry names one of the client's tags.
    pub owned: &'a [String],
}

impl TagRights<'_> {
    /// Whether an auth key minted with this token may carry `requested`: exactly the token's
    /// tag set, or only tags its client's tags own. A subset of the token's tags, or the
    /// token's tags mixed with owned ones, is refused — as the real API does.
    pub fn allows_key(&self, requested: &[String]) -> bool {
        if requested.is_empty() || !requested.iter().all(|t| is_tag(t)) {
            return false;
        }
        let req: BTreeSet<&str> = requested.iter().map(String::as_str).collect();
        let own: BTreeSet<&str> = self.token_tags.iter().map(String::as_str).collect();
        req == own || req.iter().all(|t| self.owned.iter().any(|o| o == t))
    }
}

/// `[a b]` → `a b` for messages (the real API prints Go slices so).
pub fn join(items: &[String]) -> String {
    items.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scopes_grant_themselves_their_read_half_and_all_grants_everything() {
        assert!(grants("auth_keys", "auth_keys"));
        assert!(grants("auth_keys", "auth_keys:read"));
        assert!(!grants("auth_keys:read", "auth_keys"));
        assert!(grants("all", "auth_keys"));
        assert!(grants("all", "devices"));
        assert!(grants("all:read", "auth_keys:read"));
        assert!(!grants("all:read", "auth_keys"));
        assert!(!grants("devices:core", "auth_keys"));
        assert!(!grants("auth_keys", "devices:core"));
        // Legacy `devices` covers key minting; the split scopes do not grant legacy ones.
        assert!(grants("devices", "auth_keys"));
        assert!(grants("devices:read", "auth_keys:read"));
        assert!(!grants("devices:read", "auth_keys"));
        assert!(!grants("auth_keys", "devices"));
        assert!(!grants("devices:core", "devices:read"));
        assert!(any_grants(&v(&["dns", "auth_keys"]), "auth_keys:read"));
        assert!(!any_grants(&[], "auth_keys"));
    }

    #[test]
    fn tagged_scopes_need_tags() {
        assert!(needs_tags(&v(&["auth_keys"])));
        assert!(needs_tags(&v(&["dns:read", "devices:core"])));
        assert!(needs_tags(&v(&["all"])));
        assert!(!needs_tags(&v(&["dns:read", "auth_keys:read"])));
    }

    #[test]
    fn lists_split_on_spaces_and_commas() {
        assert_eq!(
            split_list(" auth_keys,devices:core  dns "),
            v(&["auth_keys", "devices:core", "dns"])
        );
        assert!(split_list("").is_empty());
    }

    #[test]
    fn the_tag_syntax() {
        for good in ["tag:k8s", "tag:tazhost", "tag:a", "tag:web-1"] {
            assert!(is_tag(good), "{good}");
        }
        for bad in [
            "k8s", "tag:", "tag:1abc", "tag:a_b", "tag:a.b", "Tag:x", "tag:a b",
        ] {
            assert!(!is_tag(bad), "{bad}");
        }
    }

    #[test]
    fn keys_carry_the_token_tag_set_exactly_or_owned_tags_only() {
        let token = v(&["tag:k8s", "tag:tazhost"]);
        let owned = v(&["tag:node", "tag:edge"]);
        let rights = TagRights {
            token_tags: &token,
            owned: &owned,
        };
        assert!(rights.allows_key(&v(&["tag:tazhost", "tag:k8s"])));
        assert!(rights.allows_key(&v(&["tag:node"])));
        assert!(rights.allows_key(&v(&["tag:node", "tag:edge"])));
        assert!(!rights.allows_key(&v(&["tag:tazhost"])), "a subset");
        assert!(!rights.allows_key(&v(&["tag:k8s", "tag:tazhost", "tag:node"])));
        assert!(!rights.allows_key(&v(&["tag:other"])));
        assert!(!rights.allows_key(&[]));
        assert!(!rights.allows_key(&v(&["k8s"])));
    }
}
