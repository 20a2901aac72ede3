//! Edits a Talos Linux machine config: sets environment variables of a system extension's
//! service (the Tailscale extension's `TS_AUTHKEY`, for instance), leaving every other byte of
//! the config as it was.
//!
//! [`set_extension_environment`] does the edit; [`documents`] lists the documents of a config
//! (kind, name, byte span) and [`extension_environment`] reads an extension's environment
//! back, so a caller can check a result. The crate is pure Rust with one pure-Rust dependency
//! and compiles for `wasm32-wasip2` plugins.
//!
//! # The `ExtensionServiceConfig` document
//!
//! A machine config is a YAML stream of several documents: the `v1alpha1` one (`version`,
//! `machine`, `cluster`, and no `kind`), then others each with `apiVersion` and `kind`. A
//! system extension's service takes its configuration from a document of its own:
//!
//! ```yaml
//! ---
//! apiVersion: v1alpha1
//! kind: ExtensionServiceConfig
//! name: tailscale
//! configFiles:             # optional
//!   - content: "..."
//!     mountPath: /etc/...
//! environment:             # optional
//!   - TS_AUTHKEY=tskey-auth-...
//!   - TS_HOSTNAME=node-1
//! ```
//!
//! What the sources say (the reference pages for Talos v1.10, v1.11, v1.12 and v1.14 show the
//! same schema):
//!
//! * **Fields.** `name` (string, required: the extension service's name), `configFiles`
//!   (list of `{content: string, mountPath: string}`), `environment` (list of strings).
//!   Talos configuration reference, "ExtensionServiceConfig"
//!   (`docs.siderolabs.com/talos/v1.14/reference/configuration/extensions/extensionserviceconfig`,
//!   the same on `talos.dev/v1.10`–`v1.12`), and the Go type `ServiceConfigV1Alpha1` in
//!   siderolabs/talos `pkg/machinery/config/types/runtime/extensions/service_config.go`
//!   (YAML keys `name`, `configFiles,omitempty`, `environment,omitempty` next to the inline
//!   `apiVersion`/`kind`).
//! * **Validation** (`Validate` in that file): `name` must not be empty; `configFiles` and
//!   `environment` must not both be empty; every config file needs `content` and `mountPath`.
//!   The environment entries themselves are not checked there; they are plain strings in the
//!   `NAME=value` form of the examples (`NUT_UPS=upsname`).
//! * **Loading** (siderolabs/talos
//!   `pkg/machinery/config/configloader/internal/decoder/decoder.go`): the stream is read with
//!   go-yaml (`go.yaml.in/yaml/v4`) with known fields enforced, so an unknown key is an error;
//!   null documents are skipped; each document is identified by `(apiVersion, kind, name)`
//!   (`kind` defaults to `v1alpha1`) and a **duplicate document is rejected**. Hence this
//!   crate refuses a config with two matching documents and never adds a second one.
//! * **Service names** are `[a-z0-9-_]+` (Talos docs, "Extension Services"; the service runs
//!   as `ext-<name>`). The same page marks the older `environmentFile` of a service as
//!   deprecated: "Use ExtensionServiceConfig instead".
//! * **Tailscale.** The extension's README (siderolabs/extensions `network/tailscale/README.md`)
//!   configures it with exactly such a document named `tailscale` whose `environment` holds
//!   `TS_AUTHKEY=<your auth key>` (and, in its subnet-router example, `TS_ROUTES=...`); earlier
//!   versions of the README wrote the same variables to `/var/etc/tailscale/auth.env` with
//!   `machine.files`. The service runs Tailscale's `containerboot`, which reads `TS_AUTHKEY`,
//!   `TS_HOSTNAME`, `TS_ROUTES`, `TS_EXTRA_ARGS`, `TS_TAILSCALED_EXTRA_ARGS`, `TS_ACCEPT_DNS`,
//!   `TS_AUTH_ONCE`, … (list in that README); the service definition
//!   (`network/tailscale/tailscale.yaml`) already sets `TS_STATE_DIR=/var/lib/tailscale`,
//!   `TS_USERSPACE=false` and `TS_SOCKET`, and waits for the machine configuration
//!   (`depends: configuration: true`).
//!
//! # YAML library: saphyr-parser
//!
//! [`saphyr-parser`](https://crates.io/crates/saphyr-parser) 0.3 (the parser crate of the
//! saphyr project, github.com/saphyr-rs/saphyr; the 0.3 line is current, 0.3.4 when this was
//! written): pure Rust with `#![no_std]` + `alloc`,
//! depending only on `arraydeque` and `thiserror`, so it builds for `wasm32-wasip2`
//! (`cargo build -p tazhost-talos-config --target wasm32-wasip2`); YAML 1.2 and tested against
//! the YAML test suite; and its events carry source spans (character index, line, column),
//! which is what lets the edit below change only the bytes it means to. It also ends an
//! unindented root block scalar at a `---` line, as the specification says (its test
//! `block_scalar_document_start`). Its error messages are static text except one that quotes
//! a single indicator character; the crate still cuts them before any quoted text.
//!
//! Span quirks this crate works around (found by tests): a block list's start event sits on
//! its first `-` only when the list is indented (an unindented one starts at its first entry);
//! a `|`/`>` scalar's span starts at its content, not at the indicator, and runs on to the
//! next token; a quoted scalar's span, and a flow list's `]` event, can run on over a comment
//! after them; an empty scalar (`environment:` with nothing) sits before the key's `:`.
//!
//! Not chosen: `serde_yaml` (marked deprecated and unmaintained by its author in 2024,
//! `0.9.34+deprecated`); its forks `serde_yaml_ng` and `serde_norway` (serde front ends over
//! `unsafe-libyaml`, a C-to-Rust translation of libyaml in unsafe code, that give values
//! without positions, so a document could only be re-emitted, losing comments and layout);
//! `yaml-rust2` (the earlier line of the same code and author; saphyr is where it continues);
//! `saphyr` itself (a loader and emitter on top of saphyr-parser, with two more dependencies,
//! none of it needed here). `serde_norway` is a dev-dependency only: the tests read every
//! result back with it, a libyaml-lineage parser like Talos's go-yaml, independent of the
//! parser the crate uses. (Talos parses with go-yaml, a YAML 1.1-era parser; a few streams
//! valid in YAML 1.2, such as a bare document right after `...` without `---`, would be
//! accepted here and rejected by Talos. This crate never writes such a thing.)
//!
//! # Splitting the stream into documents
//!
//! The stream is first cut textually at document marker lines: a line that begins, at column
//! 0, with `---` or `...` followed by a space, a tab or the end of the line. YAML 1.2 forbids
//! such a line inside any scalar (§9.1.5, `c-forbidden`): a `---` line inside a block scalar
//! is indented deeper than the scalar's parent and so is no marker, while an unindented block
//! scalar at a document's root does end there. A document's text runs from its `---` line
//! (with the comments, blank lines and directives before it) or, for a bare document, from the
//! end of the previous one, through its own `...` line if it has one; comments after the last
//! document belong to it. Then the real parser must agree, or the config is refused
//! ([`TalosConfigError::AmbiguousDocuments`]): the whole stream must parse, have as many
//! documents as there are pieces, each starting inside its piece, and each piece parsed alone
//! must be exactly one document equal to the one the parser found in the stream. Only `apiVersion`,
//! `kind`, `name` and `environment` are read from the trees.
//!
//! # What the edit keeps, and what it changes
//!
//! * **Every other document, and everything between documents,** comes out byte for byte.
//! * **No matching document:** the input is kept as it is, as a prefix of the output; if it
//!   does not end with a line break one is added; then `---` and a new document
//!   (`apiVersion: v1alpha1`, `kind`, `name`, `environment` as a block list). With nothing to
//!   set, the config is returned unchanged (Talos rejects an `ExtensionServiceConfig` with
//!   neither `environment` nor `configFiles`).
//! * **The matching document** keeps all its other keys (`configFiles`, unknown ones), their
//!   order, comments, quoting and blank lines. In its `environment`:
//!   * an entry whose name (the text before its first `=`, or all of it) is being set and
//!     whose text differs from the new `NAME=value` has just its scalar replaced by a
//!     double-quoted one: the `- ` before it and a comment after it on the line stay. An
//!     entry that already reads `NAME=value` is not touched. Every entry with that name is
//!     replaced (duplicates stay, all with the new value). Other entries stay as written.
//!   * a variable not present is added as a new line after the last entry's line (after a
//!     comment on it): the list's indentation, `- `, the double-quoted entry; one line per
//!     variable, in the order given.
//!   * without an `environment` key, `environment:` and a block list are inserted at the end
//!     of the document's mapping (after its last key and any comments after it, before a `...`
//!     or the next `---`), indented like the document's first key; in a flow mapping (`{...}`)
//!     `environment: [...]` is inserted right after the `{`.
//!   * **Fallback**, when `environment` is a flow list (`[...]`), a null (`environment:` with
//!     nothing, `~`, `null`, `!!null`), or a block list that cannot be edited line by line: an
//!     entry to change is not a one-line plain or quoted scalar, or has an anchor or tag; or
//!     there is something to append and the last entry is not a one-line plain or quoted
//!     scalar (`|`/`>` block scalars, multi-line scalars); or the first `-` cannot be located
//!     (a list with an anchor or tag whose first line is not `- entry`). Then the
//!     environment's value alone is rewritten as a one-line flow list of double-quoted
//!     entries, `["A=1", "B=2"]`, with all entries in their order and values. The quoting of
//!     the untouched entries, and any comments, anchors or tags inside that value, are lost:
//!     for a flow list the text from its `[` through its `]` is rewritten (a comment after the
//!     `]` stays); for a null, the null (a comment after it stays); for a block list the text
//!     from the end of the `environment` key (after its closing quote, if quoted) through the
//!     end of the last entry, so a comment on the key's line and between entries goes.
//!   * New and replaced entries are always double-quoted, with `"` and `\` escaped and other
//!     non-printable characters as `\t` or `\uXXXX`, so any YAML 1.1 or 1.2 parser reads back
//!     exactly `NAME=value`, whatever `:`, `#`, quotes or leading spaces the value has.
//!   * New lines use the config's line break (the first one in it), so CRLF configs stay CRLF.
//! * **Every result is read back** with the same split and parser before it is returned: the
//!   documents must be the same in number, all but the edited one byte-identical, the edited
//!   one equal to the original apart from `environment`, and `environment` exactly the
//!   expected list. A layout the edit got wrong is an error
//!   ([`TalosConfigError::UnsupportedLayout`]), never a wrong config.
//!
//! A null `environment` counts as an empty list; any scalar entry counts as a string (its
//! text), so `- 123` is the entry `123`; a mapping, sequence or alias entry is refused.
//!
//! # Errors and secrets
//!
//! Values (an auth key) are secrets. No error, and no `Debug` output of this crate, contains a
//! value passed in, nor any text of the config: errors carry positions, indices, the
//! extension name and variable names that passed validation, and the parser's description of a
//! syntax error cut before any quoted text. An invalid variable name is reported by its
//! position in the list only, in case a value was passed where the name belongs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod edit;
mod emit;
mod split;
mod tree;

use core::fmt;
use core::ops::Range;

/// What can go wrong. No variant holds a value that was set, nor any text of the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TalosConfigError {
    /// The config is not valid YAML.
    InvalidYaml {
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1 (in characters).
        column: usize,
        /// The parser's description, cut before any quoted text.
        reason: String,
    },
    /// The textual split at `---`/`...` lines and the YAML parser disagree on where the
    /// documents are.
    AmbiguousDocuments,
    /// More than one `ExtensionServiceConfig` document has the extension's name.
    DuplicateExtensionConfig {
        /// The extension name asked for.
        extension: String,
        /// Indices (from 0, as in [`documents`]) of the matching documents.
        documents: Vec<usize>,
    },
    /// The matching document has the `environment` key more than once.
    DuplicateEnvironmentKey {
        /// Index (from 0) of the document.
        document: usize,
    },
    /// The matching document's `environment` is neither a list nor null.
    EnvironmentNotList {
        /// Index (from 0) of the document.
        document: usize,
    },
    /// An entry of the matching document's `environment` is a mapping, a list or an alias.
    EnvironmentEntryNotString {
        /// Index (from 0) of the document.
        document: usize,
        /// Index (from 0) of the entry in the list.
        entry: usize,
    },
    /// The extension name is not `[a-z0-9_-]+`.
    InvalidExtensionName,
    /// A variable name is not `[A-Z_][A-Z0-9_]*`.
    InvalidVariableName {
        /// Index (from 0) of the pair in the list to set.
        position: usize,
    },
    /// The same variable name appears twice in the list to set.
    DuplicateVariable {
        /// The variable name.
        name: String,
    },
    /// A value cannot be set.
    InvalidValue {
        /// The variable name.
        name: String,
        /// What is wrong with the value.
        problem: ValueProblem,
    },
    /// The edit could not be made safely to this document's layout (see the crate docs).
    UnsupportedLayout {
        /// Index (from 0) of the document.
        document: usize,
        /// Why.
        reason: &'static str,
    },
}

/// What is wrong with a value, in [`TalosConfigError::InvalidValue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueProblem {
    /// It holds a line break (LF, CR, NEL, LS or PS): an environment entry is one line.
    LineBreak,
    /// It holds a NUL character, which no environment variable can.
    Nul,
}

impl fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueProblem::LineBreak => "it contains a line break",
            ValueProblem::Nul => "it contains a NUL character",
        })
    }
}

impl fmt::Display for TalosConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TalosConfigError::InvalidYaml {
                line,
                column,
                reason,
            } => write!(
                f,
                "the machine config is not valid YAML: {reason} at line {line}, column {column}"
            ),
            TalosConfigError::AmbiguousDocuments => f.write_str(
                "cannot split the machine config into its YAML documents safely: its `---` and \
                 `...` lines and the YAML parser disagree",
            ),
            TalosConfigError::DuplicateExtensionConfig {
                extension,
                documents,
            } => {
                let numbers: Vec<String> = documents.iter().map(|d| (d + 1).to_string()).collect();
                write!(
                    f,
                    "the machine config has {} ExtensionServiceConfig documents named {extension:?} \
                     (documents {}); Talos rejects duplicates",
                    documents.len(),
                    numbers.join(", ")
                )
            }
            TalosConfigError::DuplicateEnvironmentKey { document } => write!(
                f,
                "document {} of the machine config has more than one `environment` key",
                document + 1
            ),
            TalosConfigError::EnvironmentNotList { document } => write!(
                f,
                "the `environment` of document {} of the machine config is not a list of strings",
                document + 1
            ),
            TalosConfigError::EnvironmentEntryNotString { document, entry } => write!(
                f,
                "entry {} of the `environment` of document {} of the machine config is not a \
                 string",
                entry + 1,
                document + 1
            ),
            TalosConfigError::InvalidExtensionName => {
                f.write_str("the extension name must match [a-z0-9_-]+")
            }
            TalosConfigError::InvalidVariableName { position } => write!(
                f,
                "variable {} of the list to set has an invalid name: names must match \
                 [A-Z_][A-Z0-9_]*",
                position + 1
            ),
            TalosConfigError::DuplicateVariable { name } => {
                write!(f, "variable {name} is given more than once")
            }
            TalosConfigError::InvalidValue { name, problem } => {
                write!(f, "the value of {name} cannot be set: {problem}")
            }
            TalosConfigError::UnsupportedLayout { document, reason } => write!(
                f,
                "cannot edit document {} of the machine config safely: {reason}",
                document + 1
            ),
        }
    }
}

impl std::error::Error for TalosConfigError {}

/// One document of a machine config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its bytes in the config: from its `---` line (with the comments, blank lines and
    /// directives before it) or, for a bare document, from the end of the previous one,
    /// through its `...` line if it has one. The spans of a config's documents are
    /// contiguous and cover it all (comments after the last document belong to it).
    pub span: Range<usize>,
    /// Its top-level `apiVersion`, if that is a scalar.
    pub api_version: Option<String>,
    /// Its top-level `kind`, if that is a scalar (`None` for the `v1alpha1` document).
    pub kind: Option<String>,
    /// Its top-level `name`, if that is a scalar.
    pub name: Option<String>,
}

impl Document {
    /// The document's text in `config` (the config it was read from).
    pub fn text<'a>(&self, config: &'a str) -> &'a str {
        config.get(self.span.clone()).unwrap_or("")
    }
}

/// The documents of a machine config, in order (see the crate docs for how the stream is
/// split and how the split is checked). Empty for a config with no document (empty, or only
/// comments).
///
/// # Errors
///
/// A config that is not valid YAML, or that cannot be split into documents safely.
pub fn documents(config: &str) -> Result<Vec<Document>, TalosConfigError> {
    Ok(tree::analyze(config)?
        .into_iter()
        .map(|doc| {
            let get = |key: &str| doc.root.get_str(key).map(str::to_owned);
            Document {
                api_version: get("apiVersion"),
                kind: get("kind"),
                name: get("name"),
                span: doc.span,
            }
        })
        .collect())
}

/// The `environment` entries of `extension`'s `ExtensionServiceConfig` in `config`, as
/// written (`NAME=value` strings, in order): `None` if there is no such document, an empty
/// list if it has no `environment` or a null one.
///
/// The result holds secrets when the config does; errors do not.
///
/// # Errors
///
/// An extension name that is not `[a-z0-9_-]+`, a config that is not valid YAML or cannot be
/// split into documents safely, more than one matching document, an `environment` that is
/// not a list of strings (or appears twice).
pub fn extension_environment(
    config: &str,
    extension: &str,
) -> Result<Option<Vec<String>>, TalosConfigError> {
    if !emit::valid_extension_name(extension) {
        return Err(TalosConfigError::InvalidExtensionName);
    }
    let docs = tree::analyze(config)?;
    match edit::matching(&docs, extension).as_slice() {
        [] => Ok(None),
        [index] => Ok(Some(
            edit::environment(&docs[*index].root, *index)?.unwrap_or_default(),
        )),
        many => Err(TalosConfigError::DuplicateExtensionConfig {
            extension: extension.to_owned(),
            documents: many.to_vec(),
        }),
    }
}

/// Sets environment variables of `extension`'s service in the machine config `config`, and
/// returns the new config.
///
/// `set` lists `(NAME, value)` pairs. If `config` has an `ExtensionServiceConfig` document
/// named `extension`, each variable is set in its `environment` (an entry `NAME=...` replaced,
/// or `NAME=value` appended), everything else in it kept; otherwise such a document is
/// appended after `---`. Every other document comes out byte for byte. The crate docs say
/// exactly what changes and what is kept.
///
/// # Errors
///
/// Checked first, before the config: an extension name that is not `[a-z0-9_-]+`, a variable
/// name that is not `[A-Z_][A-Z0-9_]*`, a name given twice, a value with a line break or NUL.
/// Then: a config that is not valid YAML or cannot be split into documents safely, more than
/// one matching document, an `environment` that is not a list of strings (or appears twice),
/// and a layout that the edit cannot handle safely. No error contains a value.
///
/// ```
/// let config = "version: v1alpha1\nmachine:\n  type: worker\n";
/// let out = tazhost_talos_config::set_extension_environment(
///     config,
///     "tailscale",
///     &[("TS_AUTHKEY", "tskey-auth-xyz"), ("TS_HOSTNAME", "node-1")],
/// )
/// .unwrap();
/// assert_eq!(
///     out,
///     "version: v1alpha1\nmachine:\n  type: worker\n---\napiVersion: v1alpha1\n\
///      kind: ExtensionServiceConfig\nname: tailscale\nenvironment:\n  \
///      - \"TS_AUTHKEY=tskey-auth-xyz\"\n  - \"TS_HOSTNAME=node-1\"\n"
/// );
/// ```
pub fn set_extension_environment(
    config: &str,
    extension: &str,
    set: &[(&str, &str)],
) -> Result<String, TalosConfigError> {
    emit::check_request(extension, set)?;
    let docs = tree::analyze(config)?;
    match edit::matching(&docs, extension).as_slice() {
        [] => edit::append_new(config, &docs, extension, set),
        [index] => edit::edit_existing(config, &docs, *index, set),
        many => Err(TalosConfigError::DuplicateExtensionConfig {
            extension: extension.to_owned(),
            documents: many.to_vec(),
        }),
    }
}
