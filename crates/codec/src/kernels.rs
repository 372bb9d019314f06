//! Hot-loop kernels over BGRX rows. The 4th byte of every pixel is ignored.

/// Mask keeping B,G,R of two little-endian BGRX pixels in a u64.
const MASK2: u64 = 0x00FF_FFFF_00FF_FFFF;

/// True when two BGRX runs of equal length hold the same B,G,R bytes.
#[inline]
pub(crate) fn bgr_eq(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = 0u64;
    let ca = a.chunks_exact(32);
    let cb = b.chunks_exact(32);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let mut part = 0u64;
        for i in 0..4 {
            let xa = u64::from_le_bytes(word(x, i));
            let yb = u64::from_le_bytes(word(y, i));
            part |= xa ^ yb;
        }
        acc |= part & MASK2;
    }
    for (x, y) in ra.chunks_exact(4).zip(rb.chunks_exact(4)) {
        acc |= u64::from((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]));
    }
    acc == 0
}

#[inline(always)]
fn word(x: &[u8], i: usize) -> [u8; 8] {
    let mut w = [0u8; 8];
    w.copy_from_slice(&x[i * 8..i * 8 + 8]);
    w
}

/// A 64-bit hash of the B,G,R bytes of a BGRX run (4 independent lanes).
#[inline]
pub(crate) fn bgr_hash(a: &[u8]) -> u64 {
    const K: [u64; 4] = [
        0x9E37_79B9_7F4A_7C15,
        0xC2B2_AE3D_27D4_EB4F,
        0x1656_67B1_9E37_79F9,
        0x85EB_CA77_C2B2_AE63,
    ];
    let mut h = [1u64, 2, 3, 4];
    let c = a.chunks_exact(32);
    let r = c.remainder();
    for x in c {
        for i in 0..4 {
            let v = u64::from_le_bytes(word(x, i)) & MASK2;
            h[i] = (h[i] ^ v).wrapping_mul(K[i]).rotate_left(29);
        }
    }
    let mut t = 0u64;
    for p in r.chunks_exact(4) {
        t = (t ^ u64::from(u32::from_le_bytes([p[0], p[1], p[2], 0]))).wrapping_mul(K[0]);
    }
    let mut out = h[0] ^ h[1].rotate_left(17) ^ h[2].rotate_left(31) ^ h[3].rotate_left(47) ^ t;
    out ^= out >> 32;
    out = out.wrapping_mul(K[1]);
    out ^ (out >> 29)
}

/// True when every pixel of a BGRX run has the same B,G,R as its first.
#[inline]
pub(crate) fn bgr_uniform(a: &[u8]) -> bool {
    if a.len() < 4 {
        return true;
    }
    let p = u32::from_le_bytes([a[0], a[1], a[2], 0]);
    let p2 = u64::from(p) | (u64::from(p) << 32);
    let mut acc = 0u64;
    let c = a.chunks_exact(8);
    let r = c.remainder();
    for x in c {
        let mut w = [0u8; 8];
        w.copy_from_slice(x);
        acc |= (u64::from_le_bytes(w) & MASK2) ^ p2;
    }
    for x in r.chunks_exact(4) {
        acc |= u64::from(u32::from_le_bytes([x[0], x[1], x[2], 0]) ^ p);
    }
    acc == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn eq_ignores_fourth_byte() {
        let a: Vec<u8> = (0..400u32).map(|i| (i * 7) as u8).collect();
        let mut b = a.clone();
        for i in (3..b.len()).step_by(4) {
            b[i] ^= 0x5A;
        }
        assert!(bgr_eq(&a, &b));
        assert_eq!(bgr_hash(&a), bgr_hash(&b));
        for i in [0usize, 5, 130, 258, 397] {
            let mut c = b.clone();
            c[i] ^= 1;
            assert!(!bgr_eq(&a, &c), "byte {i}");
            assert_ne!(bgr_hash(&a), bgr_hash(&c));
        }
    }

    #[test]
    fn uniform() {
        let mut a = [10u8, 20, 30, 99].repeat(37);
        a[7] = 0;
        assert!(bgr_uniform(&a));
        a[140] = 1;
        assert!(!bgr_uniform(&a));
    }
}
