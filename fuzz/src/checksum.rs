//! Recomputes the checksums of a (mutated) file so it reaches the checks behind them.
//! Layouts: `format-spec/wal.md`, `format-spec/index.md`, and the manifest header
//! (`engine/src/manifest/mod.rs`). Inputs too short to hold a field are left alone.

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// WAL: the header crc (bytes 24..28 over 0..24), then each complete frame's crc (over its
/// LSN and payload), walking frames by their declared lengths from offset 28.
pub fn fix_wal(b: &mut [u8]) {
    const HEADER: usize = 28;
    if b.len() < HEADER {
        return;
    }
    let crc = crc32c::crc32c(&b[..24]);
    put_u32(b, 24, crc);
    let mut at = HEADER;
    while let Some(len) = get_u32(b, at) {
        let end = match (at + 16).checked_add(len as usize) {
            Some(end) if end <= b.len() => end,
            _ => return,
        };
        let crc = crc32c::crc32c(&b[at + 8..end]);
        put_u32(b, at + 4, crc);
        at = end;
    }
}

/// Index: the file crc at offset 12, over everything else.
pub fn fix_index(b: &mut [u8]) {
    if b.len() < 16 {
        return;
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&b[..12]), &b[16..]);
    put_u32(b, 12, crc);
}

/// Manifest: body length (offset 16) = the rest of the input, crc (offset 20) over the first
/// 20 header bytes and the body.
pub fn fix_manifest(b: &mut [u8]) {
    const HEADER: usize = 24;
    if b.len() < HEADER {
        return;
    }
    let body_len = (b.len() - HEADER) as u32;
    put_u32(b, 16, body_len);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&b[..20]), &b[HEADER..]);
    put_u32(b, 20, crc);
}

/// Kernel state file: body length (offset 20, u64) = the rest of the input, crc (offset 28)
/// over the body.
pub fn fix_kernel_state(b: &mut [u8]) {
    const HEADER: usize = 32;
    if b.len() < HEADER {
        return;
    }
    let body_len = (b.len() - HEADER) as u64;
    b[20..28].copy_from_slice(&body_len.to_le_bytes());
    let crc = crc32c::crc32c(&b[HEADER..]);
    put_u32(b, 28, crc);
}
