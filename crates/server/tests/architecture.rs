//! The module graph of `src/` keeps the layers of docs/architecture.md: every `crate::` path a
//! file names points to its own layer or one below, the graph has no cycle, and `domain/` is pure
//! (no context, no store, no async). The checker reads the source as text, so it runs in
//! milliseconds and needs no tool; the last two tests show it failing on a planted cycle and on
//! an import against the layer order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module's layer, lowest first. A module may name modules of its own layer or
/// of a lower one. `lib.rs` and `main.rs` only declare and start things, and are not checked.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &["error", "config", "domain"]),
    (
        "components",
        &[
            "clock",
            "store",
            "hashing",
            "srp",
            "sigv4",
            "http_client",
            "tls",
            "smtp",
            "sms",
            "delivery",
            "metrics",
            "keys",
            "triggers",
            "quota",
            "sealing",
            "waf",
        ],
    ),
    ("context", &["ctx"]),
    ("services", &["services"]),
    ("operations", &["ops"]),
    ("protocol", &["protocol"]),
    ("application", &["app"]),
];

/// The paths a file's code names into the crate: `crate::a::b::C`, `$crate::…` (in macros) and
/// `super::…`/`self::…` resolved against the file's own module. Comments, string and character
/// literals and `#[cfg(test)]` modules are left out first.
fn crate_paths(source: &str, module: &[String]) -> Vec<Vec<String>> {
    let code = strip_tests(&code_only(source));
    let mut paths = Vec::new();
    for (keyword, base) in [
        ("crate::", Vec::new()),
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
        ("self::", module.to_vec()),
    ] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(keyword) {
            let before = rest[..at].chars().last();
            let preceded_by_ident = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            rest = &rest[at + keyword.len()..];
            if preceded_by_ident {
                continue;
            }
            let (tree, consumed) = path_tree(rest);
            let mut found = Vec::new();
            expand(&tree, &mut Vec::new(), &mut found);
            for path in found {
                let mut resolved = base.clone();
                for segment in path {
                    if segment == "super" {
                        resolved.pop();
                    } else {
                        resolved.push(segment);
                    }
                }
                paths.push(resolved);
            }
            rest = &rest[consumed..];
        }
    }
    paths
}

/// The code of a file with comments removed and the insides of string and character literals
/// blanked, so that neither can name (or hide) an import.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars[..i].last().is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // r"…" or r#"…"#: ends at a quote followed by as many hashes.
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() && !(chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#'))) {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1 + hashes;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n'); a lifetime ('a) has no closing quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("' '");
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The code without its `#[cfg(test)]` modules (the braces matched, wherever they are).
fn strip_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{').filter(|&o| after[..o].contains("mod ") && !after[..o].contains(';')) else {
            out.push_str("#[cfg(test)]");
            rest = &after["#[cfg(test)]".len()..];
            continue;
        };
        let mut depth = 0;
        let mut end = after.len();
        for (i, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A `use` tree as text: `a::b::{c, d::{e, f}}` up to where it ends; and how many bytes it took.
fn path_tree(s: &str) -> (String, usize) {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return (s[..i].to_string(), i),
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => return (s[..i].to_string(), i),
            _ => {}
        }
    }
    (s.to_string(), s.len())
}

fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    match tree.find('{') {
        None => {
            let mut path = prefix.clone();
            path.extend(tree.split("::").map(str::trim).filter(|p| !p.is_empty() && *p != "self").map(String::from));
            let path: Vec<String> =
                path.into_iter().map(|p| p.split_whitespace().next().unwrap_or("").to_string()).collect();
            out.push(path);
        }
        Some(open) => {
            let head: Vec<String> =
                tree[..open].split("::").map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let (mut depth, mut start) = (0, 0);
            let mut parts = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            let len = prefix.len();
            prefix.extend(head);
            for part in parts.into_iter().filter(|p| !p.trim().is_empty()) {
                expand(part, prefix, out);
            }
            prefix.truncate(len);
        }
    }
}

/// Module path of a file under `src/`: `services/users.rs` → `services::users`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file.trim_end_matches(".rs").split('/').map(String::from).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn layer_of(module: &[String]) -> Option<usize> {
    let top = module.first()?;
    LAYERS.iter().position(|(_, members)| members.contains(&top.as_str()))
}

/// Every violation of the layer rules in a tree of files (path under `src/` → text).
fn check(files: &BTreeMap<String, String>) -> Vec<String> {
    let modules: BTreeSet<Vec<String>> = files.keys().map(|f| module_of(f)).collect();
    let mut problems = Vec::new();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (file, text) in files {
        let from = module_of(file);
        if file == "main.rs" {
            continue;
        }
        if file == "lib.rs" {
            // Only module declarations: a re-export here would join layers unseen.
            let code = code_only(text);
            for line in code.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("#!")) {
                if !(line.starts_with("pub mod ") || line.starts_with("mod ")) {
                    problems.push(format!("lib.rs: `{line}`: lib.rs only declares modules"));
                }
            }
            continue;
        }
        let Some(from_layer) = layer_of(&from) else {
            problems.push(format!("{file}: module `{}` is in no layer (add it to LAYERS)", from.join("::")));
            continue;
        };
        for path in crate_paths(text, &from) {
            let target = (1..=path.len()).rev().map(|k| path[..k].to_vec()).find(|p| modules.contains(p));
            let Some(target) = target else { continue };
            if target == from || target.is_empty() {
                continue;
            }
            let to_layer = layer_of(&target).unwrap_or(usize::MAX);
            if to_layer > from_layer {
                problems.push(format!(
                    "{file}: `{}` ({}) names `crate::{}` ({}), a layer above it",
                    from.join("::"),
                    LAYERS[from_layer].0,
                    path.join("::"),
                    LAYERS.get(to_layer).map_or("no layer", |l| l.0),
                ));
            }
            edges.entry(from.clone()).or_default().insert(target);
        }
        if from.first().is_some_and(|m| m == "domain") {
            let code = strip_tests(&code_only(text));
            for banned in
                ["crate::ctx", "crate::store", "Ctx", "async ", ".await", "tokio::", "std::fs", "std::net", "sqlx"]
            {
                if code.contains(banned) {
                    problems.push(format!("{file}: domain code is pure, but it names `{}`", banned.trim()));
                }
            }
        }
    }
    for cycle in cycles(&edges) {
        problems.push(format!("import cycle: {}", cycle.iter().map(|m| m.join("::")).collect::<Vec<_>>().join(" → ")));
    }
    problems
}

/// Strongly connected components of two or more modules, where neither module is the parent of
/// the other (a `mod.rs` declaring its children is not a cycle).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        components: Vec<Vec<Vec<String>>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: &Vec<String>) {
            let n = self.index.len();
            self.index.insert(v.clone(), n);
            self.low.insert(v.clone(), n);
            self.stack.push(v.clone());
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), low);
                } else if self.stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    let done = &w == v;
                    component.push(w);
                    if done {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let mut t =
        Tarjan { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), components: Vec::new() };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    let related = |a: &Vec<String>, b: &Vec<String>| a.starts_with(b) || b.starts_with(a);
    t.components
        .into_iter()
        .filter(|c| c.len() > 1 && c.iter().any(|a| c.iter().any(|b| !related(a, b))))
        .map(|mut c| {
            c.sort();
            c
        })
        .collect()
}

fn read_tree(dir: &Path, root: &Path, files: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("readable src/") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            read_tree(&path, root, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.strip_prefix(root).expect("under src/").to_string_lossy().replace('\\', "/");
            files.insert(name, std::fs::read_to_string(&path).expect("UTF-8 source"));
        }
    }
}

#[test]
fn the_module_graph_keeps_its_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_tree(&root, &root, &mut files);
    assert!(files.len() > 40, "read {} files", files.len());
    let problems = check(&files);
    assert!(problems.is_empty(), "the layers of docs/architecture.md are broken:\n{}", problems.join("\n"));
}

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files.iter().map(|(f, t)| ((*f).to_string(), (*t).to_string())).collect()
}

#[test]
fn a_planted_cycle_fails_the_check() {
    let files = tree(&[
        ("services/mod.rs", "pub mod users;\npub mod tokens;\n"),
        ("services/users.rs", "use crate::services::tokens::issue;\n"),
        ("services/tokens.rs", "use crate::{error::ApiError, services::users::{self, find}};\n"),
        ("error.rs", ""),
    ]);
    let problems = check(&files);
    assert_eq!(problems, ["import cycle: services::tokens → services::users"]);
}

#[test]
fn an_import_against_the_layer_order_fails_the_check() {
    let files = tree(&[
        ("store/mod.rs", "fn f(ctx: &crate::ctx::Ctx) {}\n// crate::ops in a comment is not an import\n"),
        ("ctx.rs", "use crate::store::Store;\n"),
        ("domain/users.rs", "pub async fn find() {}\n#[cfg(test)]\nmod tests { use crate::ctx::Ctx; }\n"),
        ("ops/mod.rs", "mod auth;\n"),
        // Hidden from a line-based reader: a URL before the path, and a `super::` escape.
        ("ops/auth.rs", "fn f() { g(\"http://x\", crate::app::router); }\nuse super::super::app::serve;\n"),
        ("app.rs", "// crate::ops in a comment, \"crate::ops\" in a string\n"),
    ]);
    let problems = check(&files);
    assert_eq!(
        problems,
        [
            "domain/users.rs: domain code is pure, but it names `async`",
            "ops/auth.rs: `ops::auth` (operations) names `crate::app::router` (application), a layer above it",
            "ops/auth.rs: `ops::auth` (operations) names `crate::app::serve` (application), a layer above it",
            "store/mod.rs: `store` (components) names `crate::ctx::Ctx` (context), a layer above it",
            "import cycle: ctx → store",
        ]
    );
}
