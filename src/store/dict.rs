//! String dictionaries: each distinct string of a column is stored once and rows hold its code.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small, fast, non-cryptographic hasher (FxHash) for dictionary lookups.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The distinct strings of one column, in order of first appearance; code 0 is always `""`.
///
/// Each string is held once; the index maps a 64-bit hash to a code, and the rare strings whose
/// hash collides with an earlier one's are found in a second, exact map.
#[derive(Debug, Clone)]
pub struct Dictionary {
    strings: Vec<Box<str>>,
    index: FxHashMap<u64, u32>,
    collisions: FxHashMap<Box<str>, u32>,
    bytes: usize,
}

/// Bytes the allocator adds to each heap allocation, counted with it.
const ALLOC_OVERHEAD: usize = 16;

#[inline]
fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.write_usize(s.len());
    h.finish()
}

impl Default for Dictionary {
    fn default() -> Self {
        Self::new()
    }
}

impl Dictionary {
    /// A dictionary holding only the empty string (code 0).
    pub fn new() -> Self {
        let mut d = Dictionary {
            strings: Vec::new(),
            index: FxHashMap::default(),
            collisions: FxHashMap::default(),
            bytes: 0,
        };
        d.strings.push("".into());
        d.index.insert(hash_str(""), 0);
        d
    }

    /// The code of `s`, adding it if it is new.
    #[inline]
    pub fn intern(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        self.intern_hashed(s, hash_str(s))
    }

    fn intern_hashed(&mut self, s: &str, h: u64) -> u32 {
        match self.index.get(&h) {
            Some(&code) if &*self.strings[code as usize] == s => code,
            Some(_) => {
                if let Some(&code) = self.collisions.get(s) {
                    return code;
                }
                let code = self.push(s);
                self.collisions.insert(s.into(), code);
                self.bytes += s.len() + ALLOC_OVERHEAD;
                code
            }
            None => {
                let code = self.push(s);
                self.index.insert(h, code);
                code
            }
        }
    }

    fn push(&mut self, s: &str) -> u32 {
        let code = self.strings.len() as u32;
        self.strings.push(s.into());
        self.bytes += s.len() + ALLOC_OVERHEAD;
        code
    }

    /// Removes the string added last, whose code is `code` (a newer string than any a stored
    /// row refers to): undoes an [`Dictionary::intern`] that added it.
    pub fn remove_last(&mut self, code: u32) {
        if code == 0 || code as usize + 1 != self.strings.len() {
            return;
        }
        let Some(s) = self.strings.pop() else {
            return;
        };
        self.bytes -= s.len() + ALLOC_OVERHEAD;
        if self.collisions.remove(&s).is_some() {
            self.bytes -= s.len() + ALLOC_OVERHEAD;
        } else {
            self.index.remove(&hash_str(&s));
        }
    }

    /// Gives back the room that strings since removed made the dictionary reserve, so that its
    /// [`Dictionary::heap_bytes`] is no more than before they were added.
    pub fn shrink_to_fit(&mut self) {
        self.strings.shrink_to_fit();
        self.index.shrink_to_fit();
        self.collisions.shrink_to_fit();
    }

    /// The code of `s`, if present.
    pub fn code(&self, s: &str) -> Option<u32> {
        self.code_hashed(s, hash_str(s))
    }

    fn code_hashed(&self, s: &str, h: u64) -> Option<u32> {
        match self.index.get(&h) {
            Some(&code) if &*self.strings[code as usize] == s => Some(code),
            Some(_) => self.collisions.get(s).copied(),
            None => None,
        }
    }

    /// The string for `code` (`""` for a code out of range).
    #[inline]
    pub fn get(&self, code: u32) -> &str {
        self.strings.get(code as usize).map_or("", |s| s)
    }

    /// Number of distinct strings, the empty string included.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// True when only the empty string is present.
    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }

    /// All strings in code order.
    pub fn strings(&self) -> &[Box<str>] {
        &self.strings
    }

    /// Heap bytes used: the strings and the tables reserved for them (the allocator's
    /// overhead estimated); 0 while only the empty string is present (the fixed cost of an
    /// empty dictionary, like the rest of the store's fixed size, is not counted).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        if self.strings.len() <= 1 {
            return 0;
        }
        self.bytes
            + self.strings.capacity() * size_of::<Box<str>>()
            + self.index.capacity() * (size_of::<(u64, u32)>() + 1)
            + self.collisions.capacity() * (size_of::<(Box<str>, u32)>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let mut d = Dictionary::new();
        assert_eq!(d.code(""), Some(0));
        let a = d.intern("gpt-4o");
        let b = d.intern("claude");
        assert_eq!(d.intern("gpt-4o"), a);
        assert_ne!(a, b);
        assert_eq!(d.get(b), "claude");
        assert_eq!(d.get(99), "");
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn hash_collisions_keep_strings_apart() {
        let mut d = Dictionary::new();
        let a = d.intern_hashed("alpha", 7);
        let b = d.intern_hashed("beta", 7);
        let c = d.intern_hashed("gamma", 7);
        assert_eq!((a, b, c), (1, 2, 3));
        assert_eq!(d.intern_hashed("beta", 7), b);
        assert_eq!(d.intern_hashed("alpha", 7), a);
        assert_eq!(d.code_hashed("gamma", 7), Some(c));
        assert_eq!(d.code_hashed("delta", 7), None);
        assert_eq!(d.get(b), "beta");
        d.remove_last(c);
        assert_eq!(d.code_hashed("gamma", 7), None);
        assert_eq!(d.intern_hashed("gamma", 7), c);
    }

    #[test]
    fn removing_the_last_string_undoes_its_intern() {
        let mut d = Dictionary::new();
        d.intern("a");
        let bytes = d.heap_bytes();
        let big = "x".repeat(1000);
        let code = d.intern(&big);
        assert!(d.heap_bytes() >= bytes + 1000);
        d.remove_last(code);
        assert_eq!((d.len(), d.code(&big), d.heap_bytes()), (2, None, bytes));
        assert_eq!(d.intern(&big), code);
    }
}
