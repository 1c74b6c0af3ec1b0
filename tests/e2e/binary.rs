//! The agent binary as linked: its relative relocations packed (`DT_RELR`) when the glibc it
//! is built on applies them (2.36 or later), which keeps an 800 KB relocation table out of
//! the idle agent's memory (`agent/build.rs`).

use std::io::{Read, Seek, SeekFrom};
use std::process::Command;

/// `DT_RELASZ` and `DT_RELR` of the ELF dynamic section.
const DT_RELASZ: u64 = 8;
const DT_RELR: u64 = 36;

/// The (tag, value) pairs of an ELF64 little-endian file's dynamic section.
fn dynamic_entries(path: &std::path::Path) -> Vec<(u64, u64)> {
    let mut f = std::fs::File::open(path).expect("binary");
    let mut header = [0u8; 64];
    f.read_exact(&mut header).expect("ELF header");
    assert_eq!(&header[..4], b"\x7fELF", "an ELF file");
    assert_eq!((header[4], header[5]), (2, 1), "ELF64, little-endian");
    let u16_at = |b: &[u8], o: usize| u64::from(u16::from_le_bytes([b[o], b[o + 1]]));
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let (phoff, phentsize, phnum) = (
        u64_at(&header, 0x20),
        u16_at(&header, 0x36),
        u16_at(&header, 0x38),
    );
    let mut phdrs = vec![0u8; usize::try_from(phentsize * phnum).expect("size")];
    f.seek(SeekFrom::Start(phoff)).expect("seek");
    f.read_exact(&mut phdrs).expect("program headers");
    let dynamic = phdrs
        .chunks(usize::try_from(phentsize).expect("size"))
        .find(|p| u32::from_le_bytes(p[..4].try_into().expect("4 bytes")) == 2)
        .expect("PT_DYNAMIC");
    let (offset, size) = (u64_at(dynamic, 8), u64_at(dynamic, 32));
    let mut entries = vec![0u8; usize::try_from(size).expect("size")];
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.read_exact(&mut entries).expect("dynamic section");
    entries
        .chunks_exact(16)
        .map(|e| (u64_at(e, 0), u64_at(e, 8)))
        .take_while(|&(tag, _)| tag != 0)
        .collect()
}

/// This machine's glibc (the one the binary was built on, here).
fn glibc_at_least_2_36() -> bool {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .expect("getconf");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = text.trim().trim_start_matches("glibc ").split('.');
    let major: u32 = v.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor: u32 = v.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (major, minor) >= (2, 36)
}

#[test]
fn relative_relocations_are_packed_where_glibc_applies_them() {
    let entries = dynamic_entries(&gleaner_e2e::gleaner_bin());
    let tag = |t: u64| entries.iter().find(|(tag, _)| *tag == t).map(|&(_, v)| v);
    let packed =
        glibc_at_least_2_36() && std::env::var("GLEANER_PACK_RELOCS").as_deref() != Ok("0");
    if packed {
        assert!(tag(DT_RELR).is_some(), "DT_RELR in {entries:?}");
        // Left in .rela.dyn: the few relocations that are not relative (808 KB unpacked).
        let rela = tag(DT_RELASZ).unwrap_or(0);
        assert!(rela < 64 * 1024, "{rela} bytes of RELA relocations");
    } else {
        assert_eq!(tag(DT_RELR), None, "built without packed relocations");
    }
}
