#!/usr/bin/env python3
"""Independent verifier for Habeas register exports.

Written from docs/register-format.md alone (§9 the export format, §10 how to verify it, §16
witnesses' cosignatures); it uses no Habeas code and imports nothing from the other tools.
Needs Python 3.11 and the `cryptography` package (for Ed25519).

    python3 tools/verify_export.py EXPORT.jsonl [--verifier-key KEY]
                                   [--witness VKEY ... [--witness-quorum N]]
    python3 tools/verify_export.py --self-test

It reads export versions 1 and 2. Version 2 adds, after the checkpoint lines, the witnesses'
cosignatures of those checkpoints; each must verify (C2SP tlog-cosignature) over the checkpoint
of its size with the witness key the line names, at the timestamp the line states.

On success it prints a report whose first line starts with "OK" and exits 0; it says how many
cosignatures it verified, by witness. On the first problem it prints "FAILED: <reason>"
(naming the line number and/or entry index; for a cosignature, its size and witness) to stderr
and exits 1.

Without --verifier-key it checks the export against the verifier key found inside the export,
which only proves that the export is consistent with itself. Likewise a cosignature is checked
with the witness key its line names: it shows that someone independent saw the checkpoint only
once that key is compared with the witness's key obtained independently.

--witness names a witness you trust, by its key obtained independently (repeat it for several),
and --witness-quorum how many of them must have cosigned a checkpoint (by default all). The
export then passes only if some checkpoint is cosigned by that many of them: the report names
the largest such checkpoint, the entries it vouches for and those after it that no quorum has
seen; cosignatures by witnesses not named are verified and not counted.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import tempfile

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
except ImportError:  # pragma: no cover - reported at run time
    Ed25519PublicKey = None  # type: ignore[assignment]
    Ed25519PrivateKey = None  # type: ignore[assignment]
    InvalidSignature = Exception  # type: ignore[assignment,misc]


class Failure(Exception):
    """A verification failure; the message names the line and/or entry index."""


# --------------------------------------------------------------------------------------------
# Conventions (§1)

# Characters with the Unicode White_Space property.
WHITE_SPACE = frozenset(
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
WHITE_SPACE_STR = "".join(sorted(WHITE_SPACE))


def trim(s: str) -> str:
    return s.strip(WHITE_SPACE_STR)


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # general category Cc


def has_control(s: str) -> bool:
    return _CONTROL_RE.search(s) is not None


_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def b64decode_strict(s: object) -> bytes:
    """Canonical standard base64 with padding; anything else raises ValueError."""
    if not isinstance(s, str) or len(s) % 4 != 0 or not _B64_RE.fullmatch(s):
        raise ValueError("not canonical base64")
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode("ascii") != s:
        raise ValueError("not canonical base64")
    return raw


def is_uint64(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 2**64 - 1


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


# --------------------------------------------------------------------------------------------
# Time (§2)

_TIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3})Z")


def _days_from_civil(y: int, m: int, d: int) -> int:
    y = y - 1 if m <= 2 else y
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(s: object) -> int:
    """Returns milliseconds since 1970-01-01T00:00:00Z; raises ValueError if not a valid time."""
    if not isinstance(s, str) or len(s) != 24:
        raise ValueError(f"not a time of the form YYYY-MM-DDTHH:MM:SS.mmmZ: {s!r}")
    m = _TIME_RE.fullmatch(s)
    if not m:
        raise ValueError(f"not a time of the form YYYY-MM-DDTHH:MM:SS.mmmZ: {s!r}")
    y, mo, d, h, mi, sec, ms = (int(g) for g in m.groups())
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    if mo in (1, 3, 5, 7, 8, 10, 12):
        dim = 31
    elif mo in (4, 6, 9, 11):
        dim = 30
    elif mo == 2:
        dim = 29 if leap else 28
    else:
        raise ValueError(f"impossible month in {s!r}")
    if not (1 <= d <= dim and h < 24 and mi < 60 and sec < 60 and ms < 1000):
        raise ValueError(f"impossible date or time {s!r}")
    return (((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec) * 1000 + ms


# --------------------------------------------------------------------------------------------
# Canonical JSON (§3)

MAX_SAFE_INTEGER = 2**53 - 1
_SHORT_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


class NotCanonical(ValueError):
    pass


# '"', '\\', U+0000-U+001F, and surrogates (which cannot be encoded and are refused below).
_NEEDS_ESCAPE_RE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def enc_string(s: str) -> str:
    if _NEEDS_ESCAPE_RE.search(s) is None:
        return '"' + s + '"'
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append(_SHORT_ESCAPES.get(o) or "\\u%04x" % o)
        elif 0xD800 <= o <= 0xDFFF:
            raise NotCanonical("a string contains an unpaired surrogate")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _utf16_key(k: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as sequences of UTF-16 code units.
    return k.encode("utf-16-be", errors="surrogatepass")


MAX_DEPTH = 127  # nesting levels of arrays/objects, counting the entry object as level 1


def enc_value(v: object, path: str, depth: int = 1) -> str:
    """Canonical JSON of v; `depth` is the nesting level v has if it is an array or object."""
    if isinstance(v, (list, dict)) and depth > MAX_DEPTH:
        raise NotCanonical(f"{path}: nested more than {MAX_DEPTH} levels deep")
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        if abs(v) > MAX_SAFE_INTEGER:
            raise NotCanonical(f"{path}: integer outside ±(2^53-1)")
        return str(v)
    if isinstance(v, str):
        return enc_string(v)
    if isinstance(v, list):
        return "[" + ",".join(enc_value(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)) + "]"
    if isinstance(v, dict):
        keys = sorted(v.keys(), key=_utf16_key)
        return "{" + ",".join(enc_string(k) + ":" + enc_value(v[k], f"{path}.{k}", depth + 1) for k in keys) + "}"
    raise NotCanonical(f"{path}: {type(v).__name__} is not allowed (numbers must be integers)")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    d: dict = {}
    for k, val in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = val
    return d


def _refuse_float(s: str) -> object:
    raise ValueError(f"the number {s} is not an integer")


def _refuse_constant(s: str) -> object:
    raise ValueError(f"{s} is not JSON")


def parse_json_strict(text: str) -> object:
    """JSON with no duplicate keys and no NaN/Infinity; fractions are refused."""
    return json.loads(
        text,
        object_pairs_hook=_no_duplicates,
        parse_float=_refuse_float,
        parse_constant=_refuse_constant,
    )


def parse_json_line(text: str) -> object:
    """A line of the export: JSON with no duplicate keys (numbers are checked by the caller)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)


# --------------------------------------------------------------------------------------------
# Entries (§4)

ENTRY_KEYS = {"actor", "facility", "index", "kind", "payload", "salt", "subject", "time", "v"}
MAX_LABEL_BYTES = 200
MAX_ENTRY_BYTES = 262144
_SALT_RE = re.compile(r"[0-9a-f]{32}")


def check_entry(raw: bytes) -> tuple[int, int]:
    """Checks §4.3 rules 1-11; returns (index, time in ms). Raises ValueError with the reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"the bytes are not UTF-8: {e}") from None
    try:
        obj = parse_json_strict(text)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"the bytes are not a JSON entry: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError("the bytes are not a JSON object")
    keys = set(obj)
    missing = ENTRY_KEYS - keys
    extra = keys - ENTRY_KEYS - {"corrects"}
    if missing:
        raise ValueError(f"missing member(s) {sorted(missing)}")
    if extra:
        raise ValueError(f"unknown member(s) {sorted(extra)}")
    for field in ("actor", "facility", "kind", "subject"):
        val = obj[field]
        if not isinstance(val, str):
            raise ValueError(f"{field} must be a string")
        if not trim(val):
            raise ValueError(f"{field} must not be empty")
        if len(val.encode("utf-8", errors="surrogatepass")) > MAX_LABEL_BYTES:
            raise ValueError(f"{field} is longer than {MAX_LABEL_BYTES} bytes")
        if has_control(val):
            raise ValueError(f"{field} contains a control character")
    if not isinstance(obj["payload"], dict):
        raise ValueError("payload must be a JSON object")
    index = obj["index"]
    if not is_uint64(index):
        raise ValueError("index must be an unsigned 64-bit integer")
    corrects = obj.get("corrects")
    if "corrects" in obj:
        if not isinstance(corrects, dict) or set(corrects) != {"index", "reason"}:
            raise ValueError('corrects must be an object with exactly "index" and "reason"')
        if not is_uint64(corrects["index"]):
            raise ValueError("corrects.index must be an unsigned 64-bit integer")
        if not isinstance(corrects["reason"], str) or not trim(corrects["reason"]):
            raise ValueError("corrects.reason must be a non-empty string")
    salt = obj["salt"]
    if not isinstance(salt, str) or not _SALT_RE.fullmatch(salt):
        raise ValueError("salt must be 32 lowercase hex digits")
    time_ms = parse_time(obj["time"])
    v = obj["v"]
    if not (isinstance(v, int) and not isinstance(v, bool) and v == 1):
        raise ValueError(f"unknown version v={v!r} (expected 1)")
    digits = len(str(index))
    if len(raw) - digits + 29 > MAX_ENTRY_BYTES:
        raise ValueError("the entry is larger than the register allows")
    # Rule 11: re-encoding gives exactly the same bytes. Keys in canonical (sorted) order.
    try:
        parts = ['{"actor":', enc_string(obj["actor"])]
        if "corrects" in obj:
            parts += [',"corrects":{"index":', str(corrects["index"]), ',"reason":',
                      enc_string(corrects["reason"]), "}"]
        parts += [',"facility":', enc_string(obj["facility"]),
                  ',"index":', str(index),
                  ',"kind":', enc_string(obj["kind"]),
                  ',"payload":', enc_value(obj["payload"], "payload", 2),
                  ',"salt":"', salt, '"',
                  ',"subject":', enc_string(obj["subject"]),
                  ',"time":', enc_string(obj["time"]),
                  ',"v":1}']
        again = "".join(parts).encode("utf-8")
    except (NotCanonical, UnicodeEncodeError) as e:
        raise ValueError(f"the bytes are not in canonical form: {e}") from None
    if again != raw:
        raise ValueError("the bytes are not in canonical form (re-encoding gives different bytes)")
    return index, time_ms


# --------------------------------------------------------------------------------------------
# Merkle tree (§6)


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


EMPTY_ROOT = sha256(b"")


def split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves: list[bytes]) -> bytes:
    """MTH straight from the definition (used by the self-test to cross-check Tree)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


class Tree:
    """All leaf hashes plus every complete subtree, level by level, as flat byte strings.

    levels[h] holds the roots of the complete subtrees of 2^h leaves, 32 bytes each, so MTH of
    any range is O(log n) hashes.
    """

    def __init__(self, leaves: bytes) -> None:
        assert len(leaves) % 32 == 0
        self.levels = [bytes(leaves)]
        while len(self.levels[-1]) >= 64:
            below = self.levels[-1]
            nxt = bytearray()
            for off in range(0, len(below) - 63, 64):
                nxt += hashlib.sha256(b"\x01" + below[off:off + 64]).digest()
            self.levels.append(bytes(nxt))

    def __len__(self) -> int:
        return len(self.levels[0]) // 32

    def leaf(self, i: int) -> bytes:
        return self.levels[0][32 * i:32 * i + 32]

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= len."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            h = n.bit_length() - 1
            i = start >> h
            if h < len(self.levels) and 32 * (i + 1) <= len(self.levels[h]):
                return self.levels[h][32 * i:32 * i + 32]
        k = split(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        if size > len(self):
            raise ValueError("size beyond the tree")
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def inclusion_proof(self, m: int, n: int) -> list[bytes]:
        out: list[bytes] = []

        def path(m: int, start: int, end: int) -> None:
            size = end - start
            if size <= 1:
                return
            k = split(size)
            if m < k:
                path(m, start, start + k)
                out.append(self.subtree(start + k, end))
            else:
                path(m - k, start + k, end)
                out.append(self.subtree(start, start + k))

        path(m, 0, n)
        return out

    def consistency_proof(self, m: int, n: int) -> list[bytes]:
        """RFC 6962 PROOF(m, D[0:n]) for 0 < m <= n <= len."""
        if not 0 < m <= n <= len(self):
            raise ValueError("bad range for a consistency proof")
        out: list[bytes] = []

        def subproof(m: int, start: int, end: int, whole: bool) -> None:
            size = end - start
            if m == size:
                if not whole:
                    out.append(self.subtree(start, end))
                return
            k = split(size)
            if m <= k:
                subproof(m, start, start + k, whole)
                out.append(self.subtree(start + k, end))
            else:
                subproof(m - k, start + k, end, False)
                out.append(self.subtree(start, start + k))

        subproof(m, 0, n, True)
        return out


def verify_inclusion(m: int, n: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if m >= n:
        return False
    fn, sn, r = m, n - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if m == 0 or m > n:
        return False
    if m == n:
        return not proof and first_root == second_root
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# --------------------------------------------------------------------------------------------
# Keys, signed notes and checkpoints (§7, §8), witnesses' cosignatures (§16)

EM_DASH_SPACE = "\u2014 "
ALG_ED25519 = 0x01      # the register's key (§7.1)
ALG_COSIGNATURE = 0x04  # a witness's key: timestamped Ed25519 cosignatures, cosignature/v1 (§16.1)
COSIGNATURE_BYTES = 76  # key id, 8-byte timestamp, Ed25519 signature (§16.2)
MAX_TIMESTAMP = 2**63 - 1


def valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c in WHITE_SPACE for c in name)


def key_id(name: str, public: bytes, alg: int = ALG_ED25519) -> bytes:
    return sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public)[:4]


class VerifierKey:
    def __init__(self, text: str, alg: int = ALG_ED25519) -> None:
        """Parses `<name>+<8 hex key id>+<base64(alg ‖ public key)>`; raises ValueError.

        `alg` is 0x01 for the register's key (§7.1) and 0x04 for a witness's key (§16.1); a key
        of the other type is refused.
        """
        parts = trim(text).split("+", 2)
        if len(parts) != 3:
            raise ValueError("expected <name>+<key id>+<key>")
        name, hex_id, b64 = parts
        if not valid_key_name(name):
            raise ValueError(f"the key name {name!r} is empty or contains white space")
        try:
            raw = b64decode_strict(b64)
        except ValueError:
            raise ValueError("the key is not canonical base64") from None
        if len(raw) != 33 or raw[0] != alg:
            if alg == ALG_COSIGNATURE:
                raise ValueError("not a witness's cosignature/v1 key (expected 0x04 and 32 bytes)")
            raise ValueError("not an Ed25519 key (expected 0x01 and 32 bytes)")
        self.name = name
        self.alg = alg
        self.public = raw[1:]
        self.id = key_id(name, self.public, alg)
        if hex_id != self.id.hex():
            raise ValueError(
                f"the key id {hex_id!r} does not match the name and key (expected {self.id.hex()})"
            )
        try:
            self._key = Ed25519PublicKey.from_public_bytes(self.public)
        except ValueError:
            raise ValueError("not a valid Ed25519 public key") from None
        self.text = f"{name}+{hex_id}+{b64}"

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self._key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise ValueError("the note text must end with a newline")
    if "\n\n" in text or text.startswith("\n"):
        raise ValueError("the note text must not contain a blank line")
    if "\r" in text:
        raise ValueError("the note text must not contain a carriage return")


def parse_signature_line(line: str) -> tuple[str, bytes]:
    """`— <key name> <base64>` (without its newline) → (key name, decoded bytes); raises ValueError."""
    if not line.startswith(EM_DASH_SPACE):
        raise ValueError("malformed note: a signature line must start with '\u2014 '")
    rest = line[len(EM_DASH_SPACE):]
    if " " not in rest:
        raise ValueError("malformed note: a signature line has a name and a signature")
    name, b64 = rest.split(" ", 1)
    try:
        blob = b64decode_strict(b64)
    except ValueError:
        raise ValueError("malformed note: a signature is not base64") from None
    return name, blob


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Splits a signed note into its text and its signature lines (§7.2 steps 1-3); raises ValueError."""
    split_at = note.rfind("\n\n")
    if split_at < 0:
        raise ValueError("malformed note: no blank line before the signatures")
    text = note[:split_at + 1]
    _check_note_text(text)
    sigs = note[split_at + 2:]
    if not sigs.endswith("\n") or len(sigs) < 2:
        raise ValueError("malformed note: the signature block must end with a newline")
    return text, [parse_signature_line(line) for line in sigs[:-1].split("\n")]


def open_note(note: str, key: VerifierKey) -> str:
    """Verifies a signed note (§7.2) and returns its text; raises ValueError."""
    text, signatures = split_note(note)
    message = text.encode("utf-8")
    for name, blob in signatures:
        if name != key.name or len(blob) != 68 or blob[:4] != key.id:
            continue  # a signature by another key
        if key.verify(blob[4:], message):
            return text
    raise ValueError(f"the note carries no valid signature by the key {key.text}")


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a witness signs (§16.2): the checkpoint text after a header naming the time."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode("utf-8")


def cosigned_at(note: str, line: str, witness: VerifierKey) -> int:
    """Checks that the signature line `line` (ending in a newline), appended to the signed
    checkpoint `note`, is a valid cosignature by `witness` (§16.2); returns its timestamp.
    Raises ValueError saying why not."""
    if not line.endswith("\n") or len(line) < 2 or "\n" in line[:-1]:
        raise ValueError("the cosignature is not one line ending in a newline")
    # Appended to the note, the line is its last signature line; the witness signed the note's text.
    text, _ = split_note(note)
    try:
        name, blob = parse_signature_line(line[:-1])
    except ValueError as e:
        why = str(e).removeprefix("malformed note: ")
        raise ValueError(f"the line is not a signature line ({why})") from None
    if name != witness.name:
        raise ValueError(f"the line is signed by the name {name!r}, not by the witness {witness.name!r}")
    if len(blob) != COSIGNATURE_BYTES:
        raise ValueError(f"its signature is {len(blob)} bytes, not the {COSIGNATURE_BYTES} of a cosignature")
    if blob[:4] != witness.id:
        raise ValueError(f"its key id {blob[:4].hex()} is not the witness's key id {witness.id.hex()}")
    timestamp = int.from_bytes(blob[4:12], "big")
    if timestamp > MAX_TIMESTAMP:
        raise ValueError(f"its timestamp {timestamp} is above 2^63-1")
    if not witness.verify(blob[12:], cosignature_message(text, timestamp)):
        raise ValueError("its signature is not valid over that checkpoint at the timestamp it carries")
    return timestamp


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """Parses a checkpoint body (§8); returns (origin, size, root). Raises ValueError."""
    lines = text.split("\n")
    if len(lines) < 3 or not lines[0]:
        raise ValueError("malformed checkpoint: missing origin, size or root")
    origin, size_line, root_line = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]*", size_line):
        raise ValueError("malformed checkpoint: the tree size must be a decimal number without leading zeros")
    size = int(size_line)
    if size > 2**64 - 1:
        raise ValueError("malformed checkpoint: the tree size is too large")
    try:
        root = b64decode_strict(root_line)
    except ValueError:
        raise ValueError("malformed checkpoint: the root hash is not base64") from None
    if len(root) != 32:
        raise ValueError("malformed checkpoint: the root hash is not 32 bytes")
    return origin, size, root


# --------------------------------------------------------------------------------------------
# The export (§9, §10)

FORMAT = "habeas-register-export"
VERSIONS = (1, 2)  # version 2 adds the cosignature lines, and nothing else (§9, "Versions")
COSIGNATURES_SINCE = 2


class Checkpoint:
    def __init__(self, line: int, note: str, origin: str, size: int, root: bytes) -> None:
        self.line, self.note, self.origin, self.size, self.root = line, note, origin, size, root

    def where(self) -> str:
        return "the header's checkpoint (line 1)" if self.line == 1 else f"the checkpoint on line {self.line}"


def _str_field(obj: dict, name: str, line: int) -> str:
    if name not in obj:
        raise Failure(f"line {line}: the field {name!r} is missing")
    if not isinstance(obj[name], str):
        raise Failure(f"line {line}: the field {name!r} must be a string")
    return obj[name]


def _uint_field(obj: dict, name: str, line: int) -> int:
    if name not in obj:
        raise Failure(f"line {line}: the field {name!r} is missing")
    if not is_uint64(obj[name]):
        raise Failure(f"line {line}: the field {name!r} must be a non-negative whole number")
    return obj[name]


def _open_checkpoint(note: str, key: VerifierKey, origin: str, line: int, what: str) -> Checkpoint:
    try:
        text = open_note(note, key)
        cp_origin, size, root = parse_checkpoint(text)
    except ValueError as e:
        raise Failure(f"line {line}: {what}: {e}") from None
    if cp_origin != origin:
        raise Failure(f"line {line}: {what}: its origin {cp_origin!r} is not the export's origin {origin!r}")
    return Checkpoint(line, note, cp_origin, size, root)


class Cosignature:
    def __init__(self, line: int, size: int, witness: VerifierKey, timestamp: int) -> None:
        self.line, self.size, self.witness, self.timestamp = line, size, witness, timestamp


def _check_cosignature(obj: dict, line_no: int, checkpoints: list[Checkpoint],
                       cosignatures: list[Cosignature]) -> Cosignature:
    """§10 step 5, a cosignature line: a cosignature by the witness the line names, over the
    checkpoint of the line's size, at the line's timestamp; raises Failure naming the line,
    the size and the witness."""
    size = _uint_field(obj, "size", line_no)
    timestamp = _uint_field(obj, "timestamp", line_no)
    witness_text = _str_field(obj, "witness", line_no)
    line = _str_field(obj, "line", line_no)
    try:
        witness = VerifierKey(witness_text, ALG_COSIGNATURE)
    except ValueError as e:
        raise Failure(f"line {line_no}: the cosignature of the checkpoint of size {size}: the witness's "
                      f"key {witness_text!r} does not parse: {e}") from None
    for earlier in cosignatures:
        if earlier.size == size and earlier.witness.text == witness.text:
            raise Failure(f"line {line_no}: a second cosignature by {witness.text} of the checkpoint of "
                          f"size {size} (the first is on line {earlier.line})")
    of_size = [cp for cp in checkpoints if cp.size == size]
    if not of_size:
        raise Failure(f"line {line_no}: the cosignature by {witness.text} is of a checkpoint of size {size}, "
                      "but the export holds no checkpoint of that size")
    why = ""
    for cp in of_size:
        try:
            made = cosigned_at(cp.note, line, witness)
        except ValueError as e:
            why = str(e)
            continue
        if made == timestamp:
            return Cosignature(line_no, size, witness, timestamp)
        why = f"it was made at {made}, not at the timestamp {timestamp} the line states"
    raise Failure(f"line {line_no}: the cosignature by {witness.text} of the checkpoint of size {size} "
                  f"does not verify: {why}")


def _lines(path: str):
    """Yields (line number, text) for each line, without its terminating newline."""
    with open(path, "rb") as f:
        for i, chunk in enumerate(f, start=1):
            if chunk.endswith(b"\n"):
                chunk = chunk[:-1]
            try:
                yield i, chunk.decode("utf-8")
            except UnicodeDecodeError:
                raise Failure(f"line {i}: not UTF-8") from None


def _trusted_witnesses(witnesses: list[str], quorum: int | None) -> tuple[list[VerifierKey], int]:
    """The witness keys given with --witness, parsed, and the quorum of them required."""
    keys: list[VerifierKey] = []
    for text in witnesses:
        try:
            key = VerifierKey(text, ALG_COSIGNATURE)
        except ValueError as e:
            raise Failure(f"--witness {text!r}: {e}") from None
        if any(k.text == key.text for k in keys):
            raise Failure(f"--witness {key.text} is given twice")
        keys.append(key)
    need = len(keys) if quorum is None else quorum
    if not 1 <= need <= len(keys):
        raise Failure(f"--witness-quorum {need}: must be from 1 to the {len(keys)} witnesses given")
    return keys, need


def _witnessed_report(trusted: list[VerifierKey], need: int, cosignatures: list[Cosignature],
                      n: int) -> list[str]:
    """§16 with a witness policy: the largest checkpoint cosigned by `need` of the `trusted`
    witnesses (every cosignature was verified before); raises Failure when there is none."""
    by_size: dict[int, list[int]] = {}
    counted = 0
    for c in cosignatures:
        which = next((i for i, k in enumerate(trusted) if k.text == c.witness.text), None)
        if which is None:
            continue
        counted += 1
        by_size.setdefault(c.size, []).append(which)
    others = len(cosignatures) - counted
    sizes = [size for size, ws in by_size.items() if len(set(ws)) >= need]
    if not sizes:
        raise Failure(f"no checkpoint is cosigned by {need} of the {len(trusted)} witnesses given "
                      f"({counted} of their cosignatures verified)")
    size = max(sizes)
    names = ", ".join(trusted[i].name for i in sorted(set(by_size[size])))
    out = [f"witnessed: the checkpoint of size {size} is cosigned by {names} ({need} of the "
           f"{len(trusted)} witnesses given required); it vouches for the first {size} entries"]
    if size < n:
        span = f"index {size}" if n - size == 1 else f"indices {size} to {n - 1}"
        count = "1 entry" if n - size == 1 else f"{n - size} entries"
        out.append(f"not witnessed: {count} ({span}); no quorum of the witnesses given "
                   "has cosigned a checkpoint that covers them")
    if others:
        out.append(f"  {others} cosignature{'s' if others != 1 else ''} by witnesses not given "
                   "verified and not counted")
    return out


def verify_export(path: str, trusted_key: str | None, witnesses: list[str] | None = None,
                  quorum: int | None = None) -> list[str]:
    """Verifies the export; returns the report lines or raises Failure. With `witnesses` (keys
    obtained independently), some checkpoint must be cosigned by `quorum` of them (all by
    default)."""
    trusted, need = _trusted_witnesses(witnesses, quorum) if witnesses else ([], 0)
    lines = _lines(path)
    notes: list[str] = []

    # Step 2: the header.
    try:
        _, first = next(lines)
    except StopIteration:
        raise Failure("line 1: the file is empty") from None
    try:
        header = parse_json_line(first)
    except ValueError as e:
        raise Failure(f"line 1: not JSON: {e}") from None
    if not isinstance(header, dict) or header.get("type") != "header" or header.get("format") != FORMAT:
        raise Failure(f"line 1: not a {FORMAT} header")
    version = header.get("version")
    if not is_uint64(version) or version not in VERSIONS:
        raise Failure(f"line 1: unknown export version {version!r} (this verifier reads versions 1 and 2)")
    origin = _str_field(header, "origin", 1)
    embedded_text = _str_field(header, "verifier_key", 1)
    header_size = _uint_field(header, "size", 1)
    header_note = _str_field(header, "checkpoint", 1)
    try:
        embedded = VerifierKey(embedded_text)
    except ValueError as e:
        raise Failure(f"line 1: verifier_key: {e}") from None

    # Step 1: the key.
    if trusted_key is not None:
        try:
            key = VerifierKey(trusted_key)
        except ValueError as e:
            raise Failure(f"--verifier-key: {e}") from None
        key_line = f"verifier key: {key.text} (given with --verifier-key)"
        if key.text != embedded.text:
            notes.append("note: the verifier key inside the export differs from the one given; "
                         "the checkpoints were checked against the one given")
    else:
        key = embedded
        print("note: no --verifier-key given: checking against the verifier key inside the "
              "export, which only proves that the export is consistent with itself",
              file=sys.stderr)
        key_line = (f"verifier key: {key.text} (taken from the export: this proves only that "
                    "the export is consistent with itself; pass --verifier-key with a key "
                    "obtained independently)")

    # Step 3: the header's checkpoint.
    head = _open_checkpoint(header_note, key, origin, 1, "the header's checkpoint")

    # Steps 4 and 5: entries, then checkpoints, then (version 2) cosignatures.
    leaves = bytearray()
    n = 0
    last_time: int | None = None
    checkpoints: list[Checkpoint] = []
    cosignatures: list[Cosignature] = []
    for line_no, text in lines:
        try:
            obj = parse_json_line(text)
        except ValueError as e:
            raise Failure(f"line {line_no}: not JSON: {e}") from None
        if not isinstance(obj, dict):
            raise Failure(f"line {line_no}: not a JSON object")
        kind = obj.get("type")
        if kind == "entry":
            if checkpoints:
                raise Failure(f"line {line_no}: entry lines must come before checkpoint lines")
            index = _uint_field(obj, "index", line_no)
            if index != n:
                raise Failure(
                    f"line {line_no}: entry {n} expected but the line holds entry {index}: "
                    f"entry {n} is missing, or entries are duplicated or out of order")
            try:
                raw = b64decode_strict(obj.get("bytes"))
            except ValueError:
                raise Failure(f"line {line_no}: entry {n}: the bytes are not canonical base64") from None
            try:
                entry_index, time_ms = check_entry(raw)
            except ValueError as e:
                raise Failure(f"line {line_no}: entry {n}: {e}") from None
            if entry_index != n:
                raise Failure(
                    f"line {line_no}: entry {n}: the entry's bytes say index {entry_index}: "
                    "entries were moved, swapped or renumbered")
            if last_time is not None and time_ms < last_time:
                raise Failure(f"line {line_no}: entry {n}: its time is earlier than the time of entry {n - 1}")
            last_time = time_ms
            leaves += leaf_hash(raw)
            n += 1
        elif kind == "checkpoint":
            if cosignatures:
                raise Failure(f"line {line_no}: checkpoint lines must come before cosignature lines")
            size = _uint_field(obj, "size", line_no)
            try:
                parse_time(obj.get("made_at"))
            except ValueError as e:
                raise Failure(f"line {line_no}: made_at: {e}") from None
            note = _str_field(obj, "note", line_no)
            cp = _open_checkpoint(note, key, origin, line_no, "checkpoint")
            if cp.size != size:
                raise Failure(f"line {line_no}: the line says size {size} but the signed size is {cp.size}")
            if checkpoints and cp.size < checkpoints[-1].size:
                raise Failure(
                    f"line {line_no}: the checkpoint of size {cp.size} is smaller than the "
                    f"checkpoint before it (size {checkpoints[-1].size}, line {checkpoints[-1].line})")
            checkpoints.append(cp)
        elif kind == "cosignature" and version >= COSIGNATURES_SINCE:
            if not checkpoints:
                raise Failure(f"line {line_no}: cosignature lines must come after the checkpoint lines")
            cosignatures.append(_check_cosignature(obj, line_no, checkpoints, cosignatures))
        elif kind == "cosignature":
            raise Failure(f"line {line_no}: a cosignature line in a version {version} export "
                          f"(cosignature lines came with version {COSIGNATURES_SINCE})")
        else:
            raise Failure(f"line {line_no}: unknown line type {kind!r}")

    # Step 6: counts.
    if n != header_size:
        if n < header_size:
            raise Failure(f"line 1: the header says {header_size} entries but the file holds {n}: "
                          f"entries from index {n} are missing")
        raise Failure(f"line 1: the header says {header_size} entries but the file holds {n}")
    if not checkpoints:
        raise Failure("the export holds no checkpoint line")
    if header_note != checkpoints[-1].note:
        raise Failure(f"line 1: the header's checkpoint is not the last checkpoint (line {checkpoints[-1].line})")

    # Step 7: every checkpoint's root against the entries.
    tree = Tree(bytes(leaves))
    previous: Checkpoint | None = None
    # The header's checkpoint is checked last: it is the same note as the last checkpoint line,
    # and a mismatch is best reported against the checkpoint lines, oldest first.
    for cp in checkpoints + [head]:
        if cp.size > n:
            raise Failure(
                f"{cp.where()} covers {cp.size} entries but the export holds {n}: "
                f"entries from index {n} are missing (the export is truncated)")
        if tree.root(cp.size) != cp.root:
            if cp is head:
                raise Failure(f"line 1: the header's checkpoint (size {cp.size}) does not match the entries")
            if previous is not None and previous.size == cp.size:
                raise Failure(
                    f"line {cp.line}: the checkpoint disagrees with the checkpoint of the same size "
                    f"on line {previous.line} (a fork)")
            # Earlier checkpoints matched, so the damage is among the entries this checkpoint
            # adds; the signed roots cannot say which of them it is.
            first = previous.size if previous is not None else 0
            if cp.size - first == 1:
                raise Failure(
                    f"entry {first} (line {first + 2}) was changed: the entries do not hash to the "
                    f"signed root of the checkpoint on line {cp.line} (size {cp.size}), and the "
                    f"checkpoint before it covers the entries up to index {first - 1}")
            raise Failure(
                f"one of the entries {first} to {cp.size - 1} (lines {first + 2} to {cp.size + 1}) "
                f"was changed, removed or reordered: they do not hash to the signed root of the "
                f"checkpoint on line {cp.line} (size {cp.size}), the first checkpoint they fail")
        previous = cp

    # Step 8: consistency of consecutive checkpoints. Since every signed root was just found equal
    # to the root of a prefix of one and the same list of leaves, consecutive checkpoints are
    # necessarily consistent; we still build and check RFC 6962 consistency proofs with the RFC
    # 9162 algorithm, as a client holding only two checkpoints and a proof would.
    for a, b in zip(checkpoints, checkpoints[1:]):
        if a.size == 0 or a.size == b.size:
            continue
        proof = tree.consistency_proof(a.size, b.size)
        if not verify_consistency(a.size, b.size, a.root, b.root, proof):
            raise Failure(
                f"line {b.line}: the checkpoint of size {b.size} is not consistent with the "
                f"checkpoint of size {a.size} on line {a.line}")

    latest = checkpoints[-1]
    uncovered = n - latest.size
    report = [
        f"OK: {n} entries, {len(checkpoints)} checkpoints; the latest checkpoint covers {latest.size} entries",
        f"origin: {origin}",
        key_line,
        f"latest checkpoint: size {latest.size}, root {latest.root.hex()}",
        f"root of all {n} entries: {tree.root(n).hex()}",
    ]
    if uncovered:
        span = f"index {latest.size}" if uncovered == 1 else f"indices {latest.size} to {n - 1}"
        report.append(f"not yet covered by a checkpoint: {uncovered} entries ({span}); "
                      "no signature vouches for them")
    else:
        report.append("not yet covered by a checkpoint: none")
    report += _cosignature_report(version, cosignatures, latest.size, bool(trusted))
    if trusted:
        report += _witnessed_report(trusted, need, cosignatures, n)
    return report + notes


def _cosignature_report(version: int, cosignatures: list[Cosignature], latest: int,
                        witnesses_given: bool = False) -> list[str]:
    """How many cosignatures were verified, by witness, in the order the witnesses first appear."""
    if version < COSIGNATURES_SINCE:
        return [f"cosignatures: none (a version {version} export carries none)"]
    if not cosignatures:
        return ["cosignatures: none"]
    by_witness: dict[str, list[Cosignature]] = {}
    for c in cosignatures:
        by_witness.setdefault(c.witness.text, []).append(c)
    count = len(cosignatures)
    out = [f"cosignatures: {count} verified, by {len(by_witness)} "
           f"witness{'es' if len(by_witness) != 1 else ''}"]
    for witness, kept in by_witness.items():
        largest = max(c.size for c in kept)
        which = "the latest checkpoint" if largest == latest else f"the latest checkpoint is of size {latest}"
        out.append(f"  {witness}: {len(kept)} cosignature{'s' if len(kept) != 1 else ''}, "
                   f"the largest of size {largest} ({which})")
    if not witnesses_given:
        out.append("  (checked with the witness keys the export names: compare each with that "
                   "witness's key obtained independently before relying on it, or pass --witness)")
    return out


# --------------------------------------------------------------------------------------------
# Self-test (§6.2)

CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def self_test() -> list[str]:
    """Returns a list of problems (empty when everything passes)."""
    problems: list[str] = []
    leaves = [leaf_hash(x) for x in CT_LEAVES]
    tree = Tree(b"".join(leaves))
    for size, want in enumerate(CT_ROOTS):
        for how, got in (("MTH", mth(leaves[:size])), ("Tree", tree.root(size))):
            if got.hex() != want:
                problems.append(f"{how} root of size {size}: got {got.hex()}, want {want}")
    for m, n, want in CT_INCLUSION:
        got = [h.hex() for h in tree.inclusion_proof(m, n)]
        if got != want:
            problems.append(f"inclusion proof ({m}, {n}) differs from the reference")
        if not verify_inclusion(m, n, leaves[m], [bytes.fromhex(h) for h in want], bytes.fromhex(CT_ROOTS[n])):
            problems.append(f"the reference inclusion proof ({m}, {n}) does not verify")
    for m, n, want in CT_CONSISTENCY:
        got = [h.hex() for h in tree.consistency_proof(m, n)]
        if got != want:
            problems.append(f"consistency proof ({m}, {n}) differs from the reference")
        if not verify_consistency(m, n, bytes.fromhex(CT_ROOTS[m]), bytes.fromhex(CT_ROOTS[n]),
                                  [bytes.fromhex(h) for h in want]):
            problems.append(f"the reference consistency proof ({m}, {n}) does not verify")
    # Every proof in trees of up to 40 leaves verifies, and fails with a changed root.
    many = [leaf_hash(i.to_bytes(8, "big")) for i in range(40)]
    big = Tree(b"".join(many))
    for n in range(1, 41):
        root = big.root(n)
        if root != mth(many[:n]):
            problems.append(f"Tree and MTH disagree at size {n}")
        for m in range(n):
            if not verify_inclusion(m, n, many[m], big.inclusion_proof(m, n), root):
                problems.append(f"inclusion proof ({m}, {n}) does not verify")
        for m in range(1, n + 1):
            proof = big.consistency_proof(m, n)
            if not verify_consistency(m, n, big.root(m), root, proof):
                problems.append(f"consistency proof ({m}, {n}) does not verify")
            if verify_consistency(m, n, big.root(m), node_hash(root, root), proof):
                problems.append(f"consistency proof ({m}, {n}) verifies against a wrong root")
    # The worked example entry of the format document.
    example = ('{"actor":"officer:ana","facility":"CECOT","index":7,"kind":"logbook.note",'
               '"payload":{"place":"Pabellón 3","text":"Recuento de las 06:00 sin novedad"},'
               '"salt":"abababababababababababababababab","subject":"facility:CECOT",'
               '"time":"2024-02-29T12:34:56.789Z","v":1}').encode("utf-8")
    try:
        if check_entry(example) != (7, 1709210096789):
            problems.append("the example entry decodes to the wrong index or time")
    except ValueError as e:
        problems.append(f"the example entry is refused: {e}")
    if leaf_hash(example).hex() != "ac5c05aba2159eabeee89b9b83835694bc39c0aa6efb4e334c4837b997384a1f":
        problems.append("the example entry's leaf hash differs")
    for bad in (example.replace(b'"v":1}', b'"v":1 }'),
                example.replace(b'"index":7', b'"index":7.0'),
                example.replace(b"ababab", b"ABABAB", 1),
                example.replace(b'"actor"', b'"actor":"x","actor"', 1)):
        try:
            check_entry(bad)
            problems.append(f"a non-canonical entry was accepted: {bad[:60]!r}")
        except ValueError:
            pass
    # Canonical JSON details of §3.
    sample = {"b": 1, "a": [True, None, "x"], "é": {"z": -3, "y": "\n\u0001"}}
    if enc_value(sample, "$") != '{"a":[true,null,"x"],"b":1,"é":{"y":"\\n\\u0001","z":-3}}':
        problems.append("canonical JSON of the sample object differs")
    if enc_value({"\ufb01": 1, "\U0001f600": 2}, "$") != '{"\U0001f600":2,"\ufb01":1}':
        problems.append("keys are not sorted by UTF-16 code units")
    # The signed-note example of §7.
    try:
        key = VerifierKey("habeas.example/register/test+e64c2dca+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs")
        note = ("habeas.example/register/test\n42\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n"
                "\u2014 habeas.example/register/test 5kwtyrzmBBigmzzJf010cN+MpOY0sYeTvbChTC0TSEYo1A5JSQ/"
                "nAqnKWvf9PcQPgf3obwnnjxEvqsoT8SFHDDusmAQ=\n")
        if parse_checkpoint(open_note(note, key)) != ("habeas.example/register/test", 42, bytes([9] * 32)):
            problems.append("the example checkpoint parses wrongly")
        try:
            open_note(note.replace("\n42\n", "\n43\n"), key)
            problems.append("a forged checkpoint verified")
        except ValueError:
            pass
    except ValueError as e:
        problems.append(f"the signed-note example does not verify: {e}")
    _self_test_cosignatures(problems)
    _self_test_exports(problems)
    return problems


# The worked example of §16.3: the witness key made from the seed of 32 bytes 0x0b and its
# cosignature of the §7.2 checkpoint (signed by EXAMPLE_KEY) at 2026-01-01T00:00:00Z.
EXAMPLE_KEY = "habeas.example/register/test+e64c2dca+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
EXAMPLE_NOTE = ("habeas.example/register/test\n42\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n"
                "\u2014 habeas.example/register/test 5kwtyrzmBBigmzzJf010cN+MpOY0sYeTvbChTC0TSEYo1A5JSQ/"
                "nAqnKWvf9PcQPgf3obwnnjxEvqsoT8SFHDDusmAQ=\n")
EXAMPLE_WITNESS = "habeas.example/witness/test+bb63acb8+BGa+fjMsekUzMr2dCn99sFX1xe8aBq2mbZizn7aBDEc6"
EXAMPLE_COSIGNATURE = ("\u2014 habeas.example/witness/test u2OsuAAAAABpVbkAJ7BZIBXhhA76imWcamrjoQB3gA7MD3lPuORrH"
                       "zJq3mTt6YTQCNgqU3iHO3sueOHQ3YQD7dUReupCNb1S4zImBw==\n")


def _refused(problems: list[str], what: str, fn, want: str) -> None:
    """`fn()` must raise ValueError or Failure with a message containing `want`."""
    try:
        fn()
    except (ValueError, Failure) as e:
        if want not in str(e):
            problems.append(f"{what}: refused, but the message {str(e)!r} does not say {want!r}")
        return
    problems.append(f"{what}: accepted")


def _self_test_cosignatures(problems: list[str]) -> None:
    try:
        witness = VerifierKey(EXAMPLE_WITNESS, ALG_COSIGNATURE)
        if witness.id.hex() != "bb63acb8" or witness.public.hex() != (
                "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"):
            problems.append("the example witness key parses to the wrong key id or public key")
        if cosigned_at(EXAMPLE_NOTE, EXAMPLE_COSIGNATURE, witness) != 1767225600:
            problems.append("the example cosignature gives the wrong timestamp")
        if _SelfTestKey("habeas.example/witness/test", 0x0B, ALG_COSIGNATURE).cosign(
                open_note(EXAMPLE_NOTE, VerifierKey(EXAMPLE_KEY)), 1767225600) != EXAMPLE_COSIGNATURE:
            problems.append("the example cosignature is not made again byte for byte")
        if open_note(EXAMPLE_NOTE + EXAMPLE_COSIGNATURE, VerifierKey(EXAMPLE_KEY)) != open_note(
                EXAMPLE_NOTE, VerifierKey(EXAMPLE_KEY)):
            problems.append("the cosigned example checkpoint no longer verifies with the register's key")
    except ValueError as e:
        problems.append(f"the cosignature example does not verify: {e}")
        return
    _refused(problems, "the example cosignature over another checkpoint",
             lambda: cosigned_at(EXAMPLE_NOTE.replace("\n42\n", "\n43\n"), EXAMPLE_COSIGNATURE, witness),
             "not valid")
    _refused(problems, "the example cosignature with another witness key",
             lambda: cosigned_at(EXAMPLE_NOTE, EXAMPLE_COSIGNATURE,
                                 _SelfTestKey("habeas.example/witness/test", 0x0C, ALG_COSIGNATURE).key()),
             "key id")
    _refused(problems, "the register's key as a witness key",
             lambda: VerifierKey(EXAMPLE_KEY, ALG_COSIGNATURE), "not a witness's cosignature/v1 key")
    _refused(problems, "a witness key as the register's key", lambda: VerifierKey(EXAMPLE_WITNESS),
             "not an Ed25519 key")
    _refused(problems, "the register's own signature line as a cosignature",
             lambda: cosigned_at(EXAMPLE_NOTE, EXAMPLE_NOTE[EXAMPLE_NOTE.rindex("\u2014"):], witness),
             "not by the witness")
    _refused(problems, "two lines offered as one cosignature",
             lambda: cosigned_at(EXAMPLE_NOTE, EXAMPLE_COSIGNATURE * 2, witness), "not one line")
    _refused(problems, "a cosignature line without its newline",
             lambda: cosigned_at(EXAMPLE_NOTE, EXAMPLE_COSIGNATURE[:-1], witness), "not one line")
    blob = bytearray(base64.b64decode(EXAMPLE_COSIGNATURE.split(" ")[2]))
    blob[4:12] = (2**63).to_bytes(8, "big")
    late = f"{EM_DASH_SPACE}habeas.example/witness/test {base64.b64encode(bytes(blob)).decode()}\n"
    _refused(problems, "a cosignature timestamp above 2^63-1", lambda: cosigned_at(EXAMPLE_NOTE, late, witness),
             "above 2^63-1")


class _SelfTestKey:
    """A signing key for the self-test: the register's (type 0x01) or a witness's (0x04)."""

    def __init__(self, name: str, seed_byte: int, alg: int) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(bytes([seed_byte]) * 32)
        public = self._private.public_key().public_bytes_raw()
        self.name, self.alg = name, alg
        self.id = key_id(name, public, alg)
        self.vkey = f"{name}+{self.id.hex()}+{base64.b64encode(bytes([alg]) + public).decode('ascii')}"

    def key(self) -> VerifierKey:
        return VerifierKey(self.vkey, self.alg)

    def sign(self, text: str) -> str:
        """The signed note of `text` (§7.2)."""
        sig = self.id + self._private.sign(text.encode("utf-8"))
        return f"{text}\n{EM_DASH_SPACE}{self.name} {base64.b64encode(sig).decode('ascii')}\n"

    def cosign(self, text: str, timestamp: int) -> str:
        """The cosignature line of the checkpoint text `text` (§16.2)."""
        sig = self.id + timestamp.to_bytes(8, "big") + self._private.sign(cosignature_message(text, timestamp))
        return f"{EM_DASH_SPACE}{self.name} {base64.b64encode(sig).decode('ascii')}\n"


SELF_TEST_ORIGIN = "habeas.example/register/self-test"
SELF_TEST_SIZES = (0, 4, 7)  # the checkpoints of the self-test's export; it holds 7 entries
SELF_TEST_COSIGNED = 1767225600


def _self_test_export() -> tuple[list[dict], _SelfTestKey, list[_SelfTestKey]]:
    """A version 2 export (as dicts, one a line) of 7 entries, checkpoints of sizes 0, 4 and 7,
    and three cosignatures: of size 4 by the first witness, of size 7 by both."""
    register = _SelfTestKey(SELF_TEST_ORIGIN, 0x07, ALG_ED25519)
    witnesses = [_SelfTestKey("habeas.example/witness/first", 0x0B, ALG_COSIGNATURE),
                 _SelfTestKey("habeas.example/witness/second", 0x0C, ALG_COSIGNATURE)]
    entries = [enc_value({"actor": "officer:ana", "facility": "CECOT", "index": i, "kind": "logbook.note",
                          "payload": {"text": f"Recuento {i} sin novedad"}, "salt": "ab" * 16,
                          "subject": "facility:CECOT", "time": f"2026-01-01T00:00:0{i}.000Z", "v": 1},
                         "$").encode("utf-8") for i in range(7)]
    leaves = [leaf_hash(e) for e in entries]
    texts = {size: f"{SELF_TEST_ORIGIN}\n{size}\n{base64.b64encode(mth(leaves[:size])).decode('ascii')}\n"
             for size in SELF_TEST_SIZES}
    notes = {size: register.sign(text) for size, text in texts.items()}
    lines: list[dict] = [{"type": "header", "format": FORMAT, "version": 2, "origin": SELF_TEST_ORIGIN,
                          "verifier_key": register.vkey, "size": len(entries), "checkpoint": notes[7]}]
    lines += [{"type": "entry", "index": i, "bytes": base64.b64encode(e).decode("ascii")}
              for i, e in enumerate(entries)]
    lines += [{"type": "checkpoint", "size": size, "made_at": f"2026-01-01T00:01:0{size}.000Z",
               "note": notes[size]} for size in SELF_TEST_SIZES]
    for size, w, at in ((4, witnesses[0], SELF_TEST_COSIGNED), (7, witnesses[0], SELF_TEST_COSIGNED + 60),
                        (7, witnesses[1], SELF_TEST_COSIGNED + 61)):
        lines.append({"type": "cosignature", "size": size, "witness": w.vkey, "timestamp": at,
                      "line": w.cosign(texts[size], at)})
    return lines, register, witnesses


def _verify_lines(lines: list[dict], key: str) -> list[str]:
    """verify_export of these lines written to a file; its report, or Failure."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "export.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
        return verify_export(path, key)


def _self_test_exports(problems: list[str]) -> None:
    good, register, (first, second) = _self_test_export()
    key = register.vkey
    # Lines: the header 1, entries 2-8, checkpoints 9-11, cosignatures 12 (size 4, the first
    # witness), 13 (size 7, the first), 14 (size 7, the second).
    try:
        report = "\n".join(_verify_lines(good, key))
        for want in ("OK: 7 entries, 3 checkpoints", "cosignatures: 3 verified, by 2 witnesses",
                     f"  {first.vkey}: 2 cosignatures, the largest of size 7 (the latest checkpoint)",
                     f"  {second.vkey}: 1 cosignature, the largest of size 7 (the latest checkpoint)"):
            if want not in report:
                problems.append(f"the version 2 export's report does not say {want!r}: {report}")
    except Failure as e:
        problems.append(f"the version 2 export is refused: {e}")
    plain = [dict(line) for line in good if line["type"] != "cosignature"]
    plain[0]["version"] = 1
    try:
        if "cosignatures: none (a version 1 export carries none)" not in _verify_lines(plain, key):
            problems.append("the version 1 export's report does not say it carries no cosignatures")
    except Failure as e:
        problems.append(f"the version 1 export is refused: {e}")
    none = [dict(line) for line in good if line["type"] != "cosignature"]
    try:
        if "cosignatures: none" not in _verify_lines(none, key):
            problems.append("a version 2 export without cosignatures does not say it has none")
    except Failure as e:
        problems.append(f"a version 2 export without cosignatures is refused: {e}")

    def changed(what: str, want: str, edit) -> None:
        lines = [dict(line) for line in good]
        edit(lines)
        _refused(problems, what, lambda: _verify_lines(lines, key), want)

    def set_field(at: int, **fields):
        return lambda lines: lines[at - 1].update(fields)

    sig_line = good[13]["line"]
    flipped = sig_line[:-6] + ("B" if sig_line[-6] == "A" else "A") + sig_line[-5:]
    changed("a changed cosignature line",
            f"line 14: the cosignature by {second.vkey} of the checkpoint of size 7 does not verify",
            set_field(14, line=flipped))
    changed("a cosignature of a size no checkpoint has",
            f"line 12: the cosignature by {first.vkey} is of a checkpoint of size 5, but the export holds "
            "no checkpoint of that size", set_field(12, size=5))
    changed("a cosignature moved to another checkpoint",
            f"line 12: the cosignature by {first.vkey} of the checkpoint of size 7 does not verify",
            set_field(12, size=7, timestamp=SELF_TEST_COSIGNED + 1))
    changed("a cosignature with another timestamp",
            "not at the timestamp 1767225601 the line states", set_field(12, timestamp=SELF_TEST_COSIGNED + 1))
    changed("a cosignature naming another witness",
            f"line 12: the cosignature by {second.vkey} of the checkpoint of size 4 does not verify",
            set_field(12, witness=second.vkey))
    changed("a second cosignature by one witness of one size", "line 14: a second cosignature by",
            set_field(14, witness=first.vkey, line=good[12]["line"], timestamp=good[12]["timestamp"]))
    changed("the register's key as a witness", "line 12: the cosignature of the checkpoint of size 4: the "
            "witness's key", set_field(12, witness=register.vkey))
    changed("a cosignature of two lines", "not one line", set_field(12, line=good[11]["line"] + good[12]["line"]))
    changed("a cosignature with a negative timestamp", "line 12: the field 'timestamp'",
            set_field(12, timestamp=-1))
    changed("a cosignature line without its line", "line 12: the field 'line' is missing",
            lambda lines: lines[11].pop("line"))
    changed("a cosignature line in a version 1 export",
            "line 12: a cosignature line in a version 1 export", set_field(1, version=1))
    changed("a cosignature line before a checkpoint line",
            "line 12: checkpoint lines must come before cosignature lines",
            lambda lines: lines.insert(10, lines.pop(11)))
    changed("a cosignature line before the entries",
            "line 2: cosignature lines must come after the checkpoint lines",
            lambda lines: lines.insert(1, lines.pop(11)))
    changed("an export of version 3", "line 1: unknown export version 3", set_field(1, version=3))
    _self_test_witness_policy(problems, good, key, first, second)


def _self_test_witness_policy(problems: list[str], good: list[dict], key: str, first: _SelfTestKey,
                              second: _SelfTestKey) -> None:
    """--witness and --witness-quorum: the first witness cosigned sizes 4 and 7, the second 7."""
    third = _SelfTestKey("habeas.example/witness/third", 0x0D, ALG_COSIGNATURE)

    def report(lines: list[dict], witnesses: list[str], quorum: int | None = None) -> str:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "export.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
            return "\n".join(verify_export(path, key, witnesses, quorum))

    try:
        both = report(good, [first.vkey, second.vkey])
        if ("witnessed: the checkpoint of size 7 is cosigned by habeas.example/witness/first, "
                "habeas.example/witness/second (2 of the 2 witnesses given required); it vouches for "
                "the first 7 entries") not in both or "not witnessed" in both:
            problems.append(f"two witnesses who cosigned the latest checkpoint are not reported: {both}")
        alone = report(good, [second.vkey])
        if "2 cosignatures by witnesses not given verified and not counted" not in alone:
            problems.append(f"the cosignatures by a witness not given are not reported: {alone}")
        # Without the second witness's cosignature of size 7, the first's of size 4 is the
        # largest a quorum of one has seen; 7 - 4 entries are not witnessed.
        fewer = [line for line in good if not (line["type"] == "cosignature" and line["witness"] == second.vkey)]
        fewer = [line for line in fewer if not (line["type"] == "cosignature" and line["size"] == 7)]
        one = report(fewer, [first.vkey, third.vkey], 1)
        if ("witnessed: the checkpoint of size 4" not in one
                or "not witnessed: 3 entries (indices 4 to 6)" not in one):
            problems.append(f"a quorum reached only at size 4 is not reported as such: {one}")
    except Failure as e:
        problems.append(f"the witness policy refuses a good export: {e}")
    _refused(problems, "a quorum of two where only one witness cosigned",
             lambda: report(good, [first.vkey, third.vkey]),
             "no checkpoint is cosigned by 2 of the 2 witnesses given (2 of their cosignatures verified)")
    _refused(problems, "a witness nobody cosigned with", lambda: report(good, [third.vkey]),
             "no checkpoint is cosigned by 1 of the 1 witnesses given (0 of their cosignatures verified)")
    _refused(problems, "a witness given twice", lambda: report(good, [first.vkey, first.vkey]),
             "is given twice")
    _refused(problems, "a quorum above the witnesses given", lambda: report(good, [first.vkey], 2),
             "--witness-quorum 2: must be from 1 to the 1 witnesses given")
    _refused(problems, "the register's key as a witness", lambda: report(good, [key]), "--witness")


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Verify a Habeas register export (JSON Lines).")
    ap.add_argument("export", nargs="?", help="the export file (habeas export --out FILE)")
    ap.add_argument("--verifier-key", metavar="KEY",
                    help="the verifier key you trust (<name>+<key id>+<key>); by default the key "
                         "inside the export, which only proves self-consistency")
    ap.add_argument("--witness", metavar="VKEY", action="append", default=[],
                    help="a witness you trust, by its cosignature verifier key obtained "
                         "independently; repeat for several: some checkpoint must be cosigned by "
                         "a quorum of them")
    ap.add_argument("--witness-quorum", metavar="N", type=int,
                    help="how many of the witnesses given must have cosigned a checkpoint "
                         "(default: all)")
    ap.add_argument("--self-test", action="store_true",
                    help="check the tree code against the RFC 6962 reference vectors and exit")
    args = ap.parse_args(argv)
    if Ed25519PublicKey is None:
        print("FAILED: the Python package 'cryptography' is required (pip install cryptography)",
              file=sys.stderr)
        return 1
    if args.self_test:
        problems = self_test()
        if problems:
            for p in problems:
                print(f"FAILED: self-test: {p}", file=sys.stderr)
            return 1
        print("OK: self-test passed (RFC 6962 reference roots and proofs, canonical JSON, signed note, "
              "cosignatures, exports of versions 1 and 2, the witness policy)")
        return 0
    if not args.export:
        ap.error("the export file is required (or --self-test)")
    if args.witness_quorum is not None and not args.witness:
        ap.error("--witness-quorum needs at least one --witness")
    try:
        report = verify_export(args.export, args.verifier_key, args.witness, args.witness_quorum)
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"FAILED: cannot read {args.export}: {e}", file=sys.stderr)
        return 1
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
