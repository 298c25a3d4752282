//! The layering rule: every OS call lives under `src/sys/`. The portable layer (`src/*.rs`,
//! `src/local_socket/`) and the platform modules (`src/os/`) reach the OS only through
//! `crate::sys`, so no code outside `src/sys/` names `libc`, `rustix` or `windows_sys`
//! (comments and doc examples aside).
//!
//! A scan of the source, so it runs on Linux only; the rule is the same everywhere.
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};

/// The crates whose items are OS calls (or their constants and types).
const OS_CRATES: [&str; 3] = ["libc", "rustix", "windows_sys"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `line` (not a comment) names an OS crate as a path or in a `use`.
fn names_os_crate(line: &str) -> bool {
    let code = line.trim_start();
    if code.starts_with("//") {
        return false;
    }
    OS_CRATES.iter().any(|c| {
        code.contains(&format!("{c}::"))
            || code.contains(&format!("use {c}"))
            || code.contains(&format!("extern crate {c}"))
    })
}

#[test]
fn no_os_calls_outside_src_sys() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found only {files:?} under {src:?}");
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(src.join("sys"))) {
        let text = fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if names_os_crate(line)
                || line.contains("extern \"system\"")
                || line.contains("extern \"C\"")
            {
                let rel = file.strip_prefix(&src).unwrap().display();
                found.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "OS calls outside src/sys/ (move them into src/sys/unix or src/sys/windows):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_what_it_looks_for() {
    assert!(names_os_crate("    let r = unsafe { libc::mkfifo(p, m) };"));
    assert!(names_os_crate(
        "use windows_sys::Win32::System::Pipes::GetNamedPipeHandleStateW;"
    ));
    assert!(names_os_crate("rustix::io::ioctl_fionbio(&fd, true)?;"));
    assert!(!names_os_crate("//! let me = unsafe { libc::geteuid() };"));
    assert!(!names_os_crate(
        "    let x = crate::sys::fifo::create_fifo(path, mode);"
    ));
}
