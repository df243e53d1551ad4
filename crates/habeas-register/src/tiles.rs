//! C2SP `tlog-tiles`: the register's RFC 6962 tree published as static "tiles" of hashes.
//!
//! A tile at level *L*, index *N* holds up to 256 consecutive Merkle tree hashes of subtrees
//! of 256^L leaves: hash *i* (0 ≤ *i* < width) is
//! `MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])`. Level 0 holds leaf hashes. A full tile
//! holds 256 hashes (8192 bytes); the rightmost tile of a level may be partial, with
//! `⌊size / 256^L⌋ mod 256` hashes. Tiles are served at `tile/<L>/<N>[.p/<W>]`, where `<N>` is
//! written in zero-padded groups of three digits, all but the last prefixed with `x`
//! (`1234067` → `x001/x234/067`).
//!
//! Entry bundles (`tile/entries/…`) are deliberately not produced: entries hold personal data.

use crate::merkle::{root, Hash};

/// Hashes in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// The largest level a tile path may name (the spec's bound; a tree of at most 2^64 − 1
/// leaves has tiles up to level 7 only).
pub const MAX_LEVEL: u8 = 63;

/// Why a tile path or tile was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TileError {
    #[error("not a tile path ({reason}): {path:?}")]
    Path { path: String, reason: &'static str },
    #[error("{path} does not exist in a tree of size {size}")]
    NoSuchTile { path: String, size: u64 },
}

fn path_error(path: &str, reason: &'static str) -> TileError {
    TileError::Path {
        path: path.to_owned(),
        reason,
    }
}

/// The tile index in groups of three digits, all but the last prefixed with `x`.
fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `tile/<L>/<N>` for a full tile (width 256), `tile/<L>/<N>.p/<W>` for a partial one
/// (width 1–255). A width outside 1–255 names the full tile.
pub fn tile_path(level: u8, index: u64, width: u16) -> String {
    let n = encode_index(index);
    if (1..TILE_WIDTH).contains(&width) {
        format!("tile/{level}/{n}.p/{width}")
    } else {
        format!("tile/{level}/{n}")
    }
}

/// A decimal number with no leading zeros (`0` itself allowed).
fn canonical_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Parses `tile/<L>/<N>[.p/<W>]` into (level, index, width), width 256 for a full tile.
/// Only the canonical encoding is accepted: no leading zeros in `<L>` or `<W>`, exactly
/// three digits per group of `<N>`, `x` on all groups but the last, no leading `x000`
/// group, `<L>` at most 63, `<W>` from 1 to 255, and `<N>` within 64 bits.
pub fn parse_tile_path(path: &str) -> Result<(u8, u64, u16), TileError> {
    let rest = path
        .strip_prefix("tile/")
        .ok_or_else(|| path_error(path, "it starts with tile/"))?;
    let mut segments: Vec<&str> = rest.split('/').collect();
    if segments.len() < 2 {
        return Err(path_error(path, "it has a level and an index"));
    }
    let level = canonical_decimal(segments[0])
        .and_then(|l| u8::try_from(l).ok())
        .filter(|l| *l <= MAX_LEVEL)
        .ok_or_else(|| path_error(path, "the level is a decimal from 0 to 63"))?;
    let mut width = TILE_WIDTH;
    let n = segments.len();
    if n >= 3 {
        if let Some(stem) = segments[n - 2].strip_suffix(".p") {
            width = canonical_decimal(segments[n - 1])
                .and_then(|w| u16::try_from(w).ok())
                .filter(|w| (1..TILE_WIDTH).contains(w))
                .ok_or_else(|| path_error(path, "a partial width is a decimal from 1 to 255"))?;
            segments[n - 2] = stem;
            segments.truncate(n - 1);
        }
    }
    let groups = &segments[1..];
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let last = i + 1 == groups.len();
        let digits = if last {
            *group
        } else {
            group
                .strip_prefix('x')
                .ok_or_else(|| path_error(path, "every index group but the last starts with x"))?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(path_error(path, "index groups are three digits"));
        }
        if i == 0 && !last && digits == "000" {
            return Err(path_error(path, "the index has a leading zero group"));
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| path_error(path, "index groups are three digits"))?;
        index = index
            .checked_mul(1000)
            .and_then(|x| x.checked_add(value))
            .ok_or_else(|| path_error(path, "the index does not fit in 64 bits"))?;
    }
    Ok((level, index, width))
}

/// The number of complete subtrees of 256^level leaves in a tree of `size` leaves (the
/// number of hashes that exist at that level).
fn hashes_at_level(size: u64, level: u8) -> u64 {
    let shift = 8 * u32::from(level);
    size.checked_shr(shift).unwrap_or(0)
}

/// The width of tile (`level`, `index`) in a tree of `size` leaves: 256 for a full tile,
/// 1–255 for the rightmost partial tile of its level, `None` if the tile does not exist.
pub fn tile_width(size: u64, level: u8, index: u64) -> Option<u16> {
    let hashes = hashes_at_level(size, level);
    let full = hashes / u64::from(TILE_WIDTH);
    let partial = (hashes % u64::from(TILE_WIDTH)) as u16;
    if index < full {
        Some(TILE_WIDTH)
    } else if index == full && partial > 0 {
        Some(partial)
    } else {
        None
    }
}

/// Whether the tile (`level`, `index`, `width`) exists in a tree of `size` leaves: a full
/// tile whose subtrees are all complete, or the rightmost partial tile of its level with
/// exactly the width the size implies.
pub fn tile_exists(size: u64, level: u8, index: u64, width: u16) -> bool {
    tile_width(size, level, index) == Some(width)
}

/// Every tile of a tree of `size` leaves, as (level, index, width), level by level: the full
/// tiles of each level, then its partial tile if there is one. Empty for size 0. (About
/// size / 255 tiles: 7,845 for 2,000,000 leaves.)
pub fn tiles_for_size(size: u64) -> Vec<(u8, u64, u16)> {
    let mut out = Vec::new();
    let mut level: u8 = 0;
    loop {
        let hashes = hashes_at_level(size, level);
        if hashes == 0 {
            break;
        }
        let full = hashes / u64::from(TILE_WIDTH);
        out.extend((0..full).map(|i| (level, i, TILE_WIDTH)));
        let partial = (hashes % u64::from(TILE_WIDTH)) as u16;
        if partial > 0 {
            out.push((level, full, partial));
        }
        level += 1;
    }
    out
}

/// The hashes of tile (`level`, `index`, `width`) of the tree whose leaf hashes are `leaves`
/// (the tree's size is `leaves.len()`; pass the prefix that a checkpoint covers). Refuses a
/// tile that does not exist at that size ([`tile_exists`]).
///
/// A level-*L* hash is the root of 256^L leaves, computed from them (256^L − 1 node hashes);
/// a whole tile at level *L* costs about 256^(L+1) hashes, and nothing else of the tree is
/// built.
pub fn tile_hashes(
    leaves: &[Hash],
    level: u8,
    index: u64,
    width: u16,
) -> Result<Vec<Hash>, TileError> {
    let size = leaves.len() as u64;
    let missing = || TileError::NoSuchTile {
        path: tile_path(level, index, width),
        size,
    };
    if !tile_exists(size, level, index, width) {
        return Err(missing());
    }
    // The tile exists, so its subtrees lie within `leaves`: 256^level ≤ size fits in usize.
    let span = 1usize
        .checked_shl(8 * u32::from(level))
        .ok_or_else(missing)?;
    let first = usize::try_from(index)
        .ok()
        .and_then(|i| i.checked_mul(usize::from(TILE_WIDTH)))
        .ok_or_else(missing)?;
    (0..usize::from(width))
        .map(|i| {
            let start = (first + i) * span;
            leaves
                .get(start..start + span)
                .map(|subtree| if span == 1 { subtree[0] } else { root(subtree) })
                .ok_or_else(missing)
        })
        .collect()
}

/// The bytes of a tile, as served: its hashes concatenated (32 × width bytes).
pub fn tile_bytes(
    leaves: &[Hash],
    level: u8,
    index: u64,
    width: u16,
) -> Result<Vec<u8>, TileError> {
    Ok(tile_hashes(leaves, level, index, width)?.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, node_hash, Tree};
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64)
            .map(|i| leaf_hash(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes()))
            .collect()
    }

    #[test]
    fn paths_follow_the_spec() {
        assert_eq!(tile_path(0, 0, 256), "tile/0/000");
        assert_eq!(tile_path(0, 1_234_067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(1, 5, 17), "tile/1/005.p/17");
        assert_eq!(tile_path(2, 1000, 1), "tile/2/x001/000.p/1");
        assert_eq!(tile_path(0, 999, 255), "tile/0/999.p/255");
        assert_eq!(
            tile_path(7, u64::MAX, 256),
            "tile/7/x018/x446/x744/x073/x709/x551/615"
        );
        for (l, n, w) in [
            (0, 0, 256),
            (0, 1_234_067, 256),
            (1, 5, 17),
            (2, 1000, 1),
            (63, 999, 255),
            (7, u64::MAX, 256),
            (3, 1_000_000, 128),
        ] {
            assert_eq!(parse_tile_path(&tile_path(l, n, w)), Ok((l, n, w)));
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for bad in [
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/256/000",
            "tile/0/0",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/x001/x002",
            "tile/0/X001/002",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/012",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000.q/12",
            "tile/0/000/",
            "tile/0/",
            "tile/0",
            "/tile/0/000",
            "tile/entries/000",
            "tile//000",
            "tile/-1/000",
            "tile/+1/000",
            "tile/0/+01",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
        ] {
            assert!(parse_tile_path(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_specs_example_sizes() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
        // 17, and one partial level 2 tile of width 1."
        let tiles = tiles_for_size(70_000);
        let full0: Vec<_> = tiles.iter().filter(|t| t.0 == 0 && t.2 == 256).collect();
        assert_eq!(full0.len(), 273);
        assert!(full0.iter().enumerate().all(|(i, t)| t.1 == i as u64));
        let rest: Vec<_> = tiles.iter().filter(|t| !(t.0 == 0 && t.2 == 256)).collect();
        assert_eq!(
            rest,
            vec![&(0, 273, 112), &(1, 0, 256), &(1, 1, 17), &(2, 0, 1)]
        );
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level
        // 1 tile of width 1."
        assert_eq!(tiles_for_size(256), vec![(0, 0, 256), (1, 0, 1)]);
        assert_eq!(tiles_for_size(0), vec![]);
        assert_eq!(tiles_for_size(1), vec![(0, 0, 1)]);
        assert_eq!(tiles_for_size(255), vec![(0, 0, 255)]);
        assert_eq!(
            tiles_for_size(65_536),
            (0..256)
                .map(|i| (0, i, 256))
                .chain([(1, 0, 256), (2, 0, 1)])
                .collect::<Vec<_>>()
        );
        // The largest tree has tiles up to level 7.
        assert_eq!(tile_width(u64::MAX, 7, 0), Some(255));
        assert_eq!(tile_width(u64::MAX, 0, u64::MAX / 256 - 1), Some(256));
        assert_eq!(tile_width(u64::MAX, 0, u64::MAX / 256), Some(255));
        assert_eq!(tile_width(u64::MAX, 8, 0), None);
        assert_eq!(tile_width(u64::MAX, 63, 0), None);

        assert_eq!(tile_width(70_000, 0, 272), Some(256));
        assert_eq!(tile_width(70_000, 0, 273), Some(112));
        assert_eq!(tile_width(70_000, 0, 274), None);
        assert_eq!(tile_width(70_000, 3, 0), None);
        assert!(tile_exists(70_000, 1, 1, 17));
        assert!(!tile_exists(70_000, 1, 1, 16));
        assert!(!tile_exists(70_000, 1, 1, 256));
        assert!(!tile_exists(70_000, 0, 0, 12));
    }

    /// The root of the tree of the first `size` leaves, computed the way a tiles client does:
    /// split the size into perfect subtrees from the left and find each one's hash in the
    /// tiles (one hash when its height is a multiple of 8, otherwise the root of 2^(h mod 8)
    /// consecutive hashes of the level below it).
    fn root_from_tiles(size: u64, tile: &dyn Fn(u8, u64, u16) -> Vec<u8>) -> Hash {
        let mut subtrees = Vec::new();
        let mut start = 0u64;
        for h in (0..64).rev() {
            if size & (1 << h) != 0 {
                let level = (h / 8) as u8;
                let count = 1u64 << (h % 8);
                let first = start >> (8 * u32::from(level));
                let index = first / 256;
                let width = tile_width(size, level, index).unwrap();
                let bytes = tile(level, index, width);
                assert_eq!(bytes.len(), 32 * usize::from(width));
                let hashes: Vec<Hash> = (first..first + count)
                    .map(|i| {
                        let at = ((i % 256) * 32) as usize;
                        bytes[at..at + 32].try_into().unwrap()
                    })
                    .collect();
                subtrees.push(root(&hashes));
                start += 1 << h;
            }
        }
        let mut it = subtrees.into_iter().rev();
        let mut acc = it.next().unwrap_or_else(crate::merkle::empty_root);
        for left in it {
            acc = node_hash(&left, &acc);
        }
        acc
    }

    #[test]
    fn tiles_of_a_large_tree_match_the_merkle_tree() {
        let n = 70_000;
        let leaves = leaves(n);
        let tree = Tree::from_leaves(leaves.clone());
        let mut all = std::collections::HashMap::new();
        for (l, i, w) in tiles_for_size(n as u64) {
            let bytes = tile_bytes(&leaves, l, i, w).unwrap();
            assert_eq!(bytes.len(), 32 * usize::from(w));
            all.insert((l, i, w), bytes);
        }
        // Level 0 is the leaf hashes; above, each hash is the root of 256^L leaves.
        assert_eq!(all[&(0, 3, 256)][..32], leaves[768]);
        let level1 = &all[&(1, 0, 256)];
        for i in [0usize, 1, 100, 255] {
            assert_eq!(
                level1[32 * i..32 * i + 32],
                root(&leaves[256 * i..256 * (i + 1)])
            );
        }
        assert_eq!(all[&(2, 0, 1)][..], root(&leaves[..65_536]));
        // The hash of a full tile is the hash at the level above.
        assert_eq!(
            all[&(1, 1, 17)][..32],
            root(
                &all[&(0, 256, 256)]
                    .chunks(32)
                    .map(|c| c.try_into().unwrap())
                    .collect::<Vec<Hash>>()
            )
        );
        // Roots of the whole tree and of every checkpoint-sized prefix come out of the tiles
        // as they come out of merkle::Tree.
        let get = |l: u8, i: u64, w: u16| all[&(l, i, w)].clone();
        assert_eq!(
            root_from_tiles(n as u64, &get),
            tree.root_at(n as u64).unwrap()
        );
        for size in [1u64, 255, 256, 257, 65_535, 65_536, 65_537, 69_999] {
            let prefix = &leaves[..size as usize];
            let get = |l: u8, i: u64, w: u16| tile_bytes(prefix, l, i, w).unwrap();
            assert_eq!(
                root_from_tiles(size, &get),
                tree.root_at(size).unwrap(),
                "size {size}"
            );
        }
    }

    #[test]
    fn tiles_that_do_not_exist_are_refused() {
        let leaves = leaves(70_000);
        for (l, i, w) in [
            (0, 273, 256),
            (0, 273, 111),
            (0, 273, 113),
            (0, 274, 1),
            (0, 0, 100),
            (1, 1, 256),
            (1, 1, 18),
            (2, 0, 256),
            (2, 1, 1),
            (3, 0, 1),
            (8, 0, 1),
            (63, 0, 1),
            (0, u64::MAX, 256),
            (0, 0, 0),
            (0, 0, 257),
        ] {
            assert!(
                matches!(
                    tile_bytes(&leaves, l, i, w),
                    Err(TileError::NoSuchTile { size: 70_000, .. })
                ),
                "({l}, {i}, {w})"
            );
        }
        assert!(tile_bytes(&[], 0, 0, 1).is_err());
    }

    #[test]
    fn two_million_leaves() {
        let n = 2_000_000;
        let leaves = leaves(n);
        // 7812 full level-0 tiles and one of width 128; 30 full level-1 tiles and one of
        // width 132; one level-2 tile of width 30.
        let tiles = tiles_for_size(n as u64);
        assert_eq!(tiles.len(), 7813 + 31 + 1);
        assert!(tiles.contains(&(0, 7812, 128)));
        assert!(tiles.contains(&(1, 30, 132)));
        assert!(tiles.contains(&(2, 0, 30)));
        let level1 = tile_hashes(&leaves, 1, 29, 256).unwrap();
        assert_eq!(
            level1[255],
            root(&leaves[(29 * 256 + 255) * 256..(30 * 256) * 256])
        );
        let level2 = tile_hashes(&leaves, 2, 0, 30).unwrap();
        assert_eq!(level2[29], root(&leaves[29 * 65_536..30 * 65_536]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// For random trees, every tile's hashes are the Merkle tree hashes the spec defines,
        /// and the tiles give every prefix's root.
        #[test]
        fn random_trees(n in 1usize..3000, seed in any::<u64>()) {
            let leaves: Vec<Hash> = (0..n as u64)
                .map(|i| leaf_hash(&(i ^ seed).to_le_bytes()))
                .collect();
            let tree = Tree::from_leaves(leaves.clone());
            for (l, i, w) in tiles_for_size(n as u64) {
                let hashes = tile_hashes(&leaves, l, i, w).unwrap();
                let span = 1usize << (8 * l);
                for (j, h) in hashes.iter().enumerate() {
                    let start = (i as usize * 256 + j) * span;
                    prop_assert_eq!(*h, root(&leaves[start..start + span]));
                }
                prop_assert_eq!(parse_tile_path(&tile_path(l, i, w)), Ok((l, i, w)));
            }
            let get = |l: u8, i: u64, w: u16| tile_bytes(&leaves, l, i, w).unwrap();
            prop_assert_eq!(root_from_tiles(n as u64, &get), tree.root_at(n as u64).unwrap());
        }
    }
}
