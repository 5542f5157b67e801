//! Packs the bundled buildpacks (`buildpacks/<name>/`) and plugins (`plugins/<name>/`) into
//! one tar each that the binary carries, so a single `berth` executable has them without an
//! install step. Each one's `test/` directory (its fixtures) stays out.

use std::path::Path;

fn pack(builder: &mut tar::Builder<std::fs::File>, dir: &Path, name: &Path) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("cannot read a bundled directory")
        .map(|e| e.expect("cannot read a bundled directory"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let inside = name.join(entry.file_name());
        if path.is_dir() {
            if inside.components().count() == 2 && entry.file_name() == "test" {
                continue;
            }
            pack(builder, &path, &inside);
        } else {
            builder
                .append_path_with_name(&path, &inside)
                .expect("cannot pack a bundled file");
        }
    }
}

/// Packs `dir` into `<OUT_DIR>/<dir>.tar`.
fn bundle(dir: &str) {
    println!("cargo:rerun-if-changed={dir}");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let file = std::fs::File::create(Path::new(&out).join(format!("{dir}.tar")))
        .expect("cannot create a bundle tar");
    let mut builder = tar::Builder::new(file);
    builder.mode(tar::HeaderMode::Deterministic);
    pack(&mut builder, Path::new(dir), Path::new(""));
    builder.finish().expect("cannot write a bundle tar");
}

fn main() {
    bundle("buildpacks");
    bundle("plugins");
    revision();
}

/// `BERTH_REVISION`: the commit being built (`berth_build_info`), when built from a git checkout.
fn revision() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output();
    if let Some(output) = output.ok().filter(|o| o.status.success()) {
        let revision = String::from_utf8_lossy(&output.stdout).trim().to_string();
        println!("cargo:rustc-env=BERTH_REVISION={revision}");
    }
}
