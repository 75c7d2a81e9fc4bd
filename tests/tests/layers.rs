//! The import graph of every workspace crate's `src/`, drawn from the source
//! text: no file imports a file that imports it back (directly or around a
//! longer circle), and in the core no file imports one on a higher floor
//! (the floors are [`CORE_FLOORS`], the files on them [`CORE_LAYERS`]).
//!
//! An edge `a.rs → b.rs` is any `use` in `a.rs` (private or public, globs
//! included), any path in its code that starts at `crate`, `super`, `self`
//! or a name in scope, and any such path written inside a macro call, that
//! leads to an item defined in `b.rs`. Paths are followed through
//! re-exports to the file that defines the item, so a `mod.rs` that
//! re-exports its children is not what their users import. A module
//! declaration (`mod x;`) is structure, not an import. Code under
//! `#[cfg(test)]` is left out: tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

/// The crates whose `src/` is checked, each with its crate roots.
const CRATES: [(&str, &[&str]); 7] = [
    ("core", &["lib.rs"]),
    ("engine", &["lib.rs"]),
    ("connector", &["lib.rs"]),
    ("cli", &["main.rs"]),
    ("io-tokio", &["lib.rs"]),
    ("io-smol", &["lib.rs"]),
    ("tests", &["lib.rs", "main.rs"]),
];

/// The core's floors, lowest first. A file may import files on its own
/// floor or below, never above.
const CORE_FLOORS: &[&str] = &[
    "ground: time, randomness, request ids, redaction, lenient decoding",
    "messages and descriptors",
    "recycling",
    "wire",
    "auth, configuration, HTTP calls",
    "state machine helpers",
    "connection: vocabulary and rules",
    "connection: what every state shares",
    "connection: typed states",
    "connection: transitions",
    "connection: dispatch over the typed states",
    "connection: Connection",
    "crate root and fuzz targets",
];

/// The floor of every file of `core/src/` (a path ending in `/` covers a
/// folder; the longest match wins).
const CORE_LAYERS: &[(&str, usize)] = &[
    ("time.rs", 0),
    ("rng.rs", 0),
    ("request_id.rs", 0),
    ("redact.rs", 0),
    ("lax/", 0),
    ("message/", 1),
    ("descriptor.rs", 1),
    ("recycle.rs", 2),
    ("wire/", 3),
    ("auth.rs", 4),
    ("config/", 4),
    ("calls/", 4),
    ("requests.rs", 5),
    ("scope.rs", 5),
    ("dedupe.rs", 5),
    ("replay.rs", 5),
    ("redial_hold.rs", 5),
    ("backoff.rs", 5),
    ("timer.rs", 5),
    ("connection/types.rs", 6),
    ("connection/revocation.rs", 6),
    ("connection/planted.rs", 6),
    ("connection/shared.rs", 7),
    ("connection/receiving.rs", 7),
    ("connection/sending.rs", 7),
    ("connection/states.rs", 8),
    ("connection/in_state.rs", 8),
    ("connection/outcomes.rs", 8),
    ("connection/dialing.rs", 9),
    ("connection/handshaking.rs", 9),
    ("connection/serving.rs", 9),
    ("connection/going_idle.rs", 9),
    ("connection/buffered.rs", 9),
    ("connection/closing.rs", 9),
    ("connection/any_state.rs", 10),
    ("connection/mod.rs", 11),
    ("lib.rs", 12),
    ("fuzzing.rs", 12),
];

// ---------------------------------------------------------------------------
// The module tree

#[derive(Debug, Default)]
struct Module {
    file: usize,
    parent: Option<usize>,
    /// Where the files of its child modules are.
    dir: PathBuf,
    children: BTreeMap<String, usize>,
    /// Items defined in it (types, functions, constants, traits, …).
    items: BTreeSet<String>,
    /// Names brought in by `use`, with the path they stand for.
    names: BTreeMap<String, Vec<String>>,
    /// Paths of its glob imports.
    globs: Vec<Vec<String>>,
}

/// One path written in a file, to be resolved from `module`.
#[derive(Debug)]
struct Reference {
    module: usize,
    line: usize,
    path: Vec<String>,
}

#[derive(Debug, Default)]
struct Tree {
    /// Paths relative to the workspace root.
    files: Vec<String>,
    modules: Vec<Module>,
    references: Vec<Reference>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && matches!(&a.meta, syn::Meta::List(l) if l.tokens.to_string().trim() == "test")
    })
}

fn ident_path(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// The uses of one `use` tree: `(path, name it binds or None for a glob)`.
fn flatten_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push((prefix.clone(), Some(last.clone())));
                }
            } else {
                let mut p = prefix.clone();
                p.push(name.clone());
                out.push((p, Some(name)));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut p = prefix.clone();
            let name = r.ident.to_string();
            if name != "self" {
                p.push(name);
            }
            out.push((p, Some(r.rename.to_string())));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), None)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

/// Paths of two or more segments written in code, and those written in
/// macro calls.
struct Paths<'t> {
    module: usize,
    out: &'t mut Vec<Reference>,
}

impl Paths<'_> {
    fn push(&mut self, line: usize, path: Vec<String>) {
        if path.len() >= 2 {
            self.out.push(Reference {
                module: self.module,
                line,
                path,
            });
        }
    }

    fn scan_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            if let TokenTree::Group(g) = &trees[i] {
                self.scan_tokens(g.stream());
                i += 1;
                continue;
            }
            let start = match &trees[i] {
                TokenTree::Ident(id)
                    if ["crate", "super", "self"].contains(&id.to_string().as_str()) =>
                {
                    Some((id.span().start().line, id.to_string()))
                }
                _ => None,
            };
            let Some((line, first)) = start else {
                i += 1;
                continue;
            };
            let mut path = vec![first];
            let mut j = i + 1;
            loop {
                let colons = matches!(
                    (trees.get(j), trees.get(j + 1)),
                    (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
                );
                match (colons, trees.get(j + 2)) {
                    (true, Some(TokenTree::Ident(id))) => {
                        path.push(id.to_string());
                        j += 3;
                    }
                    _ => break,
                }
            }
            self.push(line, path);
            i = j.max(i + 1);
        }
    }
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.push(p.span().start().line, ident_path(p));
        syn::visit::visit_path(self, p);
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut uses = Vec::new();
        flatten_use(&u.tree, &mut Vec::new(), &mut uses);
        let line = u.span().start().line;
        for (path, _) in uses {
            self.out.push(Reference {
                module: self.module,
                line,
                path,
            });
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        syn::visit::visit_path(self, &m.path);
        self.scan_tokens(m.tokens.clone());
    }
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
}

impl Tree {
    fn load(root: &Path, crate_dir: &str, root_file: &str) -> Tree {
        let mut tree = Tree::default();
        let dir = root.join(crate_dir).join("src");
        let file = dir.join(root_file);
        tree.add_file_module(root, &file, dir, None);
        tree
    }

    fn add_file_module(
        &mut self,
        root: &Path,
        file: &Path,
        dir: PathBuf,
        parent: Option<usize>,
    ) -> usize {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let rel = file
            .strip_prefix(root)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        self.files.push(rel);
        let file_id = self.files.len() - 1;
        let m = self.new_module(file_id, parent, dir);
        self.add_items(root, &parsed.items, m);
        m
    }

    fn new_module(&mut self, file: usize, parent: Option<usize>, dir: PathBuf) -> usize {
        self.modules.push(Module {
            file,
            parent,
            dir,
            ..Module::default()
        });
        self.modules.len() - 1
    }

    fn add_items(&mut self, root: &Path, items: &[syn::Item], m: usize) {
        for item in items {
            let attrs: &[syn::Attribute] = match item {
                syn::Item::Const(i) => &i.attrs,
                syn::Item::Enum(i) => &i.attrs,
                syn::Item::Fn(i) => &i.attrs,
                syn::Item::Impl(i) => &i.attrs,
                syn::Item::Macro(i) => &i.attrs,
                syn::Item::Mod(i) => &i.attrs,
                syn::Item::Static(i) => &i.attrs,
                syn::Item::Struct(i) => &i.attrs,
                syn::Item::Trait(i) => &i.attrs,
                syn::Item::Type(i) => &i.attrs,
                syn::Item::Union(i) => &i.attrs,
                syn::Item::Use(i) => &i.attrs,
                _ => &[],
            };
            if is_cfg_test(attrs) {
                continue;
            }
            let defined = match item {
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::TraitAlias(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                _ => None,
            };
            if let Some(ident) = defined {
                self.modules[m].items.insert(ident.to_string());
            }
            match item {
                syn::Item::Mod(module) => self.add_module(root, module, m),
                syn::Item::Use(u) => {
                    let mut uses = Vec::new();
                    flatten_use(&u.tree, &mut Vec::new(), &mut uses);
                    let line = u.span().start().line;
                    for (path, name) in uses {
                        match name {
                            Some(name) => {
                                self.modules[m].names.insert(name, path.clone());
                            }
                            None => self.modules[m].globs.push(path.clone()),
                        }
                        self.references.push(Reference {
                            module: m,
                            line,
                            path,
                        });
                    }
                }
                other => {
                    let mut paths = Paths {
                        module: m,
                        out: &mut self.references,
                    };
                    paths.visit_item(other);
                }
            }
        }
    }

    fn add_module(&mut self, root: &Path, module: &syn::ItemMod, parent: usize) {
        let name = module.ident.to_string();
        let dir = self.modules[parent].dir.join(&name);
        let child = match &module.content {
            Some((_, items)) => {
                let file = self.modules[parent].file;
                let child = self.new_module(file, Some(parent), dir);
                self.add_items(root, items, child);
                child
            }
            None => {
                let flat = self.modules[parent].dir.join(format!("{name}.rs"));
                let file = if flat.exists() {
                    flat
                } else {
                    dir.join("mod.rs")
                };
                self.add_file_module(root, &file, dir, Some(parent))
            }
        };
        self.modules[parent].children.insert(name, child);
    }

    // -----------------------------------------------------------------------
    // Resolution

    /// The module a path leads to, or the module defining the item it names.
    fn resolve(
        &self,
        from: usize,
        path: &[String],
        seen: &mut BTreeSet<(usize, String)>,
    ) -> Option<Found> {
        let mut cur = from;
        let mut rest = path;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                cur = 0;
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    cur = self.modules[cur].parent?;
                    rest = &rest[1..];
                }
            }
            _ => {}
        }
        for seg in rest {
            match self.lookup(cur, seg, seen)? {
                Found::Module(m) => cur = m,
                // Later segments are variants or associated items.
                item @ Found::Item(_) => return Some(item),
            }
        }
        Some(Found::Module(cur))
    }

    fn lookup(&self, m: usize, name: &str, seen: &mut BTreeSet<(usize, String)>) -> Option<Found> {
        if !seen.insert((m, name.to_owned())) {
            return None;
        }
        let module = &self.modules[m];
        if let Some(&c) = module.children.get(name) {
            return Some(Found::Module(c));
        }
        if module.items.contains(name) {
            return Some(Found::Item(m));
        }
        if let Some(path) = module.names.get(name) {
            return self.resolve(m, path, seen);
        }
        for glob in &module.globs {
            if let Some(Found::Module(g)) = self.resolve(m, glob, seen)
                && let Some(found) = self.lookup(g, name, seen)
            {
                return Some(found);
            }
        }
        None
    }

    /// File edges: `(importer, imported) → [(line, path)]`.
    fn edges(&self) -> Edges {
        let mut edges: BTreeMap<(usize, usize), Vec<(usize, String)>> = BTreeMap::new();
        for r in &self.references {
            let from = self.modules[r.module].file;
            let (Some(Found::Module(target)) | Some(Found::Item(target))) =
                self.resolve(r.module, &r.path, &mut BTreeSet::new())
            else {
                continue;
            };
            // A path that ends at its own module's file names nothing imported.
            let to = self.modules[target].file;
            if to != from {
                edges
                    .entry((from, to))
                    .or_default()
                    .push((r.line, r.path.join("::")));
            }
        }
        edges
    }
}

/// File edges: `(importer, imported) → [(line, path)]`.
type Edges = BTreeMap<(usize, usize), Vec<(usize, String)>>;

#[derive(Clone, Copy, Debug)]
enum Found {
    Module(usize),
    Item(usize),
}

// ---------------------------------------------------------------------------
// Circles

/// Strongly connected components of more than one file (Tarjan).
fn circles(n: usize, edges: &Edges) -> Vec<Vec<usize>> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges.keys() {
        next[a].push(b);
    }
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        counter: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, next: &[Vec<usize>], s: &mut State) {
        s.index[v] = Some(s.counter);
        s.low[v] = s.counter;
        s.counter += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &next[v] {
            match s.index[w] {
                None => {
                    visit(w, next, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(i) if s.on_stack[w] => s.low[v] = s.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort_unstable();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        counter: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(v, &next, &mut s);
        }
    }
    s.out
}

/// One circle through the first file of `component`, as text.
fn describe_circle(tree: &Tree, component: &[usize], edges: &Edges) -> String {
    let inside: BTreeSet<usize> = component.iter().copied().collect();
    let start = component[0];
    // Breadth-first from `start` back to it, inside the component.
    let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut closing = None;
    while let Some(v) = queue.pop_front() {
        for (&(a, b), _) in edges.range((v, 0)..=(v, usize::MAX)) {
            debug_assert_eq!(a, v);
            if b == start {
                closing = Some(v);
                break;
            }
            if inside.contains(&b) && !came_from.contains_key(&b) {
                came_from.insert(b, v);
                queue.push_back(b);
            }
        }
        if closing.is_some() {
            break;
        }
    }
    let mut middle = Vec::new();
    let mut v = closing.unwrap_or(start);
    while v != start {
        middle.push(v);
        v = came_from[&v];
    }
    middle.reverse();
    let mut chain = vec![start];
    chain.extend(middle);
    chain.push(start);
    let mut text = String::new();
    for &a in component {
        for &b in component {
            if a < b
                && let (Some(ab), Some(ba)) = (edges.get(&(a, b)), edges.get(&(b, a)))
            {
                let _ = writeln!(
                    text,
                    "    {} ⇄ {} ({}:{}: {}; {}:{}: {})",
                    tree.files[a],
                    tree.files[b],
                    tree.files[a],
                    ab[0].0,
                    ab[0].1,
                    tree.files[b],
                    ba[0].0,
                    ba[0].1
                );
            }
        }
    }
    let _ = writeln!(text, "  one way around:");
    for pair in chain.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (line, path) = &edges[&(a, b)][0];
        let _ = writeln!(
            text,
            "    {} imports {} ({}:{line}: {path})",
            tree.files[a], tree.files[b], tree.files[a]
        );
    }
    text
}

// ---------------------------------------------------------------------------
// The checks

/// The floor `table` gives `file` (a path under `src_dir`).
fn floor_of(table: &[(&str, usize)], src_dir: &str, file: &str) -> Option<usize> {
    let rel = file.strip_prefix(src_dir)?;
    table
        .iter()
        .filter(|(p, _)| {
            if p.ends_with('/') {
                rel.starts_with(p)
            } else {
                rel == *p
            }
        })
        .max_by_key(|(p, _)| p.len())
        .map(|&(_, floor)| floor)
}

/// An import that reaches a higher floor.
struct Upward {
    importer: String,
    importer_floor: usize,
    imported: String,
    imported_floor: usize,
    line: usize,
    path: String,
}

/// The files without a floor, and the imports that reach a higher floor.
fn floor_problems(
    tree: &Tree,
    edges: &Edges,
    table: &[(&str, usize)],
    src_dir: &str,
) -> (Vec<String>, Vec<Upward>) {
    let floor = |f: &str| floor_of(table, src_dir, f);
    let unplaced = tree
        .files
        .iter()
        .filter(|f| floor(f).is_none())
        .cloned()
        .collect();
    let mut upward = Vec::new();
    for (&(a, b), uses) in edges {
        let (fa, fb) = (&tree.files[a], &tree.files[b]);
        if let (Some(la), Some(lb)) = (floor(fa), floor(fb))
            && lb > la
        {
            let (line, path) = uses[0].clone();
            upward.push(Upward {
                importer: fa.clone(),
                importer_floor: la,
                imported: fb.clone(),
                imported_floor: lb,
                line,
                path,
            });
        }
    }
    (unplaced, upward)
}

struct Findings {
    problems: Vec<String>,
}

fn check_everything() -> Findings {
    let root = workspace();
    let mut f = Findings {
        problems: Vec::new(),
    };
    for (krate, roots) in CRATES {
        for root_file in roots {
            let tree = Tree::load(&root, krate, root_file);
            let edges = tree.edges();
            for component in circles(tree.files.len(), &edges) {
                let files: BTreeSet<String> =
                    component.iter().map(|&i| tree.files[i].clone()).collect();
                f.problems.push(format!(
                    "import circle among {}:\n{}",
                    files.iter().cloned().collect::<Vec<_>>().join(", "),
                    describe_circle(&tree, &component, &edges)
                ));
            }
            if krate != "core" {
                continue;
            }
            let (unplaced, upward) = floor_problems(&tree, &edges, CORE_LAYERS, "core/src/");
            for file in unplaced {
                f.problems
                    .push(format!("{file} has no floor: add it to CORE_LAYERS"));
            }
            for u in upward {
                f.problems.push(format!(
                    "{} (floor {}, {}) imports {} (floor {}, {}), a higher floor: {}:{}: {}",
                    u.importer,
                    u.importer_floor,
                    CORE_FLOORS[u.importer_floor],
                    u.imported,
                    u.imported_floor,
                    CORE_FLOORS[u.imported_floor],
                    u.importer,
                    u.line,
                    u.path
                ));
            }
        }
    }
    f
}

#[test]
fn no_import_circles_and_the_core_imports_only_downwards() {
    let problems = check_everything().problems;
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The checker itself: it sees a circle written across two modules, a path
/// that reaches an item through a re-export, and one in a macro call; and
/// an import that reaches a higher floor.
#[test]
fn the_checker_sees_circles_through_re_exports_and_macros_and_upward_imports() {
    let dir = std::env::temp_dir().join(format!("relay-layers-{}", std::process::id()));
    let src = dir.join("fake").join("src");
    std::fs::create_dir_all(src.join("deep")).unwrap_or_else(|e| panic!("{e}"));
    let write = |p: &str, text: &str| {
        std::fs::write(src.join(p), text).unwrap_or_else(|e| panic!("{p}: {e}"));
    };
    write("lib.rs", "mod a;\nmod deep;\npub use deep::B;\n");
    write("a.rs", "pub struct A;\nfn f() { let _ = crate::B; }\n");
    write("deep/mod.rs", "mod b;\npub use b::B;\n");
    write("deep/b.rs", "pub struct B;\nfn g() { m!(crate::a::A); }\n");
    let tree = Tree::load(&dir, "fake", "lib.rs");
    let edges = tree.edges();
    let found = circles(tree.files.len(), &edges);
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<Vec<&str>> = found
        .iter()
        .map(|c| c.iter().map(|&i| tree.files[i].as_str()).collect())
        .collect();
    assert_eq!(names, [["fake/src/a.rs", "fake/src/deep/b.rs"]]);
    let floors = [("lib.rs", 2), ("a.rs", 0), ("deep/", 1)];
    let (unplaced, upward) = floor_problems(&tree, &edges, &floors, "fake/src/");
    assert!(unplaced.is_empty(), "{unplaced:?}");
    let upward: Vec<(&str, &str)> = upward
        .iter()
        .map(|u| (u.importer.as_str(), u.imported.as_str()))
        .collect();
    assert_eq!(upward, [("fake/src/a.rs", "fake/src/deep/b.rs")]);
}
