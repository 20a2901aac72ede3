//! Property test: many generated machine configs, each edited and checked by
//! `common::check` (non-target documents byte-identical; libyaml reads the output as the
//! input's documents with exactly the expected change).

mod common;

use common::check;
use tazhost_talos_config::{documents, set_extension_environment};

/// xorshift64*: small, deterministic, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Safe in a plain scalar in block and flow context alike (no `:`, `,`, brackets).
const PLAIN_CHARS: &[char] = &[
    'a', 'b', 'z', 'A', 'Q', '0', '7', '_', '-', '.', '/', '=', '+',
];
const TRICKY_CHARS: &[char] = &[
    'a', 'Z', '1', ' ', ':', '#', '"', '\'', '\\', '{', '}', '[', ']', ',', '&', '*', '!', '|',
    '>', '%', '@', '`', '-', '?', '=', '\t', 'é', '☃', '😀', '\u{7}',
];

fn word(rng: &mut Rng, chars: &[char], max: usize) -> String {
    (0..rng.below(max + 1)).map(|_| rng.pick(chars)).collect()
}

/// A plain-scalar-safe value: starts with a letter, then [`PLAIN_CHARS`].
fn plain_value(rng: &mut Rng) -> String {
    let mut s = String::from(rng.pick(&["x", "v", "on"][..]));
    s.push_str(&word(rng, PLAIN_CHARS, 12));
    s
}

/// An environment entry written in a random style, and what it reads as.
fn entry(rng: &mut Rng, name: &str) -> (String, String) {
    match rng.below(4) {
        0 => {
            let v = plain_value(rng);
            (format!("{name}={v}"), format!("{name}={v}"))
        }
        1 => {
            let v = word(rng, TRICKY_CHARS, 10).replace(['\t', '\u{7}'], "t");
            let text = format!("{name}={v}");
            (format!("'{}'", text.replace('\'', "''")), text)
        }
        2 => {
            let v = word(rng, TRICKY_CHARS, 10);
            let text = format!("{name}={v}");
            let escaped = text
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\t', "\\t")
                .replace('\u{7}', "\\a");
            (format!("\"{escaped}\""), text)
        }
        _ => (name.to_owned(), name.to_owned()),
    }
}

const NAMES: &[&str] = &[
    "TS_AUTHKEY",
    "TS_HOSTNAME",
    "TS_ROUTES",
    "TS_EXTRA_ARGS",
    "TS_ACCEPT_DNS",
    "A",
];

fn comment(rng: &mut Rng) -> String {
    format!("# {}\n", word(rng, PLAIN_CHARS, 20))
}

fn v1alpha1(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.chance(50) {
        s.push_str("version: v1alpha1 # Indicates the schema used to decode the contents.\n");
    } else {
        s.push_str("version: v1alpha1\n");
    }
    s.push_str("machine:\n    type: worker\n    token: abc.def\n");
    if rng.chance(60) {
        s.push_str(
            "    files:\n        - content: |\n            first\n            ---\n            \
             ...\n            --- also content\n          path: /etc/x\n          op: create\n",
        );
    }
    if rng.chance(50) {
        s.push_str("    # install section\n    install:\n        disk: /dev/sda\n");
    }
    s.push_str("cluster:\n    clusterName: demo\n    controlPlane:\n        endpoint: https://10.5.0.2:6443\n");
    s
}

fn other_document(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => "apiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n".to_owned(),
        1 => format!(
            "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: nut-client\n\
             configFiles:\n    - content: MONITOR x 1 remote u p\n      mountPath: /usr/local/etc/nut/upsmon.conf\n\
             environment:\n    - {}\n",
            entry(rng, "TS_AUTHKEY").0
        ),
        2 => "apiVersion: v1alpha1\nkind: SideroLinkConfig\napiUrl: https://siderolink.example:8099/?jointoken=x\n".to_owned(),
        3 => "{apiVersion: v1alpha1, kind: KmsgLogConfig, name: remote, url: 'tcp://1.2.3.4:5'}\n".to_owned(),
        4 => "apiVersion: v1alpha1\nkind: StaticHostConfig\nname: 10.0.0.1 # address\nhostnames: &h\n  - a\n  - b\nextra: *h\n".to_owned(),
        _ => format!(
            "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: tailscale-other\nenvironment: [{}]\n",
            entry(rng, "A").0
        ),
    }
}

/// The target document: tailscale's ExtensionServiceConfig in one of many layouts.
fn target_document(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.chance(30) {
        s.push_str(&comment(rng));
    }
    s.push_str("apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: tailscale\n");
    let config_files = "configFiles:\n  - content: |\n      {\"a\": 1}\n      ---\n    mountPath: /var/lib/x.json # c\n";
    let files_first = rng.chance(50);
    if files_first && rng.chance(60) {
        s.push_str(config_files);
    }
    match rng.below(8) {
        0 => {}
        1 => s.push_str(rng.pick(&[
            "environment:\n",
            "environment: ~\n",
            "environment: null # none\n",
        ])),
        2 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n)
                .map(|_| {
                    let name = rng_name(rng);
                    entry(rng, name).0
                })
                .collect();
            s.push_str(&format!("environment: [{}]\n", items.join(", ")));
        }
        _ => {
            let indent = " ".repeat(rng.pick(&[0, 2, 4]));
            s.push_str(rng.pick(&["environment:", "\"environment\":", "'environment':"][..]));
            if rng.chance(20) {
                s.push_str(" # the list");
            }
            s.push('\n');
            for _ in 0..1 + rng.below(5) {
                if rng.chance(15) {
                    s.push_str(&format!("{indent}{}", comment(rng)));
                }
                let name = rng_name(rng);
                if rng.chance(10) {
                    // A block scalar entry.
                    let v = plain_value(rng);
                    s.push_str(&format!("{indent}- |-\n{indent}    {name}={v}\n"));
                    continue;
                }
                s.push_str(&format!("{indent}- {}", entry(rng, name).0));
                if rng.chance(30) {
                    s.push_str(" # note");
                }
                s.push('\n');
            }
        }
    }
    if !files_first && rng.chance(60) {
        s.push_str(config_files);
    }
    if rng.chance(30) {
        s.push_str(&comment(rng));
    }
    s
}

fn rng_name(rng: &mut Rng) -> &'static str {
    rng.pick(NAMES)
}

fn config(rng: &mut Rng) -> (String, bool) {
    let mut docs = vec![v1alpha1(rng)];
    for _ in 0..rng.below(3) {
        docs.push(other_document(rng));
    }
    let has_target = rng.chance(60);
    if has_target {
        let at = rng.below(docs.len() + 1);
        docs.insert(at, target_document(rng));
    }
    let mut s = String::new();
    if rng.chance(30) {
        s.push_str(&comment(rng));
    }
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 || rng.chance(40) {
            s.push_str(if rng.chance(10) {
                "--- # next\n"
            } else {
                "---\n"
            });
        }
        s.push_str(doc);
        if rng.chance(20) {
            s.push('\n');
        }
        if rng.chance(25) {
            s.push_str("...\n");
            if rng.chance(40) {
                s.push_str(&comment(rng));
            }
        }
    }
    if rng.chance(15) {
        s.push_str(&comment(rng));
    }
    if rng.chance(15) {
        while s.ends_with('\n') {
            s.pop();
        }
    }
    if rng.chance(30) {
        s = s.replace('\n', "\r\n");
    }
    (s, has_target)
}

#[test]
fn generated_configs_keep_every_other_document_and_change_exactly_the_environment() {
    // Another seed can be tried with TALOS_CONFIG_PROPTEST_SEED=<u64>.
    let seed = std::env::var("TALOS_CONFIG_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(0x9e37_79b9_7f4a_7c15, |s| s | 1);
    let mut rng = Rng(seed);
    let (mut edited, mut appended) = (0, 0);
    for case in 0..1500 {
        let (input, has_target) = config(&mut rng);
        let count = rng.below(4);
        let mut names: Vec<&str> = Vec::new();
        while names.len() < count {
            let n = rng.pick(NAMES);
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let values: Vec<String> = names
            .iter()
            .map(|_| word(&mut rng, TRICKY_CHARS, 16))
            .collect();
        let set: Vec<(&str, &str)> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| (*n, v.as_str()))
            .collect();

        let result = std::panic::catch_unwind(|| check(&input, "tailscale", &set));
        let Ok(out) = result else {
            panic!("seed {seed}, case {case} failed\ninput:\n{input:?}\nset: {set:?}");
        };
        if has_target {
            edited += 1;
        } else {
            appended += 1;
        }
        // The edit is idempotent: doing it again changes nothing.
        assert_eq!(
            set_extension_environment(&out, "tailscale", &set).unwrap(),
            out,
            "case {case}"
        );
        assert_eq!(
            documents(&out).unwrap().len(),
            documents(&input).unwrap().len() + usize::from(!has_target && !set.is_empty())
        );
    }
    assert!(
        edited > 500 && appended > 400,
        "{edited} edited, {appended} appended"
    );
}
