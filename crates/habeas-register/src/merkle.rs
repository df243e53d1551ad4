//! The RFC 6962 Merkle tree (§2.1): tree heads, inclusion and consistency proofs, and their
//! verification (the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2).

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ entry bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first.
/// Appending is O(1) amortised; the root is O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.nodes.last() {
            if h != node.0 {
                break;
            }
            self.nodes.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }
    /// The roots of the perfect subtrees, largest first: what [`Frontier::from_hashes`] takes.
    pub fn hashes(&self) -> Vec<Hash> {
        self.nodes.iter().map(|(_, h)| *h).collect()
    }

    /// The frontier of a tree of `size` leaves from the roots of its perfect subtrees, largest
    /// first (one per bit set in `size`); `None` when their number does not fit the size.
    pub fn from_hashes(size: u64, hashes: &[Hash]) -> Option<Self> {
        let heights: Vec<u32> = (0..64u32)
            .rev()
            .filter(|bit| size & (1u64 << bit) != 0)
            .collect();
        if heights.len() != hashes.len() {
            return None;
        }
        Some(Self {
            size,
            nodes: heights.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// The root of the tree over `leaves`.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut f = Frontier::new();
    for l in leaves {
        f.push(*l);
    }
    f.root()
}

/// A whole tree held in memory, level by level, for producing proofs of any size quickly.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// `levels[0]` are the leaf hashes; `levels[h][i]` is the root of leaves
    /// `[i·2^h, (i+1)·2^h)`, present only for complete subtrees.
    levels: Vec<Vec<Hash>>,
}

/// Why a proof could not be produced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("tree size {size} is larger than the register ({len} entries)")]
    SizeBeyondRegister { size: u64, len: u64 },
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a consistency proof needs 0 < first ({first}) <= second ({second})")]
    BadRange { first: u64, second: u64 },
}

impl Tree {
    pub fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }
    /// An empty tree with room for `leaves` leaves without reallocating.
    pub fn with_capacity(leaves: u64) -> Self {
        let mut levels = Vec::new();
        let mut n = leaves as usize;
        loop {
            levels.push(Vec::with_capacity(n));
            if n <= 1 {
                break;
            }
            n /= 2;
        }
        Self { levels }
    }
    pub fn from_leaves(leaves: Vec<Hash>) -> Self {
        let mut t = Self {
            levels: vec![leaves],
        };
        t.fill_levels();
        t
    }
    fn fill_levels(&mut self) {
        let mut h = 0;
        loop {
            let below_len = self.levels[h].len();
            if below_len < 2 {
                break;
            }
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            let have = self.levels[h + 1].len();
            for i in have..below_len / 2 {
                let n = node_hash(&self.levels[h][2 * i], &self.levels[h][2 * i + 1]);
                self.levels[h + 1].push(n);
            }
            h += 1;
        }
    }
    pub fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut h = 0;
        while self.levels[h].len().is_multiple_of(2) {
            let n = self.levels[h].len();
            let node = node_hash(&self.levels[h][n - 2], &self.levels[h][n - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(node);
            h += 1;
        }
    }
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.first()?.get(index as usize).copied()
    }

    /// MTH(D[start:end]) for a range of stored leaves (`start < end <= len`).
    fn subtree(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let h = n.trailing_zeros() as usize;
            if let Some(x) = self
                .levels
                .get(h)
                .and_then(|l| l.get((start >> h) as usize))
            {
                return *x;
            }
        }
        if n == 1 {
            return self.leaf(start).unwrap_or_default();
        }
        let k = split(n);
        node_hash(
            &self.subtree(start, start + k),
            &self.subtree(start + k, end),
        )
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.len() {
            return Err(ProofError::SizeBeyondRegister {
                size,
                len: self.len(),
            });
        }
        Ok(if size == 0 {
            empty_root()
        } else {
            self.subtree(0, size)
        })
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 PATH).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.len() {
            return Err(ProofError::SizeBeyondRegister {
                size,
                len: self.len(),
            });
        }
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, start + k, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.path(m - k, start + k, end, out);
            out.push(self.subtree(start, start + k));
        }
    }

    /// The proof that the tree of `first` leaves is a prefix of the tree of `second` leaves
    /// (RFC 6962 PROOF).
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        if second > self.len() {
            return Err(ProofError::SizeBeyondRegister {
                size: second,
                len: self.len(),
            });
        }
        if first == 0 || first > second {
            return Err(ProofError::BadRange { first, second });
        }
        let mut proof = Vec::new();
        self.subproof(first, 0, second, true, &mut proof);
        Ok(proof)
    }

    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(self.subtree(start, end));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.subtree(start, start + k));
        }
    }
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && &r == root
}

/// Checks a consistency proof between tree heads (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    &fr == first_root && &sr == second_root && s == 0
}

/// Lowercase hexadecimal of a hash.
pub fn to_hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 64 hex digits.
pub fn from_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Test vectors published with the Certificate Transparency reference implementation.
    const LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// A frontier kept as its hashes and made again from them grows on as the original does;
    /// hashes that do not fit the size are refused.
    #[test]
    fn a_frontier_is_made_again_from_its_hashes() {
        let leaves: Vec<Hash> = (0..300u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut f = Frontier::new();
        for (n, leaf) in leaves.iter().enumerate() {
            let hashes = f.hashes();
            assert_eq!(hashes.len() as u32, (n as u64).count_ones());
            let mut again = Frontier::from_hashes(n as u64, &hashes).unwrap();
            assert_eq!(again, f);
            again.push(*leaf);
            f.push(*leaf);
            assert_eq!(again.root(), f.root());
        }
        assert_eq!(f.root(), root(&leaves));
        let hashes = f.hashes();
        assert!(Frontier::from_hashes(301, &hashes).is_none());
        assert!(Frontier::from_hashes(300, &hashes[1..]).is_none());
        assert!(Frontier::from_hashes(0, &[]).is_some_and(|f| f.root() == empty_root()));
    }

    fn h(s: &str) -> Hash {
        from_hex(s).unwrap()
    }
    fn hs(v: &[&str]) -> Vec<Hash> {
        v.iter().map(|s| h(s)).collect()
    }
    fn tree() -> Tree {
        Tree::from_leaves(LEAVES.iter().map(|l| leaf_hash(l)).collect())
    }

    #[test]
    fn roots_match_reference_vectors() {
        let t = tree();
        for (size, want) in ROOTS.iter().enumerate() {
            assert_eq!(
                to_hex(&t.root_at(size as u64).unwrap()),
                *want,
                "size {size}"
            );
            let leaves: Vec<Hash> = LEAVES[..size].iter().map(|l| leaf_hash(l)).collect();
            assert_eq!(to_hex(&root(&leaves)), *want, "frontier size {size}");
        }
    }

    #[test]
    fn inclusion_proofs_match_reference_vectors() {
        let t = tree();
        let cases: [(u64, u64, Vec<Hash>); 4] = [
            (
                0,
                8,
                hs(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                5,
                8,
                hs(&[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                3,
                hs(&["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            ),
            (
                1,
                5,
                hs(&[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
        ];
        for (index, size, want) in cases {
            let got = t.inclusion_proof(index, size).unwrap();
            assert_eq!(got, want, "index {index} size {size}");
            let leaf = t.leaf(index).unwrap();
            assert!(verify_inclusion(
                index,
                size,
                &leaf,
                &got,
                &h(ROOTS[size as usize])
            ));
        }
    }

    #[test]
    fn consistency_proofs_match_reference_vectors() {
        let t = tree();
        let cases: [(u64, u64, Vec<Hash>); 4] = [
            (1, 1, vec![]),
            (
                1,
                8,
                hs(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                6,
                8,
                hs(&[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                5,
                hs(&[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
        ];
        for (a, b, want) in cases {
            let got = t.consistency_proof(a, b).unwrap();
            assert_eq!(got, want, "{a} -> {b}");
            assert!(verify_consistency(
                a,
                b,
                &h(ROOTS[a as usize]),
                &h(ROOTS[b as usize]),
                &got
            ));
        }
    }

    #[test]
    fn proofs_out_of_range_are_errors() {
        let t = tree();
        assert!(t.inclusion_proof(8, 8).is_err());
        assert!(t.inclusion_proof(0, 9).is_err());
        assert!(t.consistency_proof(0, 3).is_err());
        assert!(t.consistency_proof(4, 3).is_err());
        assert!(!verify_inclusion(3, 3, &[0; 32], &[], &[0; 32]));
    }

    fn leaves_strategy() -> impl Strategy<Value = Vec<Hash>> {
        (1usize..70).prop_map(|n| {
            (0..n)
                .map(|i| leaf_hash(&(i as u64 * 7919).to_be_bytes()))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Every inclusion proof for every (index, size) verifies, and fails for a changed leaf,
        /// a changed proof element, a wrong index or a wrong size.
        #[test]
        fn every_inclusion_proof_verifies(leaves in leaves_strategy(), flip in any::<u8>()) {
            let t = Tree::from_leaves(leaves.clone());
            let n = t.len();
            for size in 1..=n {
                let root = t.root_at(size).unwrap();
                prop_assert_eq!(root, super::root(&leaves[..size as usize]));
                for index in 0..size {
                    let proof = t.inclusion_proof(index, size).unwrap();
                    let leaf = leaves[index as usize];
                    prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root));
                    let mut bad_leaf = leaf;
                    bad_leaf[(flip % 32) as usize] ^= 1;
                    prop_assert!(!verify_inclusion(index, size, &bad_leaf, &proof, &root));
                    if !proof.is_empty() {
                        let mut bad = proof.clone();
                        let i = flip as usize % bad.len();
                        bad[i][0] ^= 0x80;
                        prop_assert!(!verify_inclusion(index, size, &leaf, &bad, &root));
                        let mut short = proof.clone();
                        short.pop();
                        prop_assert!(!verify_inclusion(index, size, &leaf, &short, &root));
                    }
                    if size > 1 {
                        let other = (index + 1) % size;
                        if leaves[other as usize] != leaf {
                            prop_assert!(!verify_inclusion(other, size, &leaf, &proof, &root));
                        }
                    }
                }
            }
        }

        /// Every consistency proof for every (first, second) verifies and fails when either
        /// root is changed.
        #[test]
        fn every_consistency_proof_verifies(leaves in leaves_strategy(), flip in any::<u8>()) {
            let t = Tree::from_leaves(leaves);
            let n = t.len();
            for second in 1..=n {
                let r2 = t.root_at(second).unwrap();
                for first in 1..=second {
                    let r1 = t.root_at(first).unwrap();
                    let proof = t.consistency_proof(first, second).unwrap();
                    prop_assert!(verify_consistency(first, second, &r1, &r2, &proof));
                    let mut bad1 = r1;
                    bad1[(flip % 32) as usize] ^= 4;
                    prop_assert!(!verify_consistency(first, second, &bad1, &r2, &proof));
                    let mut bad2 = r2;
                    bad2[(flip % 32) as usize] ^= 4;
                    prop_assert!(!verify_consistency(first, second, &r1, &bad2, &proof));
                }
            }
        }

        /// Dropping, reordering or appending leaves changes the root.
        #[test]
        fn any_change_to_the_leaves_changes_the_root(leaves in leaves_strategy(), at in any::<usize>()) {
            let want = root(&leaves);
            let i = at % leaves.len();
            let mut dropped = leaves.clone();
            dropped.remove(i);
            prop_assert_ne!(root(&dropped), want);
            let mut appended = leaves.clone();
            appended.push(leaf_hash(b"extra"));
            prop_assert_ne!(root(&appended), want);
            if leaves.len() > 1 {
                let j = (i + 1) % leaves.len();
                let mut swapped = leaves.clone();
                swapped.swap(i, j);
                prop_assert_ne!(root(&swapped), want);
            }
        }

        /// A tree grown leaf by leaf equals one built at once.
        #[test]
        fn incremental_tree_equals_batch(leaves in leaves_strategy()) {
            let mut t = Tree::new();
            for l in &leaves {
                t.push(*l);
            }
            let b = Tree::from_leaves(leaves.clone());
            for size in 0..=leaves.len() as u64 {
                prop_assert_eq!(t.root_at(size).unwrap(), b.root_at(size).unwrap());
            }
        }
    }
}
