#!/usr/bin/env python3
"""Independent client of a Habeas register published as a C2SP tiled transparency log.

Written from the public C2SP specifications (c2sp.org/tlog-tiles, c2sp.org/tlog-checkpoint,
c2sp.org/signed-note, c2sp.org/tlog-cosignature, c2sp.org/tlog-witness) and from
docs/register-format.md (§6 Merkle tree and proofs, §7 keys and signed notes, §8 checkpoints).
It uses no Habeas code and imports nothing from the other tools. Needs Python 3.11 and the
`cryptography` package (for Ed25519); HTTP is plain urllib.

    python3 tools/tlog_client.py check --url http://HOST:PORT/ --key VKEY \\
            [--witness VKEY ...] [--quorum K] [--state FILE]
    python3 tools/tlog_client.py check --dir DIR --key VKEY ...     (a `habeas publish --out DIR`)
    python3 tools/tlog_client.py prove-inclusion --url URL|--dir DIR --key VKEY --index I --leaf-hash HEX
    python3 tools/tlog_client.py prove-consistency --url URL|--dir DIR --key VKEY --old-size N --old-root B64
    python3 tools/tlog_client.py --self-test

`check` fetches <prefix>/checkpoint, verifies the register's Ed25519 signature with VKEY
(register-format §7.1: `<name>+<8 hex key id>+<base64(0x01 ‖ public key)>`, the name being the
origin), verifies each --witness cosignature (quorum: --quorum, default all of them), fetches
every tile the checkpoint's size implies, at every level, and checks the whole tree from the top
down: the root computed from the tiles (RFC 6962 shape, which for a size that is not a multiple
of 256 takes the partial tiles) must be the checkpoint's root, and every full tile must hash to
its entry in the tile one level up. With --state FILE it also proves, from the tiles of the new
tree, that the tree recorded in FILE by the previous run is a prefix of the new one, then
records the new checkpoint. It prints `OK size=N root=B64 witnesses=K/M` and exits 0, or prints
`FAILED: <reason>` to stderr and exits 1.

`prove-inclusion` / `prove-consistency` compute an RFC 6962 proof from the tiles, verify it
against the (signed) checkpoint and print it as one line of JSON (hashes in lowercase hex, as
`habeas proof` prints them), then `OK`.

Functions meant for other scripts: tile_path, tiles_for_size, read_tree (-> TileTree),
inclusion_proof, consistency_proof, verify_inclusion, verify_consistency, verify_note,
verify_cosignature, parse_checkpoint, VerifierKey, dir_fetcher, url_fetcher. A `fetch` is any
callable taking a path relative to the log prefix (e.g. "tile/0/x001/234") and returning the
bytes, raising NotFound when the resource does not exist.

What the specs say and this client relies on (checked against the spec texts):

* tlog-tiles: tiles are at `tile/<L>/<N>[.p/<W>]`; N is written in zero-padded groups of three
  digits, all but the last prefixed with `x` (1234067 -> x001/x234/067); full tiles hold 256
  hashes (8,192 bytes); the n-th level-l tile holds MTH(D[(256n+i)·256^l : (256n+i+1)·256^l]) for
  i in 0..255; the partial tile at level l of a tree of size s has floor(s/256^l) mod 256 hashes
  and is never empty; a tree of 70,000 leaves has 273 full level-0 tiles, a level-0 partial of
  width 112, one full level-1 tile, a level-1 partial of width 17 and a level-2 partial of width
  1. Clients may fetch the full tile as a fallback when a partial tile is gone: this client does
  so (and takes its first W hashes) when the partial tile answers "not found".
* tlog-cosignature (Ed25519, "cosignature/v1"): key id = SHA-256(name ‖ "\\n" ‖ 0x04 ‖ 32-byte
  public key)[:4]; the signature line carries base64(key id ‖ u64 big-endian timestamp ‖ 64-byte
  Ed25519 signature); the signed message is "cosignature/v1\\n" ‖ "time <decimal, no leading
  zeros>\\n" ‖ the checkpoint's note text (with its final newline, without signature lines); the
  timestamp must not exceed 2^63-1.
* tlog-witness: a log obtains cosignatures with add-checkpoint and adds the returned signature
  lines to its own checkpoint; a client ignores cosignatures from unknown keys.
* signed-note: key names have no Unicode space and no '+'; signatures by unknown keys (name or
  key id differing) are ignored; notes contain no control characters other than newline.

Assumptions (details the specs found do not settle, or where this client chooses):

* Witness verifier keys are given in the vkey text form `<name>+<8 hex key id>+<base64(0x04 ‖
  public key)>` (tlog-cosignature: Ed25519 cosigner keys "MAY be encoded as vkeys with signature
  type 0x04"). The copies of c2sp.org/signed-note available while writing this had no section
  on the vkey text itself; its layout is the one of register-format §7.1 and §16.1 and of the
  Go note package ("<name>+<hash>+<keydata>"). Witness keys of another type (e.g. ML-DSA-44, 0x06) are
  refused; ML-DSA cosignature lines in a note are ignored like any unknown signature.
* The cosignatures are read from the checkpoint served at <prefix>/checkpoint: the register is
  expected to append the witnesses' lines to the note it publishes. The client does not talk to
  witnesses itself.
* A note verifies if at least one signature line by the key verifies (register-format §7.2,
  step 5); signed-note says a client SHOULD (an earlier version: MAY) reject a note carrying a
  failing signature of a known key; this client follows the register's format document.
* Cosignature timestamps in the future are not refused (the spec makes that optional); the
  timestamps are not shown in the OK line.
* A consistency proof from size 0 is not a proof (register-format §6.4); the CLI treats old size
  0 as "the old root must be the empty tree's root".
* HTTP bodies sent with `Content-Encoding: gzip` are decompressed (tlog-tiles lets a log gzip
  entry bundles without negotiation; the client accepts it for any resource). Tiles are fetched
  by 8 threads (--workers N changes that), at most 32 requests ahead of the hashing.
* Only the Merkle tree is checked: entry bundles (tile/entries/...) are not fetched, so the
  client says nothing about the entries' contents, only that the published tree is the one the
  signed checkpoint names and that it extends the tree remembered in --state.
"""

from __future__ import annotations

import argparse
import base64
import collections
import concurrent.futures
import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
except ImportError:  # pragma: no cover - reported by main()
    Ed25519PublicKey = None  # type: ignore[assignment,misc]
    Ed25519PrivateKey = None  # type: ignore[assignment,misc]
    InvalidSignature = Exception  # type: ignore[assignment,misc]
    serialization = None  # type: ignore[assignment]


class Failure(Exception):
    """A verification failure (or unusable input); the message says what and where."""


class FetchError(Exception):
    """A resource could not be fetched."""


class NotFound(FetchError):
    """The resource does not exist (HTTP 404, or no such file)."""


TILE_WIDTH = 256
HASH_SIZE = 32
TILE_BYTES = TILE_WIDTH * HASH_SIZE
MAX_RESOURCE_BYTES = 1 << 20
DEFAULT_WORKERS = 8

ALG_ED25519 = 0x01          # signed-note Ed25519 signature type (the register's key)
ALG_COSIGNATURE_V1 = 0x04   # tlog-cosignature timestamped Ed25519 (witness keys)
COSIGNATURE_BYTES = 4 + 8 + 64


# --------------------------------------------------------------------------------------------
# Encodings (register-format §1)

_UNICODE_WHITE_SPACE = frozenset(
    chr(c) for c in (
        *range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    )
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    """Standard base64 with padding, in canonical form only; raises ValueError otherwise."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        raise ValueError("not canonical base64")
    raw = base64.b64decode(text, validate=True)
    if b64(raw) != text:
        raise ValueError("not canonical base64")
    return raw


def _strip_white(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in _UNICODE_WHITE_SPACE:
        start += 1
    while end > start and text[end - 1] in _UNICODE_WHITE_SPACE:
        end -= 1
    return text[start:end]


# --------------------------------------------------------------------------------------------
# The Merkle tree (register-format §6, RFC 6962 §2.1)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


EMPTY_ROOT = _sha256(b"")


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def _split_point(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: bytes) -> bytes:
    """MTH of 2^k consecutive hashes given as one byte string (a perfect subtree)."""
    while len(hashes) > HASH_SIZE:
        hashes = b"".join([_sha256(b"\x01" + hashes[i:i + 64]) for i in range(0, len(hashes), 64)])
    return hashes


class MemoryTree:
    """A tree held in memory as leaf hashes plus every complete binary level above them.

    The self-test's reference, and the source of the tiles it publishes: level h holds the
    roots of the aligned perfect subtrees of 2^h leaves, so level 8·L is what tile level L holds.
    """

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.levels = [b"".join(leaf_hashes)]
        while len(self.levels[-1]) >= 2 * HASH_SIZE:
            below = self.levels[-1]
            self.levels.append(b"".join(
                [_sha256(b"\x01" + below[i:i + 64]) for i in range(0, len(below) - 63, 64)]))
        self.size = len(leaf_hashes)

    def level_hashes(self, height: int, start: int, count: int) -> bytes:
        row = self.levels[height]
        if (start + count) * HASH_SIZE > len(row):
            raise ValueError("beyond the tree")
        return row[start * HASH_SIZE:(start + count) * HASH_SIZE]

    def subtree_hash(self, start: int, end: int) -> bytes:
        n = end - start
        if n <= 0 or end > self.size:
            raise ValueError(f"no subtree [{start}, {end}) in a tree of {self.size}")
        if n & (n - 1) == 0 and start % n == 0:
            return self.level_hashes(n.bit_length() - 1, start // n, 1)
        k = _split_point(n)
        return node_hash(self.subtree_hash(start, start + k), self.subtree_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.subtree_hash(0, size)

    def tiles(self, size: int | None = None) -> dict[str, bytes]:
        """The tiles of the tree of the first `size` leaves, keyed by their tlog-tiles path."""
        size = self.size if size is None else size
        out = {}
        for level, index, width in tiles_for_size(size):
            out[tile_path(level, index, width)] = self.level_hashes(8 * level, index * TILE_WIDTH, width)
        return out


def inclusion_proof(tree, index: int, size: int) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size]); `tree` is anything with subtree_hash(start, end)."""
    if not 0 <= index < size:
        raise ValueError(f"no leaf {index} in a tree of {size}")
    siblings = []
    lo, hi = 0, size
    while hi - lo > 1:  # walk from the root down to the leaf, collecting the other side
        k = _split_point(hi - lo)
        if index < lo + k:
            siblings.append(tree.subtree_hash(lo + k, hi))
            hi = lo + k
        else:
            siblings.append(tree.subtree_hash(lo, lo + k))
            lo += k
    siblings.reverse()  # PATH lists them from the leaf up
    return siblings


def consistency_proof(tree, old_size: int, size: int) -> list[bytes]:
    """RFC 6962 PROOF(old_size, D[0:size]) = SUBPROOF(old_size, D[0:size], true), 0 < old <= size."""
    if not 0 < old_size <= size:
        raise ValueError(f"no consistency proof from {old_size} to {size}")
    nodes = []
    lo, hi, whole = 0, size, True
    while True:
        width, m = hi - lo, old_size - lo
        if m == width:
            if not whole:
                nodes.append(tree.subtree_hash(lo, hi))
            break
        k = _split_point(width)
        if m <= k:
            nodes.append(tree.subtree_hash(lo + k, hi))
            hi = lo + k
        else:
            nodes.append(tree.subtree_hash(lo, lo + k))
            lo += k
            whole = False
    nodes.reverse()
    return nodes


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split an inclusion path for leaf `index` of a tree of `size` into (inner, border) lengths.

    The inner part is where the leaf's path and the path of the last leaf (size - 1) go through
    different nodes; above it, the path runs along the tree's right border, where every sibling
    that exists is on the left.
    """
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner, border


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """Checks an RFC 6962 inclusion proof (equivalent to RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        return False
    h = leaf
    for level, sibling in enumerate(proof[:inner]):
        h = node_hash(sibling, h) if (index >> level) & 1 else node_hash(h, sibling)
    for sibling in proof[inner:]:
        h = node_hash(sibling, h)
    return h == root


def verify_consistency(old_size: int, size: int, old_root: bytes, root: bytes, proof: list[bytes]) -> bool:
    """Checks an RFC 6962 consistency proof (equivalent to RFC 9162 §2.1.4.2); old_size 0 fails."""
    if old_size <= 0 or old_size > size:
        return False
    if old_size == size:
        return not proof and old_root == root
    # The proof is, in effect, the inclusion path of leaf old_size-1 in the new tree, minus its
    # lowest `shift` levels (the perfect subtree ending at old_size, whose hash comes first in
    # the proof unless it is the whole old tree).
    inner, border = _decompose(old_size - 1, size)
    shift = (old_size & -old_size).bit_length() - 1
    inner -= shift
    if old_size == 1 << shift:
        seed, rest = old_root, list(proof)
    else:
        if not proof:
            return False
        seed, rest = proof[0], list(proof[1:])
    if len(rest) != inner + border:
        return False
    position = (old_size - 1) >> shift
    old_h = new_h = seed
    for level, sibling in enumerate(rest[:inner]):
        if (position >> level) & 1:
            old_h = node_hash(sibling, old_h)
            new_h = node_hash(sibling, new_h)
        else:
            new_h = node_hash(new_h, sibling)
    for sibling in rest[inner:]:
        old_h = node_hash(sibling, old_h)
        new_h = node_hash(sibling, new_h)
    return old_h == old_root and new_h == root


# --------------------------------------------------------------------------------------------
# Tiles (c2sp.org/tlog-tiles)


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]`, N in zero-padded 3-digit groups, all but the last x-prefixed."""
    if not 0 <= level <= 63:
        raise ValueError(f"tile level {level} is not in 0..63")
    if index < 0:
        raise ValueError("a tile index is non-negative")
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width {width} is not in 1..{TILE_WIDTH}")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    n = "/".join(["x" + g for g in groups[:-1]] + groups[-1:])
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{n}{suffix}"


def _level_count(size: int, level: int) -> int:
    """How many hashes level `level` holds for a tree of `size` leaves: floor(size / 256^level)."""
    return size >> (8 * level)


def tiles_for_size(size: int) -> list[tuple[int, int, int]]:
    """Every (level, index, width) a tree of `size` leaves is published as, bottom level first."""
    out = []
    level = 0
    while _level_count(size, level) > 0:
        count = _level_count(size, level)
        out += [(level, i, TILE_WIDTH) for i in range(count // TILE_WIDTH)]
        if count % TILE_WIDTH:
            out.append((level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return out


def _parallel(func, items, workers: int):
    """Yields (item, func(item)) in the order of `items`, with at most a few calls in flight."""
    if workers <= 1:
        for item in items:
            yield item, func(item)
        return
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    pending: collections.deque = collections.deque()
    source = iter(items)

    def submit_next() -> None:
        for item in source:
            pending.append((item, pool.submit(func, item)))
            return

    try:
        for _ in range(4 * workers):
            submit_next()
        while pending:
            item, future = pending.popleft()
            submit_next()
            yield item, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class TileTree:
    """The tree of a given size as served in tiles, fetched on demand.

    subtree_hash(start, end) gives MTH(D[start:end]) from the fewest hashes the tiles hold, so
    proofs and roots of any size up to `size` cost a handful of tile fetches. After read_tree()
    has checked the whole tree, every tile fetched again is checked against the verified hash
    one level up, so a server cannot answer differently the second time.
    """

    LEVEL0_CACHE = 64

    def __init__(self, fetch, size: int) -> None:
        if not 0 <= size <= 2**64 - 1:
            raise ValueError("a tree size is a 64-bit unsigned number")
        self.fetch = fetch
        self.size = size
        self._kept: dict[tuple[int, int], bytes] = {}  # levels >= 1 and partial tiles
        self._recent: collections.OrderedDict = collections.OrderedDict()  # full level-0 tiles
        self.verified = False

    def width(self, level: int, index: int) -> int:
        count = _level_count(self.size, level)
        if index < count // TILE_WIDTH:
            return TILE_WIDTH
        if index == count // TILE_WIDTH and count % TILE_WIDTH:
            return count % TILE_WIDTH
        raise ValueError(f"a tree of {self.size} has no tile {index} at level {level}")

    def top_level(self) -> int:
        return max(0, (self.size.bit_length() - 1) // 8) if self.size else -1

    def _download(self, key: tuple[int, int]) -> bytes:
        """Fetches one tile and checks its length (may run in a worker thread)."""
        level, index = key
        width = self.width(level, index)
        path = tile_path(level, index, width)
        try:
            try:
                data = self.fetch(path)
            except NotFound:
                if width == TILE_WIDTH:
                    raise Failure(f"{path} is missing") from None
                # tlog-tiles: a partial tile may be gone once the full tile exists.
                full = tile_path(level, index)
                try:
                    data = self.fetch(full)
                except NotFound:
                    raise Failure(f"{path} is missing (and so is {full})") from None
                if len(data) != TILE_BYTES:
                    raise Failure(f"{full} (fetched for the missing {path}) is {len(data)} bytes, "
                                  f"not {TILE_BYTES}")
                data = data[:width * HASH_SIZE]
        except FetchError as e:
            raise Failure(f"cannot fetch {path}: {e}") from None
        if len(data) != width * HASH_SIZE:
            raise Failure(f"{path} is {len(data)} bytes; a tile of {width} hashes is {width * HASH_SIZE}")
        return data

    def _store(self, key: tuple[int, int], data: bytes) -> None:
        level, index = key
        if level > 0 or len(data) < TILE_BYTES:
            self._kept[key] = data
        else:
            self._recent[key] = data
            while len(self._recent) > self.LEVEL0_CACHE:
                self._recent.popitem(last=False)

    def tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key in self._kept:
            return self._kept[key]
        if key in self._recent:
            self._recent.move_to_end(key)
            return self._recent[key]
        data = self._download(key)
        if self.verified and len(data) == TILE_BYTES:
            if _fold(data) != self.hash_at(level + 1, index):
                raise Failure(f"{tile_path(level, index)} differs from the tile verified earlier "
                              f"(it no longer hashes to entry {index % TILE_WIDTH} of "
                              f"{self._path_of(level + 1, index // TILE_WIDTH)})")
        self._store(key, data)
        return data

    def _path_of(self, level: int, index: int) -> str:
        return tile_path(level, index, self.width(level, index))

    def hashes(self, level: int, first: int, count: int) -> bytes:
        """`count` consecutive hashes of a level, which must lie in one tile."""
        index, offset = divmod(first, TILE_WIDTH)
        if offset + count > TILE_WIDTH:
            raise ValueError("the hashes span two tiles")
        data = self.tile(level, index)
        if (offset + count) * HASH_SIZE > len(data):
            raise ValueError(f"level {level} has no hash {first + count - 1} in a tree of {self.size}")
        return data[offset * HASH_SIZE:(offset + count) * HASH_SIZE]

    def hash_at(self, level: int, i: int) -> bytes:
        return self.hashes(level, i, 1)

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= size."""
        n = end - start
        if n <= 0 or start < 0 or end > self.size:
            raise ValueError(f"no subtree [{start}, {end}) in a tree of {self.size}")
        if n & (n - 1) == 0 and start % n == 0:
            # A perfect subtree of height h = 8·level + r: 2^r consecutive hashes at `level`.
            level, r = divmod(n.bit_length() - 1, 8)
            return _fold(self.hashes(level, start >> (8 * level), 1 << r))
        k = _split_point(n)
        return node_hash(self.subtree_hash(start, start + k), self.subtree_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.subtree_hash(0, size)

    def leaf_hash(self, index: int) -> bytes:
        return self.hash_at(0, index)


def read_tree(fetch, size: int, root: bytes | None = None, *, workers: int = DEFAULT_WORKERS) -> TileTree:
    """Fetches every tile of the tree of `size` leaves and checks all of it; returns the tree.

    From the top down: the root computed from the tiles (only the partial tiles enter it) must
    equal `root` when one is given; then every full tile of every level must hash to its entry
    one level up. Tiles above level 0 are kept (1/256 of the leaf hashes); level-0 tiles are
    streamed through a small thread pool and dropped once checked. Raises Failure.
    """
    tree = TileTree(fetch, size)
    if size == 0:
        if root is not None and root != EMPTY_ROOT:
            raise Failure("the checkpoint's size is 0 but its root is not the empty tree's root")
        tree.verified = True
        return tree
    upper = [(level, index) for level in range(1, tree.top_level() + 1)
             for index in range(-(-_level_count(size, level) // TILE_WIDTH))]
    if size % TILE_WIDTH:
        upper.append((0, size // TILE_WIDTH))
    for key, data in _parallel(tree._download, upper, workers):
        tree._store(key, data)
    computed = tree.root()
    if root is not None and computed != root:
        raise Failure(f"the root computed from the tiles of size {size} is {b64(computed)}, not the "
                      f"checkpoint's root {b64(root)}")

    def check_child(level: int, index: int, data: bytes) -> None:
        if _fold(data) != tree.hash_at(level + 1, index):
            raise Failure(f"{tile_path(level, index)} does not hash to entry {index % TILE_WIDTH} of "
                          f"{tree._path_of(level + 1, index // TILE_WIDTH)}")

    for level in range(tree.top_level() - 1, 0, -1):
        for index in range(_level_count(size, level + 1)):
            check_child(level, index, tree.tile(level, index))
    full0 = _level_count(size, 1)
    for (_, index), data in _parallel(tree._download, ((0, i) for i in range(full0)), workers):
        check_child(0, index, data)
    tree.verified = True
    return tree


# --------------------------------------------------------------------------------------------
# Keys, signed notes, checkpoints and cosignatures (register-format §7, §8; c2sp.org/signed-note,
# c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature)

DASH = "\u2014 "  # em dash and a space start every signature line


def valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c in _UNICODE_WHITE_SPACE for c in name)


def key_id(name: str, alg: int, public: bytes) -> bytes:
    return _sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public)[:4]


class VerifierKey:
    """A vkey `<name>+<key id, 8 lowercase hex>+<base64(type byte ‖ 32-byte Ed25519 key)>`."""

    def __init__(self, text: str, alg: int = ALG_ED25519) -> None:
        parts = _strip_white(text).split("+", 2)
        if len(parts) != 3:
            raise ValueError("a verifier key has the form <name>+<key id>+<base64 key>")
        name, hex_id, key64 = parts
        if not valid_key_name(name):
            raise ValueError(f"the key name {name!r} is empty or contains white space or '+'")
        try:
            raw = unb64(key64)
        except ValueError:
            raise ValueError("the key part is not canonical base64") from None
        if len(raw) != 33 or raw[0] != alg:
            kind = "a witness (cosignature/v1)" if alg == ALG_COSIGNATURE_V1 else "an Ed25519"
            raise ValueError(f"not {kind} key: expected the type byte 0x{alg:02x} and 32 key bytes")
        self.name, self.alg, self.public = name, alg, raw[1:]
        self.id = key_id(name, alg, self.public)
        if hex_id != self.id.hex():
            raise ValueError(f"the key id {hex_id!r} does not match the name and key "
                             f"(they give {self.id.hex()})")
        try:
            self._key = Ed25519PublicKey.from_public_bytes(self.public)
        except ValueError:
            raise ValueError("not a valid Ed25519 public key") from None
        self.text = f"{name}+{hex_id}+{key64}"

    def valid(self, signature: bytes, message: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def _as_key(vkey, alg: int) -> VerifierKey:
    if isinstance(vkey, VerifierKey):
        if vkey.alg != alg:
            raise ValueError(f"the key {vkey.name} has signature type 0x{vkey.alg:02x}, not 0x{alg:02x}")
        return vkey
    return VerifierKey(vkey, alg)


def split_note(note) -> tuple[str, list[tuple[str, bytes]]]:
    """Splits a signed note into its text and its (key name, decoded signature) lines."""
    if isinstance(note, (bytes, bytearray)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the note is not UTF-8") from None
    if re.search(r"[\x00-\x09\x0b-\x1f]", note):
        raise ValueError("the note contains a control character other than newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise ValueError("malformed note: no blank line before the signatures")
    text, block = note[:cut + 1], note[cut + 2:]
    if text.startswith("\n") or "\n\n" in text:
        raise ValueError("malformed note: the text contains a blank line")
    if len(block) < 2 or not block.endswith("\n"):
        raise ValueError("malformed note: the signature block must end with a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(DASH):
            raise ValueError("malformed note: a signature line must start with an em dash and a space")
        name, space, sig64 = line[len(DASH):].partition(" ")
        if not space or not name:
            raise ValueError("malformed note: a signature line holds a key name and a signature")
        try:
            signatures.append((name, unb64(sig64)))
        except ValueError:
            raise ValueError(f"malformed note: the signature by {name!r} is not base64") from None
    return text, signatures


def verify_note(note, vkey) -> str:
    """Verifies a note signed with an Ed25519 (type 0x01) key; returns its text or raises ValueError."""
    key = _as_key(vkey, ALG_ED25519)
    text, signatures = split_note(note)
    message = text.encode("utf-8")
    for name, sig in signatures:
        if name == key.name and len(sig) == 68 and sig[:4] == key.id and key.valid(sig[4:], message):
            return text
    raise ValueError(f"no valid signature by {key.name}+{key.id.hex()}")


def cosignature_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode("utf-8")


def parse_cosignature(sig: bytes) -> tuple[bytes, int, bytes]:
    """(key id, timestamp, Ed25519 signature) of a decoded cosignature/v1 signature."""
    if len(sig) != COSIGNATURE_BYTES:
        raise ValueError(f"a cosignature/v1 signature is {COSIGNATURE_BYTES} bytes, not {len(sig)}")
    return sig[:4], int.from_bytes(sig[4:12], "big"), sig[12:]


def verify_cosignature(note, vkey) -> int:
    """Verifies a witness's cosignature/v1 on a note; returns its timestamp or raises ValueError."""
    key = _as_key(vkey, ALG_COSIGNATURE_V1)
    text, signatures = split_note(note)
    seen = False
    for name, sig in signatures:
        if name != key.name or len(sig) != COSIGNATURE_BYTES or sig[:4] != key.id:
            continue  # another key's signature
        seen = True
        _, timestamp, signature = parse_cosignature(sig)
        if timestamp > 2**63 - 1:
            continue
        if key.valid(signature, cosignature_message(text, timestamp)):
            return timestamp
    if seen:
        raise ValueError(f"the cosignature by {key.name} does not verify")
    raise ValueError(f"no cosignature by {key.name}+{key.id.hex()}")


class Checkpoint:
    def __init__(self, origin: str, size: int, root: bytes, text: str) -> None:
        self.origin, self.size, self.root, self.text = origin, size, root, text


def parse_checkpoint(text: str) -> Checkpoint:
    """Parses a checkpoint's note text (origin, size, base64 root, then ignored extension lines)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not all(lines[:3]):
        raise ValueError("malformed checkpoint: it needs an origin, a tree size and a root hash line")
    origin, size_line, root_line = lines[:3]
    if not _DECIMAL.fullmatch(size_line) or int(size_line) > 2**64 - 1:
        raise ValueError(f"malformed checkpoint: bad tree size {size_line!r}")
    try:
        root = unb64(root_line)
    except ValueError:
        raise ValueError("malformed checkpoint: the root hash is not base64") from None
    if len(root) != HASH_SIZE:
        raise ValueError("malformed checkpoint: the root hash is not 32 bytes")
    return Checkpoint(origin, int(size_line), root, text)


# --------------------------------------------------------------------------------------------
# Fetching


def dir_fetcher(directory: str):
    """A fetch reading a static tree such as `habeas publish --out DIR` writes."""
    base = os.path.abspath(directory)

    def fetch(path: str) -> bytes:
        full = os.path.join(base, *path.split("/"))
        try:
            with open(full, "rb") as f:
                data = f.read(MAX_RESOURCE_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(full) from None
        except OSError as e:
            raise FetchError(f"{full}: {e}") from None
        if len(data) > MAX_RESOURCE_BYTES:
            raise FetchError(f"{full} is larger than {MAX_RESOURCE_BYTES} bytes")
        return data

    return fetch


def url_fetcher(prefix: str, timeout: float = 30.0, attempts: int = 3):
    """A fetch over HTTP(S) below the log's URL prefix (urllib; retries transient errors)."""
    if not re.match(r"https?://", prefix):
        raise ValueError("the URL must start with http:// or https://")
    base = prefix if prefix.endswith("/") else prefix + "/"

    def fetch(path: str) -> bytes:
        url = base + path
        request = urllib.request.Request(url, headers={
            "User-Agent": "habeas-tlog-client/1", "Accept-Encoding": "identity"})
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(0.25 * 2**attempt)
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    data = response.read(MAX_RESOURCE_BYTES + 1)
                    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
            except urllib.error.HTTPError as e:
                if e.code == 404 or e.code == 410:
                    raise NotFound(f"{url}: HTTP {e.code}") from None
                problem = f"{url}: HTTP {e.code}"
                if e.code < 500 and e.code != 429:
                    break
                continue
            except (urllib.error.URLError, OSError) as e:
                problem = f"{url}: {getattr(e, 'reason', e)}"
                continue
            if len(data) > MAX_RESOURCE_BYTES:
                raise FetchError(f"{url}: larger than {MAX_RESOURCE_BYTES} bytes")
            if encoding == "gzip":  # tlog-tiles lets a log gzip without negotiation
                try:
                    data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(MAX_RESOURCE_BYTES + 1)
                except (OSError, EOFError) as e:
                    raise FetchError(f"{url}: bad gzip body: {e}") from None
                if len(data) > MAX_RESOURCE_BYTES:
                    raise FetchError(f"{url}: larger than {MAX_RESOURCE_BYTES} bytes")
            elif encoding != "identity":
                raise FetchError(f"{url}: unknown Content-Encoding {encoding!r}")
            return data
        raise FetchError(problem)

    return fetch


# --------------------------------------------------------------------------------------------
# The commands


def open_checkpoint(fetch, key: VerifierKey, witnesses: list[VerifierKey], quorum: int) -> tuple[Checkpoint, int]:
    """Fetches and verifies the checkpoint and its cosignatures; returns it and the valid count."""
    try:
        note = fetch("checkpoint")
    except FetchError as e:
        raise Failure(f"cannot fetch the checkpoint: {e}") from None
    try:
        cp = parse_checkpoint(verify_note(note, key))
    except ValueError as e:
        raise Failure(f"the checkpoint: {e}") from None
    if cp.origin != key.name:
        raise Failure(f"the checkpoint's origin {cp.origin!r} is not the register key's name {key.name!r}")
    problems = []
    for witness in witnesses:
        try:
            verify_cosignature(note, witness)
        except ValueError as e:
            problems.append(str(e))
    valid = len(witnesses) - len(problems)
    if valid < quorum:
        raise Failure(f"{valid} of {len(witnesses)} witness cosignatures are valid, {quorum} required: "
                      + "; ".join(problems))
    return cp, valid


def _load_state(path: str) -> tuple[str, int, bytes] | None:
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise Failure(f"cannot read the state file {path}: {e}") from None
    try:
        origin, size, root = state["origin"], state["size"], unb64(state["root"])
        if not isinstance(origin, str) or not isinstance(size, int) or size < 0 or len(root) != HASH_SIZE:
            raise ValueError("bad field")
    except (KeyError, TypeError, ValueError):
        raise Failure(f"the state file {path} is not one this tool wrote") from None
    return origin, size, root


def _save_state(path: str, cp: Checkpoint) -> None:
    body = json.dumps({"origin": cp.origin, "size": cp.size, "root": b64(cp.root)}) + "\n"
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise Failure(f"cannot write the state file {path}: {e}") from None


def _check_extends(tree: TileTree, cp: Checkpoint, old_size: int, old_root: bytes, what: str) -> list[bytes]:
    """Proves from the tiles that the tree of old_size with old_root is a prefix of cp's tree."""
    if old_size > cp.size:
        raise Failure(f"{what} has size {old_size}, but the register's checkpoint now has only "
                      f"{cp.size} entries: the register was rolled back or rewritten")
    if old_size == 0:
        if old_root != EMPTY_ROOT:
            raise Failure(f"{what} has size 0 but a root that is not the empty tree's root")
        return []
    proof = consistency_proof(tree, old_size, cp.size)
    if not verify_consistency(old_size, cp.size, old_root, cp.root, proof):
        found = tree.root(old_size)
        if found != old_root:
            raise Failure(f"the register's tree of size {old_size} has root {b64(found)} now, but "
                          f"{what} has root {b64(old_root)}: a fork or a rewrite of the register "
                          f"(its first {old_size} entries are not the ones seen before)")
        raise Failure(f"the consistency proof from size {old_size} to size {cp.size} does not verify")
    return proof


def run_check(fetch, key: VerifierKey, witnesses: list[VerifierKey], quorum: int,
              state: str | None = None, workers: int = DEFAULT_WORKERS) -> str:
    cp, valid = open_checkpoint(fetch, key, witnesses, quorum)
    tree = read_tree(fetch, cp.size, cp.root, workers=workers)
    if state is not None:
        remembered = _load_state(state)
        if remembered is not None:
            origin, old_size, old_root = remembered
            if origin != cp.origin:
                raise Failure(f"the state file {state} is for the register {origin!r}, not {cp.origin!r}")
            _check_extends(tree, cp, old_size, old_root, f"the checkpoint remembered in {state}")
        _save_state(state, cp)
    return f"OK size={cp.size} root={b64(cp.root)} witnesses={valid}/{len(witnesses)}"


def run_prove_inclusion(fetch, key, witnesses, quorum, index: int, leaf: bytes) -> dict:
    cp, _ = open_checkpoint(fetch, key, witnesses, quorum)
    if not 0 <= index < cp.size:
        raise Failure(f"the register's checkpoint has {cp.size} entries: there is no entry {index}")
    tree = TileTree(fetch, cp.size)
    found = tree.leaf_hash(index)
    if found != leaf:
        raise Failure(f"the leaf hash of entry {index} in the tiles is {found.hex()}, not {leaf.hex()}")
    proof = inclusion_proof(tree, index, cp.size)
    if not verify_inclusion(index, cp.size, leaf, proof, cp.root):
        raise Failure(f"the inclusion proof of entry {index} in the tree of size {cp.size}, computed "
                      "from the tiles, does not lead to the checkpoint's root: the tiles are wrong")
    return {"index": index, "size": cp.size, "leaf_hash": leaf.hex(),
            "proof": [h.hex() for h in proof], "root": cp.root.hex()}


def run_prove_consistency(fetch, key, witnesses, quorum, old_size: int, old_root: bytes) -> dict:
    cp, _ = open_checkpoint(fetch, key, witnesses, quorum)
    tree = TileTree(fetch, cp.size)
    proof = _check_extends(tree, cp, old_size, old_root, f"the tree of size {old_size} given")
    return {"first": old_size, "second": cp.size, "first_root": old_root.hex(),
            "second_root": cp.root.hex(), "proof": [h.hex() for h in proof]}


# --------------------------------------------------------------------------------------------
# Self-test

# register-format §6.2: the Certificate Transparency reference vectors.
CT_LEAF_DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                "606162636465666768696a6b6c6d6e6f"]
CT_ROOT = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
_H = {  # the proof hashes of §6.2, named by their first four hex digits
    "96a2": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f08": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "bc1a": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca85": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "0ebc": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
}
CT_INCLUSION = {  # (leaf index, tree size): proof
    (0, 8): [_H["96a2"], _H["5f08"], _H["6b47"]],
    (5, 8): [_H["bc1a"], _H["ca85"], CT_ROOT[4]],
    (2, 3): [CT_ROOT[2]],
    (1, 5): [CT_ROOT[1], _H["5f08"], _H["bc1a"]],
}
CT_CONSISTENCY = {  # (first size, second size): proof
    (1, 1): [],
    (1, 8): [_H["96a2"], _H["5f08"], _H["6b47"]],
    (6, 8): [_H["0ebc"], _H["ca85"], CT_ROOT[4]],
    (2, 5): [_H["5f08"], _H["bc1a"]],
}

# register-format §7.1 and §7.2.
EXAMPLE_NAME = "habeas.example/register/test"
EXAMPLE_VKEY = "habeas.example/register/test+e64c2dca+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
EXAMPLE_NOTE = (
    "habeas.example/register/test\n42\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n"
    "\u2014 habeas.example/register/test 5kwtyrzmBBigmzzJf010cN+MpOY0sYeTvbChTC0TSEYo1A5JSQ/"
    "nAqnKWvf9PcQPgf3obwnnjxEvqsoT8SFHDDusmAQ=\n"
)
# register-format §16.3 (the witness section being added alongside this tool): the witness key
# from the seed 0x0b… and its cosignature of the §7.2 checkpoint at 2026-01-01T00:00:00Z.
EXAMPLE_WITNESS_VKEY = "habeas.example/witness/test+bb63acb8+BGa+fjMsekUzMr2dCn99sFX1xe8aBq2mbZizn7aBDEc6"
EXAMPLE_COSIGNED_NOTE = EXAMPLE_NOTE + (
    "\u2014 habeas.example/witness/test u2OsuAAAAABpVbkAJ7BZIBXhhA76imWcamrjoQB3gA7MD3lPuORrHzJq3mTt6YTQCN"
    "gqU3iHO3sueOHQ3YQD7dUReupCNb1S4zImBw==\n"
)
# tlog-cosignature's example cosignature line (its witness key is not published): its signature
# field must decode to a key id, the timestamp 1679315147 of the spec's example and 64 bytes.
SPEC_COSIGNATURE = ("jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
                    "qhf5nNo0xUe+mbIUBkBIfZ+qnA==")

SELF_TEST_SIZES = (0, 1, 2, 3, 255, 256, 257, 511, 65535, 65536, 65537, 70000)


class _Signer:
    """Test-only signing with a key from a fixed seed (register key: 0x01; witness key: 0x04)."""

    def __init__(self, name: str, seed: bytes, alg: int) -> None:
        self.name, self.alg = name, alg
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        public = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.id = key_id(name, alg, public)
        self.vkey = f"{name}+{self.id.hex()}+{b64(bytes([alg]) + public)}"

    def line(self, text: str, timestamp: int | None = None) -> str:
        if self.alg == ALG_COSIGNATURE_V1:
            sig = self.id + timestamp.to_bytes(8, "big") + self._private.sign(cosignature_message(text, timestamp))
        else:
            sig = self.id + self._private.sign(text.encode("utf-8"))
        return f"{DASH}{self.name} {b64(sig)}\n"


def _checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{b64(root)}\n"


def _publish(directory: str, tree: MemoryTree, size: int, signer: _Signer, cosigners=(), root=None) -> str:
    """Writes the tiles of the first `size` leaves and a signed checkpoint; returns the note."""
    for path, data in tree.tiles(size).items():
        full = os.path.join(directory, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    text = _checkpoint_text(signer.name, size, tree.root(size) if root is None else root)
    note = text + "\n" + signer.line(text) + "".join(c.line(text, 1_700_000_000 + i) for i, c in enumerate(cosigners))
    _write_checkpoint(directory, note)
    return note


def _write_checkpoint(directory: str, note: str) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "checkpoint"), "w", encoding="utf-8", newline="") as f:
        f.write(note)


def _memory_fetcher(files: dict[str, bytes]):
    def fetch(path: str) -> bytes:
        if path not in files:
            raise NotFound(path)
        return files[path]
    return fetch


def _rfc_reference(leaves: list[bytes]):
    """MTH, PATH and PROOF straight from the RFC 6962 text, over a list (for small trees)."""

    @functools.lru_cache(maxsize=None)
    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 0:
            return EMPTY_ROOT
        if hi - lo == 1:
            return leaves[lo]
        k = _split_point(hi - lo)
        return node_hash(mth(lo, lo + k), mth(lo + k, hi))

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo <= 1:
            return []
        k = _split_point(hi - lo)
        if m < k:
            return path(m, lo, lo + k) + [mth(lo + k, hi)]
        return path(m - k, lo + k, hi) + [mth(lo, lo + k)]

    def subproof(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        if m == hi - lo:
            return [] if whole else [mth(lo, hi)]
        k = _split_point(hi - lo)
        if m <= k:
            return subproof(m, lo, lo + k, whole) + [mth(lo + k, hi)]
        return subproof(m - k, lo + k, hi, False) + [mth(lo, lo + k)]

    return mth, path, subproof


def _naive_mth(leaves: list[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 0:
        return EMPTY_ROOT
    if hi - lo == 1:
        return leaves[lo]
    k = _split_point(hi - lo)
    return node_hash(_naive_mth(leaves, lo, lo + k), _naive_mth(leaves, lo + k, hi))


class _Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)

    @contextlib.contextmanager
    def section(self, name: str):
        """Runs a group of checks; an unexpected exception counts as one failure of the group."""
        try:
            yield
        except Exception as e:  # noqa: BLE001 - a self-test reports, it does not crash
            self.check(False, f"{name}: unexpected {type(e).__name__}: {e}")

    def fails(self, func, what: str, expect: str | None = None) -> None:
        """`func()` must raise Failure/ValueError (whose message contains `expect`, if given)."""
        try:
            func()
        except (Failure, ValueError) as e:
            self.check(expect is None or expect in str(e), f"{what}: wrong reason: {e}")
            return
        self.check(False, f"{what}: not detected")


def _serve(directory: str, compress: bool = False):
    """A local HTTP server for the directory (optionally gzipping every body, unasked)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=directory, **kwargs)

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            if not compress:
                return super().do_GET()
            try:
                with open(self.translate_path(self.path), "rb") as f:
                    body = gzip.compress(f.read())
            except OSError:
                return self.send_error(404)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 128  # the default 5 drops connections from a pool of 8

    server = Server(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def self_test() -> _Results:
    r = _Results()
    seed = int.from_bytes(os.urandom(8), "big")
    rng = random.Random(seed)
    register = _Signer("habeas.example/register/selftest", bytes([0x21]) * 32, ALG_ED25519)
    reg_key = VerifierKey(register.vkey)
    w1 = _Signer("witness.example/w1", bytes([0x31]) * 32, ALG_COSIGNATURE_V1)
    w2 = _Signer("witness.example/w2", bytes([0x32]) * 32, ALG_COSIGNATURE_V1)
    w1_key, w2_key = VerifierKey(w1.vkey, ALG_COSIGNATURE_V1), VerifierKey(w2.vkey, ALG_COSIGNATURE_V1)

    # Tile paths and layout (tlog-tiles' own examples).
    with r.section("tile paths and layout"):
        r.check(tile_path(0, 1234067) == "tile/0/x001/x234/067", "tile path of index 1234067")
        r.check(tile_path(1, 0) == "tile/1/000", "tile path of level 1 index 0")
        r.check(tile_path(0, 273, 112) == "tile/0/273.p/112", "partial tile path")
        r.check(tile_path(2, 1000, 1) == "tile/2/x001/000.p/1", "partial tile path of index 1000")
        r.fails(lambda: tile_path(0, 0, 0), "a tile of width 0")
        r.fails(lambda: tile_path(64, 0), "a tile of level 64")
        want = [(0, i, 256) for i in range(273)] + [(0, 273, 112), (1, 0, 256), (1, 1, 17), (2, 0, 1)]
        r.check(tiles_for_size(70000) == want, "the tiles of a tree of 70,000")
        r.check(tiles_for_size(256) == [(0, 0, 256), (1, 0, 1)], "the tiles of a tree of 256")
        r.check(tiles_for_size(0) == [], "an empty tree has no tiles")

    # §6.2 reference vectors, computed from tiles.
    with r.section("§6.2 reference vectors"):
        ct_leaves = [leaf_hash(bytes.fromhex(d)) for d in CT_LEAF_DATA]
        ct = MemoryTree(ct_leaves)
        for n, want_root in CT_ROOT.items():
            tiles = TileTree(_memory_fetcher(ct.tiles(n)), n)
            r.check(tiles.root().hex() == want_root, f"§6.2 root of size {n} from the tiles")
        ct_tiles = TileTree(_memory_fetcher(ct.tiles(8)), 8)
        for (m, n), want_proof in CT_INCLUSION.items():
            got = [h.hex() for h in inclusion_proof(ct_tiles, m, n)]
            r.check(got == want_proof, f"§6.2 inclusion proof ({m}, {n}) from the tiles")
            proof = [bytes.fromhex(h) for h in want_proof]
            r.check(verify_inclusion(m, n, ct_leaves[m], proof, bytes.fromhex(CT_ROOT[n])),
                    f"§6.2 inclusion proof ({m}, {n}) verifies")
        for (m, n), want_proof in CT_CONSISTENCY.items():
            got = [h.hex() for h in consistency_proof(ct_tiles, m, n)]
            r.check(got == want_proof, f"§6.2 consistency proof ({m}, {n}) from the tiles")
            proof = [bytes.fromhex(h) for h in want_proof]
            r.check(verify_consistency(m, n, bytes.fromhex(CT_ROOT[m]), bytes.fromhex(CT_ROOT[n]), proof),
                    f"§6.2 consistency proof ({m}, {n}) verifies")

    # Every proof of every small tree, from tiles, equals the RFC text's and verifies; tampered
    # proofs, wrong indices and wrong roots fail.
    with r.section("every proof of trees of 1 to 40 leaves"):
        small = [leaf_hash(i.to_bytes(4, "big")) for i in range(40)]
        mth, path, subproof = _rfc_reference(small)
        small_tiles = TileTree(_memory_fetcher(MemoryTree(small).tiles()), 40)
        bad = []
        for n in range(1, 41):
            root = mth(0, n)
            if small_tiles.root(n) != root:
                bad.append(f"root {n}")
            for m in range(n):
                proof = inclusion_proof(small_tiles, m, n)
                if proof != path(m, 0, n) or not verify_inclusion(m, n, small[m], proof, root):
                    bad.append(f"inclusion ({m}, {n})")
                if verify_inclusion(m, n, small[(m + 1) % n], proof, root) and n > 1:
                    bad.append(f"inclusion ({m}, {n}) with another leaf")
                if proof and verify_inclusion(m, n, small[m], proof[:-1], root):
                    bad.append(f"inclusion ({m}, {n}) shortened")
                if verify_inclusion(m, n, small[m], proof + [root], root):
                    bad.append(f"inclusion ({m}, {n}) lengthened")
            for m in range(1, n + 1):
                proof = consistency_proof(small_tiles, m, n)
                if proof != subproof(m, 0, n, True) or not verify_consistency(m, n, mth(0, m), root, proof):
                    bad.append(f"consistency ({m}, {n})")
                if verify_consistency(m, n, mth(0, m), node_hash(root, root), proof):
                    bad.append(f"consistency ({m}, {n}) with a wrong new root")
                if m < n and verify_consistency(m, n, node_hash(root, root), root, proof):
                    bad.append(f"consistency ({m}, {n}) with a wrong old root")
                for i in range(len(proof)):
                    changed = proof[:i] + [node_hash(proof[i], proof[i])] + proof[i + 1:]
                    if verify_consistency(m, n, mth(0, m), root, changed):
                        bad.append(f"consistency ({m}, {n}) with element {i} changed")
        r.check(not bad, f"small trees: {bad[:5]}")
        r.check(not verify_consistency(0, 5, EMPTY_ROOT, mth(0, 5), []), "a consistency proof from size 0")

    # Keys and notes (§7).
    with r.section("keys and notes"):
        example = _Signer(EXAMPLE_NAME, bytes([0x07]) * 32, ALG_ED25519)
        r.check(example.vkey == EXAMPLE_VKEY, "§7.1 verifier key from the seed 0x07…")
        try:
            cp = parse_checkpoint(verify_note(EXAMPLE_NOTE, EXAMPLE_VKEY))
            r.check((cp.origin, cp.size, cp.root) == (EXAMPLE_NAME, 42, bytes([9]) * 32), "§7.2 example checkpoint")
        except ValueError as e:
            r.check(False, f"§7.2 example note does not verify: {e}")
        r.fails(lambda: verify_note(EXAMPLE_NOTE.replace("\n42\n", "\n43\n"), EXAMPLE_VKEY), "§7.2 note changed")
        r.fails(lambda: verify_note(EXAMPLE_NOTE, register.vkey), "§7.2 note with another key")
        r.fails(lambda: VerifierKey(EXAMPLE_VKEY.replace("+e64c2dca+", "+e64c2dcb+")), "a vkey with a wrong key id")
        r.fails(lambda: VerifierKey(EXAMPLE_VKEY, ALG_COSIGNATURE_V1), "a 0x01 key used as a witness key")
        r.fails(lambda: verify_note(EXAMPLE_NOTE.replace("\u2014", "-"), EXAMPLE_VKEY), "a hyphen for the em dash")

    # Cosignatures (tlog-cosignature).
    with r.section("cosignatures"):
        example_witness = _Signer("habeas.example/witness/test", bytes([0x0b]) * 32, ALG_COSIGNATURE_V1)
        r.check(example_witness.vkey == EXAMPLE_WITNESS_VKEY, "§16.3 witness verifier key from the seed 0x0b…")
        r.check(verify_cosignature(EXAMPLE_COSIGNED_NOTE, EXAMPLE_WITNESS_VKEY) == 1767225600,
                "§16.3 cosigned checkpoint verifies, at 1767225600")
        r.check(EXAMPLE_COSIGNED_NOTE == EXAMPLE_NOTE + example_witness.line(verify_note(EXAMPLE_NOTE, EXAMPLE_VKEY),
                                                                             1767225600),
                "§16.3 cosignature made again byte for byte")
        r.check(verify_note(EXAMPLE_COSIGNED_NOTE, EXAMPLE_VKEY).startswith(EXAMPLE_NAME),
                "§16.3 cosigned checkpoint still verifies with the register key")
        r.fails(lambda: verify_cosignature(EXAMPLE_COSIGNED_NOTE, EXAMPLE_WITNESS_VKEY.replace("BGa+", "BGb+")),
                "§16.3 cosignature with another witness key")
        _, stamp, _ = parse_cosignature(unb64(SPEC_COSIGNATURE))
        r.check(stamp == 1679315147, "the spec's example cosignature carries the time of its example")
        text = _checkpoint_text(register.name, 42, bytes([9]) * 32)
        note = text + "\n" + register.line(text) + w1.line(text, 1_700_000_123)
        try:
            r.check(verify_cosignature(note, w1.vkey) == 1_700_000_123, "a cosignature gives its timestamp")
        except ValueError as e:
            r.check(False, f"a cosignature does not verify: {e}")
        r.check(verify_note(note, register.vkey) == text, "a cosigned note still verifies with the register key")
        name, sig = split_note(note)[1][1]
        moved = sig[:4] + (1_700_000_124).to_bytes(8, "big") + sig[12:]
        forged = text + "\n" + register.line(text) + f"{DASH}{name} {b64(moved)}\n"
        r.fails(lambda: verify_cosignature(forged, w1.vkey), "a cosignature with a changed timestamp",
                "does not verify")
        r.fails(lambda: verify_cosignature(note, w2.vkey), "a missing cosignature", "no cosignature")
        late = text + "\n" + w1.line(text, 2**63)
        r.fails(lambda: verify_cosignature(late, w1.vkey), "a cosignature time beyond 2^63-1")
        plain = text + "\n" + f"{DASH}{w1.name} {b64(w1.id + w1._private.sign(text.encode()))}\n"
        r.fails(lambda: verify_cosignature(plain, w1.vkey), "a plain signature offered as a cosignature")

    # Trees of many sizes published to a directory exactly as tlog-tiles lays them out.
    big = max(SELF_TEST_SIZES)
    leaves = [leaf_hash(rng.randbytes(24)) for _ in range(big)]
    memory = MemoryTree(leaves)
    tmp = tempfile.mkdtemp(prefix="tlog-client-selftest-")
    try:
        for size in SELF_TEST_SIZES:
            with r.section(f"the tree of size {size}"):
                where = f"size {size} (seed {seed})"
                d = os.path.join(tmp, str(size))
                _publish(d, memory, size, register, [w1, w2])
                fetch = dir_fetcher(d)
                want_root = _naive_mth(leaves, 0, size)
                try:
                    line = run_check(fetch, reg_key, [w1_key, w2_key], 2)
                    r.check(line == f"OK size={size} root={b64(want_root)} witnesses=2/2", f"check of {where}: {line}")
                except Failure as e:
                    r.check(False, f"check of {where}: {e}")
                    continue
                tree = read_tree(fetch, size, want_root)
                r.check(tree.root() == want_root == memory.root(size), f"root from the tiles of {where}")
                if size == 0:
                    continue
                picks = {0, 1, 255, 256, 257, 65535, 65536, size // 2, size - 1}
                picks |= {rng.randrange(size) for _ in range(4)}
                for m in sorted(p for p in picks if p < size):
                    proof = inclusion_proof(tree, m, size)
                    r.check(proof == inclusion_proof(memory, m, size)
                            and verify_inclusion(m, size, leaves[m], proof, want_root),
                            f"inclusion proof ({m}, {size}) from tiles")
                olds = {1, 2, 255, 256, 257, 65535, 65536, size - 1, size}
                olds |= {rng.randrange(1, size + 1) for _ in range(4)}
                for m in sorted(p for p in olds if 1 <= p <= size):
                    proof = consistency_proof(tree, m, size)
                    r.check(proof == consistency_proof(memory, m, size)
                            and verify_consistency(m, size, memory.root(m), want_root, proof)
                            and tree.root(m) == memory.root(m),
                            f"consistency proof ({m}, {size}) from tiles")

        # The commands, through the command line.
        with r.section("the command line"):
            d70k = os.path.join(tmp, "70000")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = main(["prove-inclusion", "--dir", d70k, "--key", register.vkey, "--witness", w1.vkey,
                           "--index", "65536", "--leaf-hash", leaves[65536].hex()])
            printed = out.getvalue().splitlines()
            try:
                shown = json.loads(printed[0])
                r.check(rc == 0 and printed[-1] == "OK" and shown["size"] == 70000
                        and shown["proof"] == [h.hex() for h in inclusion_proof(memory, 65536, 70000)]
                        and shown["root"] == memory.root(70000).hex(), "prove-inclusion")
            except (ValueError, IndexError, KeyError):
                r.check(False, f"prove-inclusion printed {printed!r}")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = main(["prove-consistency", "--dir", d70k, "--key", register.vkey,
                           "--old-size", "65537", "--old-root", b64(memory.root(65537))])
            printed = out.getvalue().splitlines()
            r.check(rc == 0 and printed[-1] == "OK" and json.loads(printed[0])["proof"]
                    == [h.hex() for h in consistency_proof(memory, 65537, 70000)], "prove-consistency")
            for argv, what in (
                (["prove-inclusion", "--index", "7", "--leaf-hash", leaves[8].hex()], "prove-inclusion, wrong leaf"),
                (["prove-consistency", "--old-size", "65537", "--old-root", b64(memory.root(65536))],
                 "prove-consistency, wrong old root"),
                (["prove-consistency", "--old-size", "70001", "--old-root", b64(memory.root(65536))],
                 "prove-consistency, old size too large"),
                (["check", "--witness", w1.vkey, "--witness", EXAMPLE_VKEY.replace("+AepK", "+BOpK")],
                 "check with a malformed witness key"),
            ):
                err = io.StringIO()
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                    rc = main(argv[:1] + ["--dir", d70k, "--key", register.vkey] + argv[1:])
                r.check(rc == 1 and err.getvalue().startswith("FAILED: "), f"{what}: {err.getvalue()!r}")

        # Witness quorum.
        with r.section("witness quorum"):
            r.check(run_check(dir_fetcher(d70k), reg_key, [w1_key, w2_key], 1).endswith("witnesses=2/2"),
                    "quorum 1 of 2")
            d_one = os.path.join(tmp, "one-witness")
            _publish(d_one, memory, 3000, register, [w1])
            r.check(run_check(dir_fetcher(d_one), reg_key, [w1_key, w2_key], 1).endswith("witnesses=1/2"),
                    "quorum 1 with one cosignature of two")
            r.fails(lambda: run_check(dir_fetcher(d_one), reg_key, [w1_key, w2_key], 2),
                    "quorum 2 with one cosignature", "1 of 2 witness cosignatures")

        # The checkpoint itself.
        with r.section("the checkpoint"):
            d_bad = os.path.join(tmp, "bad-checkpoint")
            _publish(d_bad, memory, 3000, register, root=memory.root(2999))
            r.fails(lambda: run_check(dir_fetcher(d_bad), reg_key, [], 0), "a signed root the tiles do not give",
                    "not the checkpoint's root")
            other = _Signer("habeas.example/register/other", bytes([0x22]) * 32, ALG_ED25519)
            _publish(d_bad, memory, 3000, other)
            r.fails(lambda: run_check(dir_fetcher(d_bad), reg_key, [], 0), "a checkpoint by another key",
                    "no valid signature")
            r.fails(lambda: run_check(dir_fetcher(d_bad), VerifierKey(other.vkey), [w1_key], 1),
                    "a checkpoint without its cosignature", "0 of 1")
            text = _checkpoint_text("habeas.example/register/elsewhere", 3000, memory.root(3000))
            _write_checkpoint(d_bad, text + "\n" + register.line(text))
            r.fails(lambda: run_check(dir_fetcher(d_bad), reg_key, [], 0), "a checkpoint for another origin",
                    "origin")

        # Changed, truncated and missing tiles.
        with r.section("changed tiles"):
            for path in ("tile/0/005", "tile/0/272", "tile/0/273.p/112",
                         "tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"):
                full = os.path.join(d70k, *path.split("/"))
                with open(full, "rb") as f:
                    original = f.read()
                k = len(original) // 2
                for label, data in (
                    ("a changed byte", original[:k] + bytes([original[k] ^ 1]) + original[k + 1:]),
                    ("a missing hash", original[:-32]),
                    ("an extra hash", original + original[:32]),
                ):
                    with open(full, "wb") as f:
                        f.write(data)
                    if len(data) != len(original):
                        blame = f"{path} is {len(data)} bytes"
                    elif ".p/" in path:
                        blame = "the root computed from the tiles"
                    else:
                        blame = f"{path} does not hash to entry"
                    r.fails(lambda: run_check(dir_fetcher(d70k), reg_key, [], 0), f"{label} in {path}", blame)
                os.remove(full)
                r.fails(lambda: run_check(dir_fetcher(d70k), reg_key, [], 0), f"a missing {path}", "missing")
                with open(full, "wb") as f:
                    f.write(original)
            r.check(run_check(dir_fetcher(d70k), reg_key, [], 0).startswith("OK size=70000 "), "tiles restored")

        # A partial tile deleted once the full one exists: the full tile's first hashes serve.
        with r.section("partial tile fallback"):
            d_grown = os.path.join(tmp, "grown")
            _publish(d_grown, memory, 768, register)
            _publish(d_grown, memory, 600, register)
            os.remove(os.path.join(d_grown, "tile", "0", "002.p", "88"))
            r.check(run_check(dir_fetcher(d_grown), reg_key, [], 0).startswith("OK size=600 "),
                    "a missing partial tile taken from the full tile")

        # Remembered state: extensions pass; forks, rewrites and rollbacks fail, naming the size.
        with r.section("--state"):
            forked = list(leaves[:3000])
            forked[1200] = leaf_hash(b"a different entry")
            forked_tree = MemoryTree(forked)
            d_a, d_b = os.path.join(tmp, "log-a"), os.path.join(tmp, "log-b")
            state = os.path.join(tmp, "state.json")
            _publish(d_a, memory, 1500, register)
            r.check(run_check(dir_fetcher(d_a), reg_key, [], 0, state).startswith("OK size=1500 "),
                    "first run with --state")
            _publish(d_a, memory, 3000, register)
            r.check(run_check(dir_fetcher(d_a), reg_key, [], 0, state).startswith("OK size=3000 "), "an extension")
            with open(state, encoding="utf-8") as f:
                r.check(json.load(f)["size"] == 3000, "the state moves on")
            _publish(d_b, forked_tree, 3000, register)
            r.fails(lambda: run_check(dir_fetcher(d_b), reg_key, [], 0, state), "a fork at the same size",
                    "tree of size 3000")
            _save_state(state, parse_checkpoint(_checkpoint_text(register.name, 1500, memory.root(1500))))
            r.fails(lambda: run_check(dir_fetcher(d_b), reg_key, [], 0, state), "a rewrite of the first 1500 entries",
                    "tree of size 1500")
            _save_state(state, parse_checkpoint(_checkpoint_text(register.name, 1100, memory.root(1100))))
            r.check(run_check(dir_fetcher(d_b), reg_key, [], 0, state).startswith("OK size=3000 "),
                    "a tree that differs only after the remembered size extends it")
            _publish(d_a, memory, 2000, register)
            r.fails(lambda: run_check(dir_fetcher(d_a), reg_key, [], 0, state), "a rollback", "rolled back")
            err = io.StringIO()
            _save_state(state, parse_checkpoint(_checkpoint_text(register.name, 1500, memory.root(1500))))
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                rc = main(["check", "--dir", d_b, "--key", register.vkey, "--state", state])
            r.check(rc == 1 and "FAILED: " in err.getvalue() and "size 1500" in err.getvalue(),
                    f"the command line names the forked size: {err.getvalue()!r}")

        # A server that answers differently once the tree has been verified.
        with r.section("tiles re-fetched"):
            files = memory.tiles(70000)
            fetched = read_tree(_memory_fetcher(files), 70000, memory.root(70000))
            fetched._recent.clear()
            files["tile/0/004"] = bytes(TILE_BYTES)
            r.fails(lambda: fetched.root(1100), "a tile that changes after verification",
                    "differs from the tile verified")

        # Over HTTP, with a thread pool.
        with r.section("HTTP"):
            server = _serve(d70k)
            try:
                url = f"http://127.0.0.1:{server.server_address[1]}/"
                line = run_check(url_fetcher(url), reg_key, [w1_key, w2_key], 2, workers=8)
                r.check(line == f"OK size=70000 root={b64(memory.root(70000))} witnesses=2/2",
                        f"check over HTTP: {line}")
                try:
                    url_fetcher(url)("tile/9/000")
                    r.check(False, "a missing resource over HTTP was found")
                except NotFound:
                    r.check(True, "a missing resource over HTTP")
            finally:
                server.shutdown()
                server.server_close()
            server = _serve(d_one, compress=True)
            try:
                url = f"http://127.0.0.1:{server.server_address[1]}"
                line = run_check(url_fetcher(url), reg_key, [w1_key], 1)
                r.check(line == f"OK size=3000 root={b64(memory.root(3000))} witnesses=1/1",
                        f"check over HTTP with gzip bodies: {line}")
            finally:
                server.shutdown()
                server.server_close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return r


# --------------------------------------------------------------------------------------------


def _fetcher_from(args):
    if args.url:
        return url_fetcher(args.url)
    if not os.path.isdir(args.dir):
        raise Failure(f"{args.dir} is not a directory")
    return dir_fetcher(args.dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="tlog_client.py",
        description="Check a Habeas register published as C2SP tlog-tiles, with witness cosignatures.")
    ap.add_argument("--self-test", action="store_true", help="run the built-in tests and exit")
    sub = ap.add_subparsers(dest="command")

    def common(p):
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("--url", help="the log's URL prefix (serving /checkpoint and /tile/...)")
        where.add_argument("--dir", help="a directory written by `habeas publish --out DIR`")
        p.add_argument("--key", required=True, metavar="VKEY",
                       help="the register's verifier key <name>+<key id>+<base64 key>")
        p.add_argument("--witness", action="append", default=[], metavar="VKEY",
                       help="a witness's cosignature/v1 key (type 0x04); repeatable")
        p.add_argument("--quorum", type=int, metavar="K",
                       help="how many of the witnesses must have cosigned (default: all)")
        p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=argparse.SUPPRESS)

    p = sub.add_parser("check", help="verify the checkpoint and the whole tree")
    common(p)
    p.add_argument("--state", metavar="FILE", help="remember the checkpoint; prove the next one extends it")
    p = sub.add_parser("prove-inclusion", help="prove that a leaf is in the tree")
    common(p)
    p.add_argument("--index", type=int, required=True)
    p.add_argument("--leaf-hash", required=True, metavar="HEX", help="SHA-256(0x00 ‖ entry) in lowercase hex")
    p = sub.add_parser("prove-consistency", help="prove that the tree extends an older one")
    common(p)
    p.add_argument("--old-size", type=int, required=True)
    p.add_argument("--old-root", required=True, metavar="B64")
    args = ap.parse_args(argv)

    if Ed25519PublicKey is None:
        print("FAILED: the Python package 'cryptography' is required (pip install cryptography)", file=sys.stderr)
        return 1
    if args.self_test:
        started = time.monotonic()
        results = self_test()
        for problem in results.failed:
            print(f"FAILED: self-test: {problem}", file=sys.stderr)
        print(f"tlog_client self-test: {results.passed} passed, {len(results.failed)} failed "
              f"({time.monotonic() - started:.1f} s)")
        return 0 if not results.failed else 1
    if not args.command:
        ap.error("a command is required (check, prove-inclusion, prove-consistency) or --self-test")

    try:
        try:
            key = VerifierKey(args.key)
        except ValueError as e:
            raise Failure(f"--key: {e}") from None
        witnesses = []
        for text in args.witness:
            try:
                witnesses.append(VerifierKey(text, ALG_COSIGNATURE_V1))
            except ValueError as e:
                raise Failure(f"--witness {text}: {e}") from None
        quorum = len(witnesses) if args.quorum is None else args.quorum
        if not 0 <= quorum <= len(witnesses):
            raise Failure(f"--quorum {quorum}: give a number between 0 and the {len(witnesses)} witnesses")
        if args.workers < 1:
            raise Failure("--workers must be at least 1")
        fetch = _fetcher_from(args)
        if args.command == "check":
            print(run_check(fetch, key, witnesses, quorum, args.state, args.workers))
            return 0
        if args.command == "prove-inclusion":
            if not _HEX64.fullmatch(args.leaf_hash):
                raise Failure("--leaf-hash: expected 64 lowercase hex digits")
            result = run_prove_inclusion(fetch, key, witnesses, quorum, args.index, bytes.fromhex(args.leaf_hash))
        else:
            try:
                old_root = unb64(args.old_root)
            except ValueError:
                old_root = b""
            if len(old_root) != HASH_SIZE:
                raise Failure("--old-root: expected the base64 of a 32-byte hash")
            if args.old_size < 0:
                raise Failure("--old-size must not be negative")
            result = run_prove_consistency(fetch, key, witnesses, quorum, args.old_size, old_root)
        print(json.dumps(result))
        print("OK")
        return 0
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # e.g. a bad --url
        print(f"FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
