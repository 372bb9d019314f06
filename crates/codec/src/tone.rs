//! Tone changes: a region whose new pixels are its old pixels put through
//! one affine map per channel, `new = clamp((old * m + k) >> 16, 0, 255)`
//! (a modal's dim overlay, a fade). The encoder learns the map from the
//! pixels themselves and sends it only when it reproduces every pixel of a
//! tile exactly; the decoder applies it in place (the TRANSFORM op).

/// Fixed-point shift of the multiplier.
const SHIFT: u32 = 16;
/// Largest multiplier the encoder searches (x4: brightening past that is
/// no tone change seen on desktops).
const MAX_M: i64 = 4 << SHIFT;
/// No output seen yet for this input value.
const UNSEEN: u16 = u16::MAX;

/// One affine map per channel, in B, G, R order (the op stream's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tone {
    pub(crate) m: [u32; 3],
    pub(crate) k: [i32; 3],
}

impl Tone {
    /// The map of channel `c` as a table.
    pub(crate) fn table(m: u32, k: i32) -> [u8; 256] {
        let mut t = [0u8; 256];
        for (v, out) in t.iter_mut().enumerate() {
            let y = (v as i64 * i64::from(m) + i64::from(k)) >> SHIFT;
            *out = y.clamp(0, 255) as u8;
        }
        t
    }

    /// Bytes of the op's parameters.
    pub(crate) const LEN: usize = 24;

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        for c in 0..3 {
            out.extend_from_slice(&self.m[c].to_le_bytes());
            out.extend_from_slice(&self.k[c].to_le_bytes());
        }
    }
}

/// What each input value of each channel became, learned from pixel pairs;
/// a conflict (one input, two outputs) means no per-channel map exists.
#[derive(Clone)]
pub(crate) struct Lut {
    out: [[u16; 256]; 3],
}

impl Default for Lut {
    fn default() -> Self {
        Self {
            out: [[UNSEEN; 256]; 3],
        }
    }
}

impl Lut {
    pub(crate) fn clear(&mut self) {
        for c in &mut self.out {
            c.fill(UNSEEN);
        }
    }

    /// Learns the pairs of two BGRX runs; false on a conflict (the table is
    /// then partly updated and should be cleared).
    pub(crate) fn learn(&mut self, old: &[u8], new: &[u8]) -> bool {
        let [b, g, r] = &mut self.out;
        for (o, n) in old.chunks_exact(4).zip(new.chunks_exact(4)) {
            for (t, i) in [(&mut *b, 0), (&mut *g, 1), (&mut *r, 2)] {
                let e = &mut t[usize::from(o[i])];
                let v = u16::from(n[i]);
                if *e == UNSEEN {
                    *e = v;
                } else if *e != v {
                    return false;
                }
            }
        }
        true
    }

    /// Adds `other` when the two agree wherever both saw an input; false
    /// (and `self` unchanged) otherwise.
    pub(crate) fn merge(&mut self, other: &Lut) -> bool {
        let agree = self.out.iter().zip(&other.out).all(|(a, b)| {
            a.iter()
                .zip(b)
                .all(|(&x, &y)| x == UNSEEN || y == UNSEEN || x == y)
        });
        if agree {
            for (a, b) in self.out.iter_mut().zip(&other.out) {
                for (x, &y) in a.iter_mut().zip(b) {
                    if y != UNSEEN {
                        *x = y;
                    }
                }
            }
        }
        agree
    }

    /// The affine map reproducing every learned pair, if one exists (and
    /// it is not the identity on what was seen).
    pub(crate) fn fit(&self) -> Option<Tone> {
        let mut tone = Tone {
            m: [0; 3],
            k: [0; 3],
        };
        let mut identity = true;
        for (c, out) in self.out.iter().enumerate() {
            let (m, k) = fit_channel(out)?;
            identity &= out
                .iter()
                .enumerate()
                .all(|(v, &o)| o == UNSEEN || usize::from(o) == v);
            tone.m[c] = m;
            tone.k[c] = k;
        }
        (!identity).then_some(tone)
    }
}

/// The interval of `o * m + k` that yields output `n`.
fn bounds(n: u16) -> (i64, i64) {
    let lo = if n == 0 {
        i64::MIN / 4
    } else {
        i64::from(n) << SHIFT
    };
    let hi = if n == 255 {
        i64::MAX / 4
    } else {
        (i64::from(n + 1) << SHIFT) - 1
    };
    (lo, hi)
}

/// Room left for `k` at multiplier `m`: `min(hi - o*m) - max(lo - o*m)`,
/// negative when no `k` fits, and the smallest `k` that does.
fn slack(out: &[u16; 256], m: i64) -> (i64, i64) {
    let (mut k_lo, mut k_hi) = (i64::MIN, i64::MAX);
    for (o, &n) in out.iter().enumerate() {
        if n == UNSEEN {
            continue;
        }
        let (lo, hi) = bounds(n);
        let om = o as i64 * m;
        k_lo = k_lo.max(lo - om);
        k_hi = k_hi.min(hi - om);
    }
    (k_hi.saturating_sub(k_lo), k_lo)
}

/// A multiplier and offset for one channel. The constraints are linear in
/// (m, k), so the slack is concave in m: a ternary search finds its
/// maximum, and the map exists when that is not negative.
fn fit_channel(out: &[u16; 256]) -> Option<(u32, i32)> {
    if out.iter().all(|&n| n == UNSEEN) {
        return Some((1 << SHIFT, 0));
    }
    let (mut lo, mut hi) = (0i64, MAX_M);
    while hi - lo > 2 {
        let m1 = lo + (hi - lo) / 3;
        let m2 = hi - (hi - lo) / 3;
        if slack(out, m1).0 < slack(out, m2).0 {
            lo = m1 + 1;
        } else {
            hi = m2;
        }
    }
    let (m, (s, k_lo)) = (lo..=hi)
        .map(|m| (m, slack(out, m)))
        .max_by_key(|&(m, (s, _))| (s, -m))?;
    if s < 0 {
        return None;
    }
    // Any k in [k_lo, k_lo + s] fits; the op carries an i32.
    let k = k_lo.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    if k > k_lo.saturating_add(s) {
        return None;
    }
    Some((u32::try_from(m).ok()?, i32::try_from(k).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(v: [u8; 3]) -> [u8; 4] {
        [v[0], v[1], v[2], 0]
    }

    /// A browser's 50 % black overlay: `round(old * (255 - a) / 255)`.
    fn dim(v: u8, a: u32) -> u8 {
        ((u32::from(v) * (255 - a) + 127) / 255) as u8
    }

    #[test]
    fn a_browser_dim_overlay_is_fitted_exactly() {
        for a in [43u32, 86, 128, 200] {
            let old: Vec<u8> = (0..=255u8).flat_map(|v| px([v, 255 - v, v / 3])).collect();
            let new: Vec<u8> = old
                .chunks_exact(4)
                .flat_map(|p| px([dim(p[0], a), dim(p[1], a), dim(p[2], a)]))
                .collect();
            let mut lut = Lut::default();
            assert!(lut.learn(&old, &new));
            let tone = lut.fit().expect("a dim overlay is affine");
            for c in 0..3 {
                let t = Tone::table(tone.m[c], tone.k[c]);
                for (o, n) in old.chunks_exact(4).zip(new.chunks_exact(4)) {
                    assert_eq!(t[usize::from(o[c])], n[c], "alpha {a} channel {c}");
                }
            }
        }
    }

    #[test]
    fn a_white_tint_and_a_brightening_are_fitted() {
        let old: Vec<u8> = (0..=255u8).flat_map(|v| px([v, v, v])).collect();
        for f in [
            |v: u8| ((u32::from(v) * 3 + 255) / 4) as u8,
            |v: u8| (u32::from(v) * 3 / 2).min(255) as u8,
        ] {
            let new: Vec<u8> = (0..=255u8).flat_map(|v| px([f(v); 3])).collect();
            let mut lut = Lut::default();
            assert!(lut.learn(&old, &new));
            let tone = lut.fit().expect("affine");
            let t = Tone::table(tone.m[0], tone.k[0]);
            assert!((0..=255u8).all(|v| t[usize::from(v)] == f(v)));
        }
    }

    #[test]
    fn no_map_for_new_content_or_the_identity() {
        let mut lut = Lut::default();
        // One input, two outputs.
        assert!(!lut.learn(&[10, 10, 10, 0, 10, 10, 10, 0], &[5, 5, 5, 0, 6, 5, 5, 0]));
        // A function, but not affine: a threshold.
        let old: Vec<u8> = (0..=255u8).flat_map(|v| px([v, v, v])).collect();
        let new: Vec<u8> = (0..=255u8)
            .flat_map(|v| px([if v > 128 { 250 } else { 3 }; 3]))
            .collect();
        let mut lut = Lut::default();
        assert!(lut.learn(&old, &new));
        assert_eq!(lut.fit(), None);
        let mut lut = Lut::default();
        assert!(lut.learn(&old, &old));
        assert_eq!(lut.fit(), None);
    }

    #[test]
    fn merge_refuses_disagreement() {
        let (mut a, mut b) = (Lut::default(), Lut::default());
        assert!(a.learn(&[100, 0, 0, 0], &[50, 0, 0, 0]));
        assert!(b.learn(&[100, 0, 0, 0], &[51, 0, 0, 0]));
        assert!(!a.merge(&b));
        let mut c = Lut::default();
        assert!(c.learn(&[200, 0, 0, 0], &[100, 0, 0, 0]));
        assert!(a.merge(&c));
        assert_eq!(a.fit().map(|t| Tone::table(t.m[0], t.k[0])[200]), Some(100));
    }
}
