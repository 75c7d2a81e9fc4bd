//! Every Markdown guide is compiled by the doctests of `relay_sim::guides`:
//! this test fails when a guide is added to `docs/` without being listed
//! there, or when a guide holds a Rust block marked `ignore`.

use std::path::Path;

#[test]
fn every_guide_is_compiled_and_none_is_ignored() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib = std::fs::read_to_string(root.join("tests/src/lib.rs")).expect("lib.rs");
    let mut guides: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    guides.push(root.join("README.md"));
    for guide in guides {
        let name = guide
            .strip_prefix(&root)
            .expect("under root")
            .display()
            .to_string();
        assert!(
            lib.contains(&format!("include_str!(\"../../{name}\")")),
            "{name} is not compiled by relay_sim::guides"
        );
        let text = std::fs::read_to_string(&guide).expect("guide");
        let mut in_block = false;
        for (n, line) in text.lines().enumerate() {
            if let Some(info) = line.strip_prefix("```") {
                if !in_block {
                    assert!(
                        !info.trim().is_empty(),
                        "{name}:{}: a code block needs a language (rustdoc would compile it as Rust)",
                        n + 1
                    );
                    assert!(
                        !info.contains("ignore"),
                        "{name}:{}: `ignore` block; use no_run",
                        n + 1
                    );
                }
                in_block = !in_block;
            }
        }
    }
}
