//! Byte searches of the JSON decoder, 16 bytes at a time.
//!
//! One block of 16 bytes is compared with two needles at once, giving a bit mask of the lanes
//! that hold either (and a mask of the lanes with the high bit set, for the ASCII check of a
//! line). Three implementations give the same masks:
//!
//! - WebAssembly with `simd128` (the default release build, `.cargo/config.toml`):
//!   `i8x16.eq` and `i8x16.bitmask`;
//! - x86-64: SSE2 (part of the baseline), `pcmpeqb` and `pmovmskb`, so native tests run the
//!   same block logic;
//! - anything else: a portable loop over the block, the compiler's to vectorise.
//!
//! The tail of fewer than 16 bytes is searched byte by byte. Every search never reads past its
//! slice.

/// Lanes per block.
pub(crate) const LANES: usize = 16;

/// The portable block masks (also compiled for the tests, which compare every backend with it).
#[allow(dead_code)]
mod portable {
    /// (lanes equal to `x` or `y`, lanes with the high bit set) of `block[..16]`.
    #[inline(always)]
    pub(super) fn masks(block: &[u8; super::LANES], x: u8, y: u8) -> (u32, u32) {
        let mut eq = 0u32;
        let mut high = 0u32;
        for (k, &c) in block.iter().enumerate() {
            eq |= u32::from(c == x || c == y) << k;
            high |= u32::from(c >> 7) << k;
        }
        (eq, high)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::{u8x16_bitmask, u8x16_eq, u8x16_splat, v128, v128_load, v128_or};

    /// (lanes equal to `x` or `y`, lanes with the high bit set) of `block`.
    #[inline(always)]
    pub(super) fn masks(block: &[u8; super::LANES], x: u8, y: u8) -> (u32, u32) {
        // SAFETY: `block` is 16 readable bytes; `v128_load` has no alignment requirement.
        let v = unsafe { v128_load(block.as_ptr().cast::<v128>()) };
        let hit = v128_or(u8x16_eq(v, u8x16_splat(x)), u8x16_eq(v, u8x16_splat(y)));
        (u32::from(u8x16_bitmask(hit)), u32::from(u8x16_bitmask(v)))
    }
}

#[cfg(all(
    target_arch = "x86_64",
    not(all(target_arch = "wasm32", target_feature = "simd128"))
))]
mod lanes {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// (lanes equal to `x` or `y`, lanes with the high bit set) of `block`.
    #[inline(always)]
    pub(super) fn masks(block: &[u8; super::LANES], x: u8, y: u8) -> (u32, u32) {
        // SAFETY: SSE2 is part of the x86-64 baseline; `block` is 16 readable bytes and
        // `_mm_loadu_si128` has no alignment requirement.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            let hit = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(x as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(y as i8)),
            );
            (
                _mm_movemask_epi8(hit) as u32 & 0xFFFF,
                _mm_movemask_epi8(v) as u32 & 0xFFFF,
            )
        }
    }
}

#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
mod lanes {
    pub(super) use super::portable::masks;
}

/// The 16 bytes of `b` at `at` (the caller checks `at + 16 <= b.len()`).
#[inline(always)]
fn block(b: &[u8], at: usize) -> Option<&[u8; LANES]> {
    b.get(at..at + LANES).and_then(|s| s.try_into().ok())
}

/// Position of the first byte of `b` equal to `x` or `y`.
#[inline]
pub(crate) fn find2(b: &[u8], x: u8, y: u8) -> Option<usize> {
    let mut at = 0;
    while let Some(blk) = block(b, at) {
        let (hit, _) = lanes::masks(blk, x, y);
        if hit != 0 {
            return Some(at + hit.trailing_zeros() as usize);
        }
        at += LANES;
    }
    let tail = b.get(at..).unwrap_or(&[]);
    tail.iter().position(|&c| c == x || c == y).map(|p| at + p)
}

/// Position of the first `\n` or `\r` in `b`, and whether every byte before it (every byte of
/// `b` when there is none) is ASCII.
#[inline]
pub(crate) fn find_line_end(b: &[u8]) -> (Option<usize>, bool) {
    let mut at = 0;
    let mut high = 0u32;
    while let Some(blk) = block(b, at) {
        let (hit, h) = lanes::masks(blk, b'\n', b'\r');
        if hit != 0 {
            let p = hit.trailing_zeros();
            let before = (1u32 << p) - 1;
            return (Some(at + p as usize), high == 0 && h & before == 0);
        }
        high |= h;
        at += LANES;
    }
    let tail = b.get(at..).unwrap_or(&[]);
    let ascii = high == 0;
    match tail.iter().position(|&c| c == b'\n' || c == b'\r') {
        Some(p) => (Some(at + p), ascii && tail[..p].is_ascii()),
        None => (None, ascii && tail.is_ascii()),
    }
}

/// The number of ASCII digits at the start of `w` (eight bytes in memory order, little-endian).
#[inline(always)]
pub(crate) fn leading_digits(w: u64) -> usize {
    const F0: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // A byte is a digit when its high nibble is 3 and adding 6 keeps it so. A carry out of a
    // byte of 0xFA or more only disturbs the bytes after it, and that byte is no digit.
    let not_digit = ((w & F0) ^ 0x3030_3030_3030_3030)
        | ((w.wrapping_add(0x0606_0606_0606_0606) & F0) ^ 0x3030_3030_3030_3030);
    (not_digit.trailing_zeros() / 8) as usize
}

/// The value of the first `n` (1..=8) ASCII digits of `w` (memory order, little-endian).
#[inline(always)]
pub(crate) fn digits_value(w: u64, n: usize) -> u64 {
    debug_assert!((1..=8).contains(&n));
    // Shifted so the n digits are the last n bytes; the bytes shifted in are zeros.
    let mut v = (w << (8 * (8 - n))) & 0x0F0F_0F0F_0F0F_0F0F;
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    v.wrapping_mul(10_000).wrapping_add(v >> 32) & 0xFFFF_FFFF
}

/// The eight bytes of `b` at `at` as a little-endian word, when there are eight.
#[inline(always)]
pub(crate) fn word(b: &[u8], at: usize) -> Option<u64> {
    let s: &[u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(*s))
}

/// Powers of ten up to 10^8, for appending up to eight digits to a mantissa.
pub(crate) const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn byte(&mut self, pool: &[u8]) -> u8 {
            pool[(self.next() % pool.len() as u64) as usize]
        }
    }

    fn ref_find2(b: &[u8], x: u8, y: u8) -> Option<usize> {
        b.iter().position(|&c| c == x || c == y)
    }

    fn ref_line_end(b: &[u8]) -> (Option<usize>, bool) {
        let p = b.iter().position(|&c| c == b'\n' || c == b'\r');
        (p, b[..p.unwrap_or(b.len())].is_ascii())
    }

    /// Random buffers of lengths 0..70 from `pool`, and the same with `needle` planted at
    /// every position.
    fn cases(pool: &[u8], needle: u8, seed: u64) -> Vec<Vec<u8>> {
        let mut r = Rng(seed);
        let mut out = Vec::new();
        for len in 0..70 {
            for _ in 0..4 {
                let base: Vec<u8> = (0..len).map(|_| r.byte(pool)).collect();
                out.push(base.clone());
                for at in 0..len {
                    let mut b = base.clone();
                    b[at] = needle;
                    out.push(b);
                }
            }
        }
        out
    }

    const FILLER: &[u8] = b"abcxyz 0123456789{}[],:-.eE\t\x00\x7f\x80\xc3\xa9\xff\xe2\x82\xac";

    #[test]
    fn block_masks_match_the_portable_ones() {
        let mut r = Rng(7);
        for _ in 0..20_000 {
            let mut blk = [0u8; LANES];
            for c in &mut blk {
                *c = r.next() as u8;
            }
            let (x, y) = (r.next() as u8, blk[(r.next() % 16) as usize]);
            assert_eq!(
                lanes::masks(&blk, x, y),
                portable::masks(&blk, x, y),
                "{blk:?}"
            );
        }
        let all_high = [0x80u8; LANES];
        assert_eq!(lanes::masks(&all_high, 0x80, 0), (0xFFFF, 0xFFFF));
        assert_eq!(portable::masks(&all_high, 0x80, 0), (0xFFFF, 0xFFFF));
    }

    #[test]
    fn find2_matches_a_plain_search() {
        for (needle, seed) in [(b'"', 1), (b'\\', 2)] {
            for b in cases(FILLER, needle, seed) {
                assert_eq!(find2(&b, b'"', b'\\'), ref_find2(&b, b'"', b'\\'), "{b:?}");
            }
        }
        // Needles with the high bit set, and both needles in one block.
        for b in cases(FILLER, 0xE9, 3) {
            assert_eq!(find2(&b, 0xE9, 0xFF), ref_find2(&b, 0xE9, 0xFF), "{b:?}");
        }
        let mut b = vec![b'a'; 40];
        b[20] = b'\\';
        b[18] = b'"';
        assert_eq!(find2(&b, b'"', b'\\'), Some(18));
        assert_eq!(find2(&[], b'"', b'\\'), None);
    }

    #[test]
    fn line_end_matches_a_plain_search() {
        for (needle, seed) in [(b'\n', 4), (b'\r', 5), (0xC3, 6)] {
            for b in cases(FILLER, needle, seed) {
                assert_eq!(find_line_end(&b), ref_line_end(&b), "{b:?}");
            }
        }
        // ASCII only, with one high byte planted before, at or after the line end.
        for len in 1..70 {
            for end in 0..len {
                for hi in 0..len {
                    let mut b = vec![b'x'; len];
                    b[end] = b'\n';
                    if hi != end {
                        b[hi] = 0x80;
                    }
                    assert_eq!(find_line_end(&b), ref_line_end(&b), "{b:?}");
                }
            }
        }
    }

    fn ref_leading_digits(w: &[u8; 8]) -> usize {
        w.iter().take_while(|c| c.is_ascii_digit()).count()
    }

    #[test]
    fn digit_words_match_a_plain_parse() {
        let mut r = Rng(9);
        let pool = b"0123456789012345678901234567890.eE-+ /:\xfa\xff\xfe\xf9\x39\x3a\x2f\x00";
        for _ in 0..200_000 {
            let mut w = [0u8; 8];
            for c in &mut w {
                *c = r.byte(pool);
            }
            let n = ref_leading_digits(&w);
            let x = u64::from_le_bytes(w);
            assert_eq!(leading_digits(x), n, "{w:?}");
            if n > 0 {
                let want = w[..n]
                    .iter()
                    .fold(0u64, |m, &c| m * 10 + u64::from(c - b'0'));
                assert_eq!(digits_value(x, n), want, "{w:?}");
            }
        }
        // Every byte value in every position next to digits.
        for pos in 0..8 {
            for v in 0..=255u8 {
                let mut w = *b"12345678";
                w[pos] = v;
                assert_eq!(
                    leading_digits(u64::from_le_bytes(w)),
                    ref_leading_digits(&w)
                );
            }
        }
        assert_eq!(
            digits_value(u64::from_le_bytes(*b"99999999"), 8),
            99_999_999
        );
        assert_eq!(digits_value(u64::from_le_bytes(*b"00000001"), 8), 1);
        assert_eq!(digits_value(u64::from_le_bytes(*b"7xxxxxxx"), 1), 7);
        assert_eq!(word(b"1234567", 0), None);
        assert_eq!(word(b"12345678", 1), None);
        assert_eq!(
            word(b"x12345678", 1),
            Some(u64::from_le_bytes(*b"12345678"))
        );
    }
}
