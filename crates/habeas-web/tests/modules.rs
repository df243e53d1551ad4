//! The web crate's modules form layers, never a circle: the shared state and the leaves under
//! it, the pages and API handlers on top of them, the OpenAPI document and the route table on
//! top of those. This test reads the sources, draws an edge from each file to every module of
//! the crate it names (`crate::x`, `super::x`, a child or, through `use super::*`, a sibling),
//! leaving out comments and the unit tests at the end of a file, and fails on any cycle,
//! naming it.
#![expect(clippy::expect_used, reason = "a test fails loudly")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module's name from its file: `src/state.rs` is `state`, `src/ui/person.rs` is
/// `ui::person`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its unit tests.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    body.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string (a URL) is rare in these files and only hides a name.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The longest known module that `path` (`a::b::c`) names, if any.
fn resolve(path: &[&str], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(src, f))
        .filter(|m| m != "lib")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let me = module_of(src, f);
        if me == "lib" {
            continue;
        }
        let text = code(&std::fs::read_to_string(f).expect("read"));
        let parent: Vec<&str> = me.split("::").collect::<Vec<_>>();
        let parent = &parent[..parent.len() - 1];
        let glob_parent = text.contains("use super::*");
        let out = graph.entry(me.clone()).or_default();
        // Every run of `ident::ident::…` in the code.
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let starts = (c.is_ascii_alphabetic() || c == b'_')
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
                && (i < 2 || &bytes[i - 2..i] != b"::");
            if !starts {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b':')
            {
                j += 1;
            }
            let run = &text[i..j];
            i = j.max(i + 1);
            let parts: Vec<&str> = run.split("::").filter(|p| !p.is_empty()).collect();
            if parts.len() < 2 && !(parts.len() == 1 && run.ends_with("::")) {
                continue;
            }
            let target = match parts.first().copied() {
                Some("crate") => resolve(&parts[1..], &modules),
                Some("super") => {
                    let mut full: Vec<&str> = parent.to_vec();
                    full.extend(&parts[1..]);
                    resolve(&full, &modules)
                        .or_else(|| (!parent.is_empty()).then(|| parent.join("::")))
                }
                Some(first) => {
                    // A child of this module, or (for a module that imports its parent's
                    // names) a sibling.
                    let mut child: Vec<&str> = me.split("::").collect();
                    child.extend(&parts);
                    let mut sibling: Vec<&str> = parent.to_vec();
                    sibling.extend(&parts);
                    resolve(&child, &modules).filter(|m| m != &me).or_else(|| {
                        (glob_parent
                            && modules.contains(&{
                                let mut s = parent.to_vec();
                                s.push(first);
                                s.join("::")
                            }))
                        .then(|| resolve(&sibling, &modules))
                        .flatten()
                    })
                }
                None => None,
            };
            if let Some(t) = target {
                if t != me {
                    out.insert(t);
                }
            }
        }
        if glob_parent && !parent.is_empty() {
            out.insert(parent.join("::"));
        }
    }
    graph
}

/// A cycle of the graph, if it has one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(n.to_owned(), Mark::Open);
        stack.push(n.to_owned());
        for m in graph.get(n).into_iter().flatten() {
            match marks.get(m).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let from = stack.iter().position(|s| s == m).expect("on the stack");
                    let mut c = stack[from..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                Mark::New => {
                    if let Some(c) = visit(m, graph, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(n.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        if marks.get(n).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(n, graph, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_web_crates_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = edges(&src);
    if let Some(c) = cycle(&graph) {
        panic!(
            "the modules import each other in a circle: {}",
            c.join(" -> ")
        );
    }
    // The layers the crate's documentation promises.
    let uses = |a: &str, b: &str| graph.get(a).is_some_and(|s| s.contains(b));
    for handler in ["api", "ui", "session", "file", "service", "control"] {
        assert!(
            uses(handler, "state"),
            "{handler} should use the shared state"
        );
        assert!(
            !uses(handler, "routes"),
            "{handler} must not depend on the route table"
        );
        assert!(
            !uses(handler, "openapi"),
            "{handler} must not depend on the document"
        );
    }
    for leaf in [
        "state",
        "error",
        "schema",
        "users",
        "limits",
        "evaluations",
        "access",
        "auth",
    ] {
        for upper in ["api", "ui", "routes", "openapi", "session", "file"] {
            assert!(!uses(leaf, upper), "{leaf} must not depend on {upper}");
        }
    }
    assert!(uses("routes", "api") && uses("routes", "ui::person"));
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    let c = cycle(&g).expect("a cycle");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
    g.get_mut("c").expect("c").clear();
    assert_eq!(cycle(&g), None);
}

#[test]
fn the_reader_sees_crate_super_child_and_sibling_paths() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path();
    std::fs::create_dir_all(src.join("ui")).expect("mkdir");
    std::fs::write(src.join("lib.rs"), "pub mod ui; pub mod state;").expect("w");
    std::fs::write(src.join("state.rs"), "// crate::ui::a is only a comment\n").expect("w");
    std::fs::write(src.join("ui.rs"), "mod a; mod b;\nfn f() { a::g(); }\n").expect("w");
    std::fs::write(src.join("ui/a.rs"), "use super::*;\nfn g() { b::h(); crate::state::x(); }\n#[cfg(test)]\nmod tests { fn t() { crate::ui::b::h(); } }\n").expect("w");
    std::fs::write(src.join("ui/b.rs"), "fn h() { super::f(); }\n").expect("w");
    let g = edges(src);
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(g["state"], set(&[]));
    assert_eq!(g["ui"], set(&["ui::a"]));
    assert_eq!(g["ui::a"], set(&["ui", "ui::b", "state"]));
    assert_eq!(g["ui::b"], set(&["ui"]));
    assert!(cycle(&g).is_some());
}
