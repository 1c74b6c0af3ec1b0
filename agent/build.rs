//! Link options of the `gleaner` binary: its relative relocations packed (`DT_RELR`,
//! `-z pack-relative-relocs`) where the C library it is built against can apply them.
//!
//! Why: a position-independent executable carries one 24-byte relocation per absolute address
//! in its data (vtables, panic locations, tables of `&'static str`): 33,491 of them, an
//! 808 KB table that the loader reads at every start, so that its pages stay mapped, 64 KiB
//! around each page read: 0.8 MiB of the idle agent's 12.1 MiB resident set (`bench idle`,
//! docs/decisions.md, *Idle memory*). Packed, the table is a few kilobytes. glibc applies
//! packed relocations from 2.36 on and a binary using them asks for `GLIBC_ABI_DT_RELR`, so
//! the option is passed only when the glibc this build runs on (`getconf GNU_LIBC_VERSION`:
//! the one it links against, when not cross-compiling) is 2.36 or later, as in the image
//! (Debian bookworm, distroless/cc); elsewhere the binary is linked as before.
//! `GLEANER_PACK_RELOCS=0` turns it off.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GLEANER_PACK_RELOCS");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let off = std::env::var("GLEANER_PACK_RELOCS").as_deref() == Ok("0");
    let cross = std::env::var("HOST").ok() != std::env::var("TARGET").ok();
    if !linux_gnu || off || cross {
        return;
    }
    if glibc_version().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The build machine's glibc as (major, minor), from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}
