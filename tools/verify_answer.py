#!/usr/bin/env python3
"""Independent checker of Habeas whereabouts answers (habeas.whereabouts/1).

Written from docs/register-format.md (§3 canonical JSON, §4 entries, §5 custody kinds, §6 tree
and proofs, §7 keys and notes, §8 checkpoints, §9 export format, §16 cosignatures, §17 answers);
it uses no Habeas code and imports nothing from the other tools. Needs Python 3.11 and the
`cryptography` package (for Ed25519).

    python3 tools/verify_answer.py ANSWER.json --key VKEY [--witness VKEY ...] [--quorum K]
                                   [--against EXPORT.jsonl] [--json]
    python3 tools/verify_answer.py --self-test [--write-example FILE]

A court or the ombudsman asked the register whether a person is held, where, since when and on
what legal basis; the answer file carries the answer, signed by the register's key, the entries
it rests on with their inclusion proofs, and the witnessed checkpoint they were given against.
This tool checks, in this order (register-format §17.4):

  a. the signature: a signed note by VKEY whose text is "habeas.whereabouts/1", the origin and
     base64(SHA-256(canonical JSON of the answer)), one per line;
  b. the checkpoint: a checkpoint note by VKEY with the answer's origin, size and root, and a
     cosignature by each --witness key (at least --quorum of them; by default all);
  c. every evidence entry: its leaf hash is the hash of its bytes (when shown), its inclusion
     proof leads to the checkpoint's root (entries recorded after the checkpoint are reported
     as unproven), and a shown entry is a valid entry (§4.3) with the index it is listed under;
  d. the claims: the person, facility, since, legal basis, hearing and end of custody the answer
     states are those of the entries it rests on, and the identity document asked about is the
     person's;
  e. with --against EXPORT.jsonl (a later export of the same register): the export's latest
     checkpoint verifies and extends the answer's checkpoint (the root of the export's first
     `size` entries is the answer's root), and the later register does not show the answer to
     be a lie: a "not_held" answer about someone admitted before the checkpoint, or admitted
     later with an admission dated before the question (back-dated), or a "held" answer about a
     custody that had already ended before the checkpoint.

On success it prints a summary whose first line starts with "OK" (or, with --json, a JSON
report) and exits 0. On the first failure it prints "FAILED: <reason>" to stderr and exits 1.

Without --key it checks the signatures with the `verifier_key` inside the file, which only
proves that the file is consistent with itself: whoever wrote the file may have made the key.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import re
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
except ImportError:  # pragma: no cover - reported by main()
    Ed25519PublicKey = None  # type: ignore[assignment,misc]
    Ed25519PrivateKey = None  # type: ignore[assignment,misc]
    InvalidSignature = Exception  # type: ignore[assignment,misc]


FORMAT = "habeas.whereabouts/1"
STATUSES = ("held", "released", "transferred", "dead", "escaped", "not_held", "ambiguous")
PERSON_STATUSES = ("held", "released", "transferred", "dead", "escaped")
ADMITTED = "custody.admitted"
TRANSFERRED = "custody.transferred"
ORDER = "custody.order"
HEARING = "custody.hearing"
RELEASED = "custody.released"
DEATH = "custody.death"
END_KINDS = (RELEASED, DEATH, TRANSFERRED)
WITHHELD = "names other people: proven, not shown"

ALG_ED25519 = 0x01        # the register's key (§7.1)
ALG_COSIGNATURE = 0x04    # a witness's key (§16.1)


class Failure(Exception):
    """Unusable input (a file that cannot be read or parsed at all)."""


# --------------------------------------------------------------------------------------------
# Conventions (§1) and time (§2)

WHITE_SPACE = frozenset(
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
WHITE_SPACE_STR = "".join(sorted(WHITE_SPACE))
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_HEX32_RE = re.compile(r"[0-9a-f]{64}")
_SALT_RE = re.compile(r"[0-9a-f]{32}")
_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def trim(s: str) -> str:
    return s.strip(WHITE_SPACE_STR)


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def unb64(s: object) -> bytes:
    """Canonical standard base64 with padding (§1); anything else raises ValueError."""
    if not isinstance(s, str) or len(s) % 4 != 0 or not _B64_RE.fullmatch(s):
        raise ValueError("not canonical base64")
    raw = base64.b64decode(s, validate=True)
    if b64(raw) != s:
        raise ValueError("not canonical base64")
    return raw


def is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_index(v: object) -> bool:
    return is_int(v) and 0 <= v <= 2**64 - 1


def valid_time(s: object) -> bool:
    """The fixed form of §2 with a date that exists."""
    if not isinstance(s, str) or not _TIME_RE.fullmatch(s):
        return False
    y, mo, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
    h, mi, sec = int(s[11:13]), int(s[14:16]), int(s[17:19])
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return 1 <= mo <= 12 and 1 <= d <= days[mo - 1] and h < 24 and mi < 60 and sec < 60


# --------------------------------------------------------------------------------------------
# Canonical JSON (§3): RFC 8785 for integers, strings, literals, arrays and objects

MAX_SAFE_INTEGER = 2**53 - 1
_SHORT_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
_NEEDS_ESCAPE_RE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def enc_string(s: str) -> str:
    """A string as ECMAScript's JSON.stringify writes it (lowercase \\u00xx, nothing else escaped)."""
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
            raise ValueError("a string contains an unpaired surrogate")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _utf16(k: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as sequences of UTF-16 code units.
    return k.encode("utf-16-be", errors="surrogatepass")


def canonical(v: object, path: str = "$") -> str:
    """The canonical JSON text of v; raises ValueError for anything §3 does not allow."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if is_int(v):
        if abs(v) > MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: integer outside ±(2^53-1)")
        return str(v)
    if isinstance(v, str):
        return enc_string(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x, f"{path}[{i}]") for i, x in enumerate(v)) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=_utf16)
        return "{" + ",".join(enc_string(k) + ":" + canonical(v[k], f"{path}.{k}") for k in keys) + "}"
    raise ValueError(f"{path}: {type(v).__name__} is not allowed (numbers must be integers)")


def canonical_bytes(v: object) -> bytes:
    return canonical(v).encode("utf-8")


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


def parse_json(text: str) -> object:
    """Strict JSON: no duplicate keys, no fractions, no NaN/Infinity."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_refuse_float,
                      parse_constant=_refuse_constant)


# --------------------------------------------------------------------------------------------
# Entries (§4)

ENTRY_KEYS = {"actor", "facility", "index", "kind", "payload", "salt", "subject", "time", "v"}


def parse_entry(raw: bytes) -> dict:
    """The entry in `raw`, checked against §4.3 rules 1-11; raises ValueError with the reason."""
    try:
        obj = parse_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"not a JSON entry: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    keys = set(obj)
    if ENTRY_KEYS - keys:
        raise ValueError(f"missing member(s) {sorted(ENTRY_KEYS - keys)}")
    if keys - ENTRY_KEYS - {"corrects"}:
        raise ValueError(f"unknown member(s) {sorted(keys - ENTRY_KEYS - {'corrects'})}")
    for field in ("actor", "facility", "kind", "subject"):
        val = obj[field]
        if not isinstance(val, str) or not trim(val) or len(val.encode("utf-8", "surrogatepass")) > 200 \
                or _CONTROL_RE.search(val):
            raise ValueError(f"{field} must be a non-empty one-line string of at most 200 bytes")
    if not isinstance(obj["payload"], dict):
        raise ValueError("payload must be an object")
    if not is_index(obj["index"]):
        raise ValueError("index must be an unsigned 64-bit integer")
    if "corrects" in obj:
        c = obj["corrects"]
        if not isinstance(c, dict) or set(c) != {"index", "reason"} or not is_index(c["index"]) \
                or not isinstance(c["reason"], str) or not trim(c["reason"]):
            raise ValueError('corrects must be {"index": N, "reason": "..."}')
    if not isinstance(obj["salt"], str) or not _SALT_RE.fullmatch(obj["salt"]):
        raise ValueError("salt must be 32 lowercase hex digits")
    if not valid_time(obj["time"]):
        raise ValueError(f"time {obj['time']!r} is not a time of the form YYYY-MM-DDTHH:MM:SS.mmmZ")
    if not (is_int(obj["v"]) and obj["v"] == 1):
        raise ValueError(f"unknown version v={obj['v']!r}")
    if len(raw) - len(str(obj["index"])) + 29 > 262144:
        raise ValueError("larger than the register allows")
    # Rule 11: canonical form. The envelope's indices may exceed 2^53, the payload's numbers not.
    envelope = dict(obj)
    envelope["index"] = 0
    if "corrects" in obj:
        envelope["corrects"] = {"index": 0, "reason": obj["corrects"]["reason"]}
    try:
        again = canonical(envelope)
    except ValueError as e:
        raise ValueError(f"not in canonical form: {e}") from None
    again = again.replace('"index":0,"kind"', f'"index":{obj["index"]},"kind"', 1)
    if "corrects" in obj:
        again = again.replace('"corrects":{"index":0,', f'"corrects":{{"index":{obj["corrects"]["index"]},', 1)
    if again.encode("utf-8") != raw:
        raise ValueError("not in canonical form (re-encoding gives different bytes)")
    return obj


# --------------------------------------------------------------------------------------------
# Merkle tree (§6)


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


EMPTY_ROOT = sha256(b"")


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves: list[bytes]) -> bytes:
    """MTH of a list of leaf hashes (§6.1), by the definition."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def root_of(leaves: list[bytes]) -> bytes:
    """MTH of many leaf hashes with the right-edge stack of §6.1 (O(n), no recursion)."""
    stack: list[tuple[int, bytes]] = []
    for h in leaves:
        height, node = 0, h
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))
    if not stack:
        return EMPTY_ROOT
    acc = stack[-1][1]
    for _, x in reversed(stack[:-1]):
        acc = node_hash(x, acc)
    return acc


def inclusion_proof(leaves: list[bytes], m: int) -> list[bytes]:
    """PATH(m, D[0:n]) of §6.3 (used by the self-test to build answers)."""
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return inclusion_proof(leaves[:k], m) + [mth(leaves[k:])]
    return inclusion_proof(leaves[k:], m - k) + [mth(leaves[:k])]


def verify_inclusion(m: int, n: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, as §6.3 writes it."""
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


# --------------------------------------------------------------------------------------------
# Keys, signed notes, checkpoints, cosignatures (§7, §8, §16)

DASH = "\u2014 "


class VerifierKey:
    """`<name>+<8 hex key id>+<base64(alg ‖ public key)>`: alg 0x01 for the register, 0x04 for a witness."""

    def __init__(self, text: str, alg: int) -> None:
        parts = trim(text).split("+", 2)
        if len(parts) != 3:
            raise ValueError("a verifier key is <name>+<key id>+<key>")
        name, hex_id, key = parts
        if not name or "+" in name or any(c in WHITE_SPACE for c in name):
            raise ValueError(f"the key name {name!r} is empty or contains white space")
        try:
            raw = unb64(key)
        except ValueError:
            raise ValueError("the key is not canonical base64") from None
        what = "register key (0x01)" if alg == ALG_ED25519 else "witness key (0x04)"
        if len(raw) != 33 or raw[0] != alg:
            raise ValueError(f"not an Ed25519 {what}")
        self.name, self.public, self.alg = name, raw[1:], alg
        self.id = sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + self.public)[:4]
        if hex_id != self.id.hex():
            raise ValueError(f"the key id {hex_id!r} does not match the name and key (expected {self.id.hex()})")
        try:
            self._key = Ed25519PublicKey.from_public_bytes(self.public)
        except ValueError:
            raise ValueError("not a valid Ed25519 public key") from None
        self.text = f"{name}+{hex_id}+{key}"

    def valid(self, signature: bytes, message: bytes) -> bool:
        try:
            self._key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


def split_note(note: object) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's text and its signature lines (name, decoded bytes); §7.2 steps 1-3."""
    if not isinstance(note, str):
        raise ValueError("a note is text")
    at = note.rfind("\n\n")
    if at < 0:
        raise ValueError("malformed note: no blank line before the signatures")
    text, block = note[:at + 1], note[at + 2:]
    if text.startswith("\n") or "\n\n" in text or "\r" in text:
        raise ValueError("malformed note: bad text")
    if not block.endswith("\n") or len(block) < 2:
        raise ValueError("malformed note: the signatures must end with a newline")
    lines = []
    for line in block[:-1].split("\n"):
        if not line.startswith(DASH) or " " not in line[len(DASH):]:
            raise ValueError("malformed note: a signature line is '\u2014 <name> <base64>'")
        name, sig = line[len(DASH):].split(" ", 1)
        try:
            lines.append((name, unb64(sig)))
        except ValueError:
            raise ValueError("malformed note: a signature is not base64") from None
    return text, lines


def open_note(note: object, key: VerifierKey) -> str:
    """Verifies a note signed by `key` (§7.2) and returns its text; raises ValueError."""
    text, lines = split_note(note)
    for name, sig in lines:
        if name == key.name and len(sig) == 68 and sig[:4] == key.id and key.valid(sig[4:], text.encode("utf-8")):
            return text
    raise ValueError(f"no valid signature by {key.name}+{key.id.hex()}")


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint's text (§8); extension lines are ignored."""
    lines = text.split("\n")
    if len(lines) < 4 or not lines[0]:
        raise ValueError("malformed checkpoint: it needs an origin, a size and a root")
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", lines[1]) or int(lines[1]) > 2**64 - 1:
        raise ValueError("malformed checkpoint: bad tree size")
    try:
        root = unb64(lines[2])
    except ValueError:
        raise ValueError("malformed checkpoint: the root is not base64") from None
    if len(root) != 32:
        raise ValueError("malformed checkpoint: the root is not 32 bytes")
    return lines[0], int(lines[1]), root


def cosignature_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode("ascii") + text.encode("utf-8")


def cosigned_at(note: str, key: VerifierKey) -> int:
    """The timestamp of a valid cosignature/v1 by the witness `key` on `note` (§16.2); ValueError if none."""
    text, lines = split_note(note)
    seen = False
    for name, sig in lines:
        if name != key.name or len(sig) != 76 or sig[:4] != key.id:
            continue
        seen = True
        ts = int.from_bytes(sig[4:12], "big")
        if ts <= 2**63 - 1 and key.valid(sig[12:], cosignature_message(text, ts)):
            return ts
    raise ValueError("its cosignature does not verify" if seen else "no cosignature by this witness")


def utc(ts: int) -> str:
    """POSIX seconds as YYYY-MM-DDTHH:MM:SSZ (for reports)."""
    try:
        return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{ts} s"


def answer_text(origin: str, answer: object) -> str:
    """The text the register signs for an answer (§17.2)."""
    return f"{FORMAT}\n{origin}\n{b64(sha256(canonical_bytes(answer)))}\n"


# --------------------------------------------------------------------------------------------
# Names and documents as the register folds them (§17.3)

_FOLD = str.maketrans("áàâäãåéèêëíìîïóòôöõúùûüñç", "aaaaaaeeeeiiiiooooouuuunc")


def search_key(name: str) -> str:
    """A name folded: lower case, accents removed, runs of white space as one space, trimmed."""
    out = []
    for c in name.lower().translate(_FOLD):
        if c in WHITE_SPACE:
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(c)
    return "".join(out).strip(" ")


def fold_document(kind: object, number: object, issuer: object) -> tuple[str, str, str | None]:
    """Kind upper-cased; number upper-cased without spaces, dots or hyphens; issuer upper-cased."""
    k = trim(kind).upper() if isinstance(kind, str) else ""
    n = "".join(c for c in number if c not in " -.").upper() if isinstance(number, str) else ""
    i = trim(issuer).upper() if isinstance(issuer, str) else None
    return k, n, i


def document_matches(asked: dict, doc: object) -> str | None:
    """None if the document `doc` of an admission is the one asked about, else why not. An
    admission's document without an issuer is issued by the admitting facility's country, which
    only the facility's own entry says: it is taken to match any issuer asked."""
    if not isinstance(doc, dict):
        return "not a document"
    ak, an, ai = fold_document(asked.get("kind"), asked.get("number"), asked.get("issuer"))
    dk, dn, di = fold_document(doc.get("kind"), doc.get("number"), doc.get("issuer"))
    if (ak, an) != (dk, dn):
        return "another document"
    if ai is not None and di is not None and ai != di:
        return f"issued by {di}, not {ai}"
    return None


def name_matches(words: str, names: list[str]) -> bool:
    """Every asked word begins some word of one of the person's (folded) names."""
    asked = [w for w in search_key(words).split(" ") if w]
    for name in names:
        parts = search_key(name).split(" ")
        if asked and all(any(p.startswith(w) for p in parts) for w in asked):
            return True
    return False


def full_name(person: dict) -> str:
    given = person.get("given_names") if isinstance(person.get("given_names"), str) else ""
    surnames = person.get("surnames") if isinstance(person.get("surnames"), list) else []
    return " ".join([given] + [s for s in surnames if isinstance(s, str)])


def ended_status(reason: str) -> str:
    """The status of an ended custody from its reason (§17.1)."""
    if "death" in reason or reason == "died":
        return "dead"
    if reason == "escape":
        return "escaped"
    if "transfer" in reason:
        return "transferred"
    return "released"


# --------------------------------------------------------------------------------------------
# The report


class Report:
    """Every check in order, each OK, FAILED, UNPROVEN (holds only as far as the register's word
    goes) or NOTE; the first FAILED one is the answer's failure."""

    def __init__(self) -> None:
        self.checks: list[dict] = []
        self.warnings: list[str] = []
        self.facts: dict = {}
        self.against: dict | None = None

    def add(self, step: str, what: str, result: str, detail: str) -> None:
        self.checks.append({"step": step, "check": what, "result": result, "detail": detail})

    def ok(self, step: str, what: str, detail: str = "") -> None:
        self.add(step, what, "OK", detail)

    def fail(self, step: str, what: str, detail: str) -> None:
        self.add(step, what, "FAILED", detail)

    def unproven(self, step: str, what: str, detail: str) -> None:
        self.add(step, what, "UNPROVEN", detail)

    def note(self, step: str, what: str, detail: str) -> None:
        self.add(step, what, "NOTE", detail)

    def expect(self, cond: bool, step: str, what: str, good: str, bad: str) -> bool:
        (self.ok if cond else self.fail)(step, what, good if cond else bad)
        return cond

    @property
    def failure(self) -> str | None:
        for c in self.checks:
            if c["result"] == "FAILED":
                return f"{c['step']}. {c['check']}: {c['detail']}"
        return None

    def json(self) -> dict:
        return {"verified": self.failure is None, "failure": self.failure, "facts": self.facts,
                "warnings": self.warnings, "checks": self.checks, "against": self.against}


# --------------------------------------------------------------------------------------------
# Checking an answer file


def verify_answer(doc: object, key_text: str | None, witness_texts: list[str] | None = None,
                  quorum: int | None = None, export_lines: list[str] | None = None) -> Report:
    """Checks an answer file (parsed JSON) as §17.4 says; never raises for a bad file."""
    r = Report()
    if not isinstance(doc, dict) or not isinstance(doc.get("answer"), dict) \
            or not isinstance(doc.get("evidence"), dict):
        r.fail("a", "file", "not an answer file: an object with answer, evidence and signature")
        return r
    answer, evidence = doc["answer"], doc["evidence"]
    origin = answer.get("origin")
    if answer.get("format") != FORMAT:
        r.fail("a", "format", f"the answer's format is {answer.get('format')!r}, not {FORMAT!r}")
    if not isinstance(origin, str) or not origin:
        r.fail("a", "origin", "the answer names no origin")
        origin = ""
    # The key.
    key = None
    try:
        if key_text is None:
            key_text = doc.get("verifier_key") if isinstance(doc.get("verifier_key"), str) else ""
            r.warnings.append("no --key: the signatures are checked with the file's own verifier_key, "
                              "which proves only that the file is consistent with itself")
        elif isinstance(doc.get("verifier_key"), str) and trim(doc["verifier_key"]) != trim(key_text):
            r.warnings.append("the file's verifier_key is not the key given: the key given is used")
        key = VerifierKey(key_text, ALG_ED25519)
        if key.name != origin:
            r.fail("a", "key", f"the key is {key.name}'s, not the register {origin!r}'s")
    except ValueError as e:
        r.fail("a", "key", f"the register key: {e}")
    # a. The signature.
    try:
        expected = answer_text(origin, answer)
    except ValueError as e:
        r.fail("a", "signature", f"the answer is not canonical JSON: {e}")
        expected = None
    if key is not None and expected is not None:
        try:
            text = open_note(doc.get("signature"), key)
            r.expect(text == expected, "a", "signature",
                     f"signed by {key.name}+{key.id.hex()}: SHA-256 of the answer {expected.split(chr(10))[2]}",
                     "the signed text is not this answer's: the answer was changed after it was signed "
                     f"(signed {' / '.join(text.splitlines())}; the answer's digest is {expected.splitlines()[2]})")
        except ValueError as e:
            r.fail("a", "signature", f"the answer's signature: {e}")
    # b. The checkpoint and its cosignatures.
    cp = answer.get("checkpoint") if isinstance(answer.get("checkpoint"), dict) else {}
    size, root_b64 = cp.get("size"), cp.get("root")
    root = None
    if not is_index(size) or not isinstance(root_b64, str):
        r.fail("b", "checkpoint", "the answer's checkpoint has no size and root")
        size = 0
    else:
        try:
            root = unb64(root_b64)
            if len(root) != 32:
                raise ValueError
        except ValueError:
            r.fail("b", "checkpoint", "the answer's checkpoint root is not 32 bytes of base64")
            root = None
    note = evidence.get("checkpoint")
    if key is not None:
        try:
            c_origin, c_size, c_root = parse_checkpoint(open_note(note, key))
            r.expect((c_origin, c_size, c_root) == (origin, size, root), "b", "checkpoint",
                     f"signed by the register: size {c_size}, root {b64(c_root)}",
                     f"the signed checkpoint ({c_origin} size {c_size} root {b64(c_root)}) is not the one "
                     f"the answer names ({origin} size {size} root {root_b64})")
        except ValueError as e:
            r.fail("b", "checkpoint", f"the checkpoint note: {e}")
    witnesses = []
    for w in witness_texts or []:
        try:
            witnesses.append(VerifierKey(w, ALG_COSIGNATURE))
        except ValueError as e:
            r.fail("b", "witness", f"the witness key {w!r}: {e}")
    need = len(witnesses) if quorum is None else quorum
    cosigned = 0
    for w in witnesses:
        try:
            ts = cosigned_at(note, w)
            cosigned += 1
            r.ok("b", f"witness {w.name}", f"cosigned the checkpoint at {utc(ts)}")
        except ValueError as e:
            (r.fail if quorum is None else r.note)("b", f"witness {w.name}", str(e))
    if witnesses or quorum:
        r.expect(cosigned >= need, "b", "quorum", f"{cosigned} of {len(witnesses)} witnesses cosigned (quorum {need})",
                 f"only {cosigned} of {len(witnesses)} witnesses cosigned the checkpoint; the quorum is {need}")
    else:
        r.warnings.append("no --witness: nothing shows that others were shown the same checkpoint (§16.5)")
    # c. The evidence entries.
    entries = evidence.get("entries")
    shown: dict[int, dict | None] = {}      # index -> parsed entry, or None when withheld
    leaves: dict[int, bytes] = {}
    proven: dict[int, bool] = {}
    if not isinstance(entries, list):
        r.fail("c", "evidence", "the evidence lists no entries")
        entries = []
    last = -1
    for n, e in enumerate(entries):
        where = f"entry {e.get('index')}" if isinstance(e, dict) else f"evidence[{n}]"
        if not isinstance(e, dict) or not is_index(e.get("index")):
            r.fail("c", where, "an evidence entry without an index")
            continue
        i = e["index"]
        if i <= last:
            r.fail("c", where, "the evidence entries are not sorted by index without repeats")
        last = max(last, i)
        lh = e.get("leaf_hash")
        if not isinstance(lh, str) or not _HEX32_RE.fullmatch(lh):
            r.fail("c", where, "its leaf hash is not 64 lowercase hex digits")
            continue
        leaf = bytes.fromhex(lh)
        leaves[i] = leaf
        if e.get("entry") is None:
            if not isinstance(e.get("withheld"), str) or not e["withheld"]:
                r.fail("c", where, "neither shown nor said to be withheld")
                continue
            shown[i] = None
        else:
            try:
                raw = unb64(e["entry"])
            except ValueError:
                r.fail("c", where, "its bytes are not canonical base64")
                continue
            if leaf_hash(raw) != leaf:
                r.fail("c", where, "its bytes do not hash to its leaf hash: the entry was changed")
                continue
            try:
                obj = parse_entry(raw)
            except ValueError as err:
                r.fail("c", where, f"not a valid entry: {err}")
                continue
            if obj["index"] != i:
                r.fail("c", where, f"the entry's own index is {obj['index']}")
                continue
            shown[i] = obj
        after = i >= size
        if e.get("after_checkpoint") is not after:
            r.fail("c", where, f"after_checkpoint says {e.get('after_checkpoint')!r}, the index says {after}")
            continue
        kind = f"{shown[i]['kind']}" if shown[i] else f"withheld ({e.get('withheld')})"
        if after:
            if e.get("proof") is not None:
                r.fail("c", where, "an entry after the checkpoint carries a proof")
            else:
                proven[i] = False
                r.unproven("c", where, f"{kind}: recorded after the checkpoint of size {size}; no signed "
                                       "checkpoint covers it yet (a later export can prove it: --against)")
            continue
        proof = e.get("proof")
        if not isinstance(proof, list) or not all(isinstance(p, str) and _HEX32_RE.fullmatch(p) for p in proof):
            r.fail("c", where, "its inclusion proof is not a list of hex hashes")
            continue
        if root is not None and verify_inclusion(i, size, leaf, [bytes.fromhex(p) for p in proof], root):
            proven[i] = True
            r.ok("c", where, f"{kind}: included in the checkpoint of size {size}")
        else:
            r.fail("c", where, f"its inclusion proof does not lead to the checkpoint's root (size {size})")
    # d. The claims.
    check_claims(r, answer, shown, proven)
    # e. A later export.
    if export_lines is not None:
        check_against(r, answer, key, witnesses, export_lines, leaves)
    return r


def _payload(e: dict | None) -> dict:
    return e["payload"] if e and isinstance(e.get("payload"), dict) else {}


def check_claims(r: Report, answer: dict, shown: dict[int, dict | None], proven: dict[int, bool]) -> None:
    status = answer.get("status")
    asked = answer.get("asked") if isinstance(answer.get("asked"), dict) else {}
    r.facts = {"status": status, "origin": answer.get("origin"), "asked": asked,
               "checkpoint": answer.get("checkpoint")}
    if status not in STATUSES:
        r.fail("d", "status", f"unknown status {status!r}")
        return
    if not valid_time(asked.get("at")):
        r.fail("d", "asked", "the question's time is not a time of §2")
    if status in ("not_held", "ambiguous"):
        r.facts["detail"] = answer.get("detail")
        if status == "ambiguous":
            r.facts["matches"] = answer.get("matches")
            r.expect(is_int(answer.get("matches")) and answer["matches"] >= 2, "d", "matches",
                     f"{answer.get('matches')} people match", "an ambiguous answer names how many match (2 or more)")
        r.note("d", status, "this answer rests on no entry: it states what the register held at the checkpoint; "
                            "a later export shows whether it was true (--against)")
        return

    def entry(what: str, i: object, may_withhold: bool = False) -> dict | None:
        """The shown entry at i, failing when it is not in the evidence."""
        if not is_index(i):
            r.fail("d", what, f"the answer names no entry for the {what}")
            return None
        if i not in shown:
            r.fail("d", what, f"entry {i}, which the {what} rests on, is not in the evidence")
            return None
        if shown[i] is None and not may_withhold:
            r.fail("d", what, f"entry {i}, which the {what} rests on, is withheld")
        return shown[i]

    def rests(i: int) -> str:
        return f"entry {i}" + ("" if proven.get(i) else " (not yet covered by the checkpoint)")

    person, custody = answer.get("person"), answer.get("custody")
    facility, since = answer.get("facility"), answer.get("since")
    r.facts.update(person=person, facility=facility, since=since, custody=custody)
    # The person: their first admission.
    first = entry("person", person)
    if first is not None:
        identity = _payload(first).get("person")
        if r.expect(first["kind"] == ADMITTED and isinstance(identity, dict), "d", "person",
                    f"{rests(person)} is the first admission of {full_name(identity or {})!r}",
                    f"entry {person} is a {first['kind']}, not the admission that first recorded the person"):
            r.facts["name"] = full_name(identity)
            r.facts["birth_date"] = identity.get("birth_date")
            sought = asked.get("person") if isinstance(asked.get("person"), dict) else {}
            if isinstance(sought.get("document"), dict):
                docs = identity.get("documents") if isinstance(identity.get("documents"), list) else []
                hit = any(document_matches(sought["document"], d) is None for d in docs)
                d = sought["document"]
                r.expect(hit, "d", "document",
                         f"the admission records the document asked about ({d.get('kind')} {d.get('number')})",
                         f"the document asked about ({d.get('kind')} {d.get('number')}"
                         + (f" issued by {d['issuer']}" if d.get("issuer") else "") + ") "
                         f"is not among the person's documents in entry {person}")
            elif isinstance(sought.get("name"), str):
                same = name_matches(sought["name"], [full_name(identity)]) \
                    and identity.get("birth_date") == sought.get("birth_date")
                (r.ok if same else r.note)(
                    "d", "name", "the admission records the name and birth date asked about" if same else
                    "the name or birth date asked about differs from the first admission's (an identity "
                    "correction, which the evidence does not include, may have changed it)")
    # The custody: the entry that opened it here, and its start.
    opened = entry("custody", custody)
    if opened is not None:
        p = _payload(opened)
        if opened["kind"] == ADMITTED:
            who = custody if "person" in p else p.get("existing_person")
            r.expect(who == person, "d", "custody", f"{rests(custody)} admits person {person}",
                     f"the admission in entry {custody} is of person {who}, not {person}")
            where, start, start_field = opened["facility"], p.get("admitted_at"), "admitted_at"
        elif opened["kind"] == TRANSFERRED:
            where, start, start_field = p.get("to"), p.get("at"), "at"
            r.note("d", "custody", f"entry {custody} transfers booking {p.get('booking')} to {where}; the "
                                   "entries linking that booking to the person are not in the evidence")
        else:
            r.fail("d", "custody", f"entry {custody} is a {opened['kind']}, not an admission or a transfer")
            where = start = start_field = None
        if start_field:
            r.expect(where == facility, "d", "facility", f"{facility}, as {rests(custody)} says",
                     f"the answer says {facility!r}, entry {custody} says {where!r}")
            r.expect(start == since, "d", "since", f"{since}, the {start_field} of entry {custody}",
                     f"the answer says {since!r}, entry {custody}'s {start_field} is {start!r}")
    if status == "held":
        if answer.get("ended") is not None:
            r.fail("d", "status", "a held answer whose custody has ended")
        check_basis(r, answer, entry, rests, custody)
        check_hearing(r, answer, entry, rests, shown)
        return
    # Released, transferred, dead: the entry that ended the custody.
    ended = answer.get("ended") if isinstance(answer.get("ended"), dict) else None
    if ended is None:
        r.fail("d", "ended", f"a {status} answer says nothing of how the custody ended")
        return
    r.facts["ended"] = ended
    end = entry("end of custody", ended.get("entry"))
    if end is None:
        return
    p = _payload(end)
    reason = {RELEASED: p.get("reason"), DEATH: "death", TRANSFERRED: "transfer_out"}.get(end["kind"])
    if not r.expect(end["kind"] in END_KINDS and p.get("booking") == custody, "d", "ended",
                    f"{rests(ended['entry'])} ends booking {custody} ({end['kind']})",
                    f"entry {ended.get('entry')} ({end['kind']}) does not end the custody {custody}"):
        return
    to = next((p[k] for k in ("to", "destination", "counterpart") if isinstance(p.get(k), str)), None)
    r.expect(ended.get("reason") == reason and ended.get("at") == p.get("at") and ended.get("to") == to,
             "d", "ended on", f"{reason} at {p.get('at')}" + (f", to {to}" if to else ""),
             f"the answer says {ended.get('reason')!r} at {ended.get('at')!r} to {ended.get('to')!r}, entry "
             f"{ended['entry']} says {reason!r} at {p.get('at')!r} to {to!r}")
    r.expect(isinstance(reason, str) and ended_status(reason) == status, "d", "status",
             f"{status}, as the reason {reason!r} means",
             f"the answer says {status!r}, the reason {reason!r} means {ended_status(str(reason))!r}")


def check_basis(r: Report, answer: dict, entry, rests, custody: object) -> None:
    basis = answer.get("legal_basis")
    r.facts["legal_status"] = answer.get("legal_status")
    if basis is None:
        r.note("d", "legal basis", "the answer names no legal basis: the register records no order for this custody")
        return
    if not isinstance(basis, dict):
        r.fail("d", "legal basis", "the legal basis is not an object")
        return
    r.facts["legal_basis"] = basis
    e = entry("legal basis", basis.get("entry"))
    if e is None:
        return
    p = _payload(e)
    if e["kind"] == ADMITTED:
        orders = p.get("orders") if isinstance(p.get("orders"), list) else []
        status = p.get("legal_status")
    elif e["kind"] == ORDER:
        orders = [p.get("order")]
        status = p.get("legal_status")
    else:
        r.fail("d", "legal basis", f"entry {basis['entry']} is a {e['kind']}, which carries no order")
        return
    fields = ("kind", "authority", "reference", "issued", "expires", "review")
    match = [o for o in orders if isinstance(o, dict) and all(o.get(f) == basis.get(f) for f in fields)]
    r.expect(bool(match), "d", "legal basis",
             f"{basis.get('kind')} by {basis.get('authority')}, {basis.get('reference')}: the order in {rests(basis['entry'])}",
             f"entry {basis['entry']} holds no order {basis.get('kind')!r} by {basis.get('authority')!r} "
             f"reference {basis.get('reference')!r} with those dates")
    own = basis["entry"] == custody if e["kind"] == ADMITTED else p.get("booking") == custody
    if not own:
        r.note("d", "legal basis", f"the order in entry {basis['entry']} was made in an earlier custody, "
                                   "carried over by a transfer the evidence does not include")
    if status != answer.get("legal_status"):
        r.note("d", "legal status", f"the answer says {answer.get('legal_status')!r}, the order's entry "
                                    f"{status!r} (a later entry may have changed it)")


def check_hearing(r: Report, answer: dict, entry, rests, shown: dict) -> None:
    nh = answer.get("next_hearing")
    if nh is None:
        return
    if not isinstance(nh, dict):
        r.fail("d", "next hearing", "the next hearing is not an object")
        return
    r.facts["next_hearing"] = nh
    i = nh.get("entry")
    e = entry("next hearing", i, may_withhold=True)
    if is_index(i) and i in shown and shown[i] is None:
        r.unproven("d", "next hearing", f"entry {i} names other people: it is proven to be in the register, "
                                        f"but its date and court are the register's word")
        return
    if e is None:
        return
    p = _payload(e)
    r.expect(e["kind"] == HEARING and p.get("court") == nh.get("court") and nh.get("date") in (p.get("at"), p.get("next_date")),
             "d", "next hearing", f"{nh.get('date')} before {nh.get('court')}, as {rests(i)} says",
             f"entry {i} ({e['kind']}) does not set a hearing on {nh.get('date')!r} before {nh.get('court')!r}")


# --------------------------------------------------------------------------------------------
# e. Against a later export (§9)


def check_against(r: Report, answer: dict, key: VerifierKey | None, witnesses: list[VerifierKey],
                  lines: list[str], answer_leaves: dict[int, bytes]) -> None:
    """The later export's latest checkpoint, its agreement with the answer's, and what it shows."""
    step = "e"
    r.against = {"lies": []}
    if key is None:
        r.fail(step, "export", "no register key to check the export with")
        return
    try:
        header = json.loads(lines[0]) if lines else None
        if not isinstance(header, dict) or header.get("type") != "header" \
                or header.get("format") != "habeas-register-export":
            raise ValueError("its first line is not an export header")
        raw: list[bytes] = []
        for n, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            obj = json.loads(line)
            if obj.get("type") != "entry":
                break
            if obj.get("index") != len(raw):
                raise ValueError(f"line {n}: entry {len(raw)} is missing or out of order")
            raw.append(unb64(obj.get("bytes")))
    except (ValueError, AttributeError) as e:
        r.fail(step, "export", f"not a register export: {e}")
        return
    try:
        c_origin, c_size, c_root = parse_checkpoint(open_note(header.get("checkpoint"), key))
    except ValueError as e:
        r.fail(step, "export checkpoint", f"the export's latest checkpoint: {e}")
        return
    size = answer["checkpoint"]["size"] if isinstance(answer.get("checkpoint"), dict) else None
    root_b64 = answer["checkpoint"].get("root") if isinstance(answer.get("checkpoint"), dict) else None
    if c_origin != answer.get("origin"):
        r.fail(step, "export checkpoint", f"the export is of the register {c_origin!r}")
        return
    if not is_index(size) or c_size < size or c_size > len(raw):
        r.fail(step, "export checkpoint", f"the export's checkpoint covers {c_size} entries and the export holds "
                                          f"{len(raw)}: it cannot extend the answer's checkpoint of size {size}")
        return
    leaves = [leaf_hash(b) for b in raw]
    if root_of(leaves[:c_size]) != c_root:
        r.fail(step, "export checkpoint", f"the export's entries do not hash to its signed root (size {c_size})")
        return
    r.ok(step, "export checkpoint", f"signed by the register: size {c_size}, root {b64(c_root)}")
    for w in witnesses:
        try:
            r.ok(step, f"witness {w.name}", f"cosigned the export's checkpoint at {utc(cosigned_at(header['checkpoint'], w))}")
        except ValueError as e:
            r.note(step, f"witness {w.name}", f"the export's checkpoint: {e}")
    if not r.expect(b64(root_of(leaves[:size])) == root_b64, step, "consistency",
                    f"the first {size} entries of the export hash to the answer's root: the register's later "
                    "history extends the one the answer was given against",
                    f"the first {size} entries of the export do not hash to the answer's root: the register "
                    "rewrote its history since the answer (or the export is of another history)"):
        return
    for i, leaf in sorted(answer_leaves.items()):
        if i < c_size:
            r.expect(leaves[i] == leaf, step, f"entry {i}",
                     "the same in the later register" + ("; now covered by its checkpoint" if i >= size else ""),
                     f"entry {i} of the answer is not the later register's entry {i}")
    # The entries the later checkpoint covers, read as the custody kinds of §5.
    parsed: list[dict | None] = []
    for i in range(c_size):
        try:
            e = json.loads(raw[i])
            parsed.append(e if isinstance(e, dict) and e.get("index") == i and isinstance(e.get("payload"), dict) else None)
        except ValueError:
            parsed.append(None)
    status, asked = answer.get("status"), answer.get("asked") if isinstance(answer.get("asked"), dict) else {}
    lies: list[str] = []
    if status == "not_held":
        lies = not_held_lies(parsed, size, asked)
    elif status == "held":
        custody = answer.get("custody")
        for i, e in enumerate(parsed[:size]):
            if e and e.get("kind") in END_KINDS and e["payload"].get("booking") == custody:
                lies.append(f"the answer says held, but entry {i} ({e['kind']} at {e['payload'].get('at')}) had "
                            f"already ended the custody {custody} before the checkpoint of size {size}")
    r.against["lies"] = lies
    r.against.update(size=c_size, root=b64(c_root))
    for lie in lies:
        r.fail(step, "the answer is contradicted", lie)
    if not lies:
        r.ok(step, "no contradiction", f"the register up to size {c_size} does not contradict the {status} answer")
    if len(raw) > c_size:
        span = f"entry {c_size}" if len(raw) - c_size == 1 else f"entries {c_size} to {len(raw) - 1}"
        r.note(step, "export", f"{span}: not covered by the export's checkpoint, not read")


def not_held_lies(parsed: list[dict | None], size: int, asked: dict) -> list[str]:
    """The admissions, in the later register, of anyone the not_held answer's question names."""
    sought = asked.get("person") if isinstance(asked.get("person"), dict) else {}
    at = asked.get("at") if isinstance(asked.get("at"), str) else ""
    names: dict[int, list[str]] = {}          # person -> names (first admission, corrections)
    births: dict[int, list] = {}
    docs: dict[int, list] = {}
    identity: dict[int, dict] = {}
    country: dict[str, str] = {}               # facility code -> country, from estate.facility
    for i, e in enumerate(parsed):
        if not e:
            continue
        p = e["payload"]
        if e.get("kind") == "estate.facility" and isinstance(p.get("country"), str) and isinstance(e.get("facility"), str):
            country[e.get("facility")] = p["country"]
        elif e.get("kind") == ADMITTED and isinstance(p.get("person"), dict):
            identity[i] = dict(p["person"])
            names[i] = [full_name(p["person"])]
            births[i] = [p["person"].get("birth_date")]
            # A document without an issuer is issued by the admitting facility's country.
            issued_in = {"issuer": country[e["facility"]]} if isinstance(e.get("facility"), str) and e["facility"] in country else {}
            docs[i] = [issued_in | d if isinstance(d, dict) and d.get("issuer") is None else d
                       for d in (p["person"].get("documents") if isinstance(p["person"].get("documents"), list) else [])]
        elif e.get("kind") == "person.identity_corrected" and isinstance(e.get("subject"), str) \
                and e["subject"].startswith("person:") and e["subject"][7:].isdigit():
            who = int(e["subject"][7:])
            if who in identity:
                identity[who].update({k: p[k] for k in ("given_names", "surnames", "birth_date") if p.get(k) is not None})
                names[who].append(full_name(identity[who]))
                births[who].append(identity[who].get("birth_date"))

    def is_sought(person: int) -> bool:
        if isinstance(sought.get("document"), dict):
            return any(document_matches(sought["document"], d) is None for d in docs.get(person, []))
        if isinstance(sought.get("name"), str):
            return sought.get("birth_date") in births.get(person, []) and name_matches(sought["name"], names[person])
        return False

    lies = []
    for i, e in enumerate(parsed):
        if not e or e.get("kind") != ADMITTED:
            continue
        p = e["payload"]
        person = i if isinstance(p.get("person"), dict) else p.get("existing_person")
        if not is_index(person) or person not in names or not is_sought(person):
            continue
        admitted = p.get("admitted_at")
        if i < size:
            lies.append(f"the answer says not held, but entry {i} (before the checkpoint of size {size}) "
                        f"admits person {person} at {e.get('facility')} on {admitted}: the register already held them")
        elif isinstance(admitted, str) and admitted < at:
            lies.append(f"the answer says not held, but entry {i}, recorded after the answer, admits person {person} "
                        f"at {e.get('facility')} on {admitted}, before the question ({at}): a back-dated admission")
    return lies


# --------------------------------------------------------------------------------------------
# Output


def summary(r: Report) -> list[str]:
    f = r.facts
    out = ["OK: the answer verifies" if r.failure is None else "NOT VERIFIED: the first failure is named below"]
    status = f.get("status")
    if status:
        out.append(f"status: {status}")
    if status in PERSON_STATUSES:
        out.append(f"person: {f.get('person')} ({f.get('name')}, born {f.get('birth_date')})")
        out.append(f"facility: {f.get('facility')} since {f.get('since')} (custody {f.get('custody')})")
    if status == "held":
        b = f.get("legal_basis")
        out.append("legal status: " + str(f.get("legal_status")))
        out.append("legal basis: " + (f"{b.get('kind')} by {b.get('authority')}, {b.get('reference')}, issued "
                                       f"{b.get('issued')}, expires {b.get('expires') or 'never'}"
                                       f" (entry {b.get('entry')})" if b else "none recorded"))
        nh = f.get("next_hearing")
        out.append("next hearing: " + (f"{nh.get('date')} before {nh.get('court')} (entry {nh.get('entry')})" if nh else "none"))
    elif status in PERSON_STATUSES and f.get("ended"):
        e = f["ended"]
        out.append(f"ended: {e.get('reason')} at {e.get('at')}" + (f", to {e['to']}" if e.get("to") else "")
                   + f" (entry {e.get('entry')})")
    elif status:
        out.append(f"detail: {f.get('detail')}")
    cp = f.get("checkpoint") if isinstance(f.get("checkpoint"), dict) else {}
    out.append(f"checkpoint: size {cp.get('size')}, root {cp.get('root')}")
    out.append("checks:")
    for c in r.checks:
        out.append(f"  {c['result']:<8} {c['step']}. {c['check']}: {c['detail']}")
    return out


def run(path: str, key: str | None, witnesses: list[str], quorum: int | None, against: str | None) -> Report:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = parse_json(fh.read())
    except OSError as e:
        raise Failure(f"cannot read {path}: {e}") from None
    except (ValueError, RecursionError) as e:
        raise Failure(f"{path} is not JSON: {e}") from None
    lines = None
    if against:
        try:
            with open(against, encoding="utf-8") as fh:
                lines = fh.read().split("\n")
        except (OSError, UnicodeDecodeError) as e:
            raise Failure(f"cannot read {against}: {e}") from None
    return verify_answer(doc, key, witnesses, quorum, lines)


# --------------------------------------------------------------------------------------------
# Self-test: synthetic registers with the keys of §7.1 and §16.3

REGISTER_NAME = "habeas.example/register/test"
REGISTER_SEED = bytes([0x07] * 32)
WITNESS_NAME = "habeas.example/witness/test"
WITNESS_SEED = bytes([0x0B] * 32)
OTHER_SEED = bytes([0x2A] * 32)
COSIGNED_AT = 1740841200        # 2025-03-01T15:00:00Z
ASKED_AT = "2025-03-01T15:00:00.000Z"

CT_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
             b"\x50\x51\x52\x53\x54\x55\x56\x57", bytes(range(0x60, 0x70))]
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
CT_PROOF_5_8 = ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]


class Signer:
    def __init__(self, name: str, seed: bytes, alg: int) -> None:
        self.name, self.alg = name, alg
        self.key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.key.public_key().public_bytes_raw()
        self.id = sha256(name.encode() + b"\n" + bytes([alg]) + self.public)[:4]
        self.vkey = f"{name}+{self.id.hex()}+{b64(bytes([alg]) + self.public)}"

    def sign_note(self, text: str) -> str:
        return f"{text}\n{DASH}{self.name} {b64(self.id + self.key.sign(text.encode()))}\n"

    def cosign(self, note: str, ts: int) -> str:
        text = note[:note.rfind("\n\n") + 1]
        sig = self.key.sign(cosignature_message(text, ts))
        return note + f"{DASH}{self.name} {b64(self.id + ts.to_bytes(8, 'big') + sig)}\n"


def person_json(given: str, surnames: list[str], birth: str, sex: str, dui: str) -> dict:
    return {"given_names": given, "surnames": surnames, "birth_date": birth, "sex": sex,
            "nationalities": ["SV"], "documents": [{"kind": "DUI", "number": dui}]}


def admission(person: dict | int, at: str, orders: list[dict], status: str = "remand") -> dict:
    p = {"admitted_at": at, "legal_status": status, "orders": orders, "injuries": [],
         "ill_treatment_complaints": [], "property": [], "family": [], "children": []}
    if isinstance(person, dict):
        p["person"] = person
    else:
        p["existing_person"] = person
    return p


JUZGADO_A = "Juzgado Especializado de Instrucción A"
JUZGADO_B = "Juzgado Especializado de Sentencia B"
ORDER_2 = {"kind": "pretrial_detention", "authority": JUZGADO_A, "reference": "123-2024",
           "issued": "2024-05-30", "expires": "2024-11-30"}
ORDER_4 = {"kind": "pretrial_detention", "authority": JUZGADO_A, "reference": "123-2024-P",
           "issued": "2024-11-28", "expires": "2025-05-30"}


class Register:
    """A register in memory: entries as bytes, signed and cosigned checkpoints, answers, exports."""

    def __init__(self) -> None:
        self.signer = Signer(REGISTER_NAME, REGISTER_SEED, ALG_ED25519)
        self.witness = Signer(WITNESS_NAME, WITNESS_SEED, ALG_COSIGNATURE)
        self.entries: list[bytes] = []
        self.checkpoints: list[int] = []

    def add(self, kind: str, facility: str, subject: str, payload: dict, time: str) -> int:
        i = len(self.entries)
        e = {"actor": "registro.ana", "facility": facility, "index": i, "kind": kind, "payload": payload,
             "salt": sha256(b"salt %d" % i)[:16].hex(), "subject": subject, "time": time, "v": 1}
        self.entries.append(canonical_bytes(e))
        return i

    def leaves(self, n: int | None = None) -> list[bytes]:
        return [leaf_hash(b) for b in self.entries[:n]]

    def checkpoint(self, size: int, cosigned: bool = True) -> str:
        note = self.signer.sign_note(f"{REGISTER_NAME}\n{size}\n{b64(root_of(self.leaves(size)))}\n")
        self.checkpoints.append(size)
        return self.witness.cosign(note, COSIGNED_AT) if cosigned else note

    def answer_file(self, size: int, found: dict, sought: dict, evidence: list[tuple[int, bool]]) -> dict:
        answer = {"format": FORMAT, "origin": REGISTER_NAME,
                  "asked": {"by": "juez.lopez", "role": "court", "at": ASKED_AT, "purpose": "habeas corpus",
                            "case_reference": "HC-45-2025", "person": sought},
                  "checkpoint": {"size": size, "root": b64(root_of(self.leaves(size)))}}
        answer.update(found)
        leaves = self.leaves(size)
        ev = []
        for i, show in sorted(set(evidence)):
            ev.append({"index": i, "leaf_hash": leaf_hash(self.entries[i]).hex(),
                       "entry": b64(self.entries[i]) if show else None, "withheld": None if show else WITHHELD,
                       "proof": [h.hex() for h in inclusion_proof(leaves, i)] if i < size else None,
                       "after_checkpoint": i >= size})
        return {"answer": answer, "evidence": {"checkpoint": self.checkpoint(size), "entries": ev},
                "signature": self.signer.sign_note(answer_text(REGISTER_NAME, answer)),
                "verifier_key": self.signer.vkey}

    def resign(self, doc: dict) -> dict:
        """The register signing whatever answer the file now holds (a register that lies)."""
        doc["signature"] = self.signer.sign_note(answer_text(doc["answer"]["origin"], doc["answer"]))
        return doc

    def export(self, size: int) -> list[str]:
        """An export (§9) with checkpoints of size 0 and `size`."""
        notes = [self.checkpoint(0, cosigned=False), self.checkpoint(size)]
        header = {"type": "header", "format": "habeas-register-export", "version": 1, "origin": REGISTER_NAME,
                  "verifier_key": self.signer.vkey, "size": len(self.entries), "checkpoint": notes[-1]}
        lines = [json.dumps(header, ensure_ascii=False)]
        lines += [json.dumps({"type": "entry", "index": i, "bytes": b64(b)}) for i, b in enumerate(self.entries)]
        lines += [json.dumps({"type": "checkpoint", "size": s, "made_at": "2025-03-10T00:00:00.000Z", "note": n})
                  for s, n in ((0, notes[0]), (size, notes[1]))]
        return lines + [""]


DUI_A, DUI_NOBODY = "01234567-8", "09999999-9"


def base_register(before: list | None = None) -> Register:
    """Facilities, four people in custody and a group hearing; `before` adds admissions (of the
    person nobody holds, for the lies) before the checkpoint at the end (size = len)."""
    g = Register()
    g.add("estate.facility", "CECOT", "facility:CECOT", {"name": "Centro de Confinamiento del Terrorismo", "country": "SV"}, "2024-01-02T08:00:00.000Z")
    g.add("estate.facility", "LA-ESPERANZA", "facility:LA-ESPERANZA", {"name": "Centro Penal La Esperanza", "country": "SV"}, "2024-01-02T08:00:00.000Z")
    a = g.add(ADMITTED, "CECOT", "person:new", admission(person_json("José Antonio", ["Hernández", "López"], "1995-03-02", "male", DUI_A), "2024-06-01T10:00:00.000Z", [ORDER_2]), "2024-06-01T10:05:12.345Z")
    b = g.add(ADMITTED, "CECOT", "person:new", admission(person_json("María Elena", ["Ramos", "Cruz"], "1990-11-20", "female", "04567890-1"), "2024-06-02T09:00:00.000Z", [ORDER_2 | {"reference": "124-2024"}]), "2024-06-02T09:10:00.000Z")
    g.add(ORDER, "CECOT", f"custody:{a}", {"booking": a, "order": ORDER_4, "legal_status": "remand"}, "2024-11-28T16:00:00.000Z")
    g.add(HEARING, "CECOT", f"hearing:{JUZGADO_B}", {"bookings": [a, b], "court": JUZGADO_B, "at": "2025-02-10T14:00:00.000Z", "mode": "in_person", "people_heard": 2, "outcome": "adjourned", "next_date": "2025-03-20"}, "2025-02-10T18:00:00.000Z")
    c = g.add(ADMITTED, "LA-ESPERANZA", "person:new", admission(person_json("Carlos Alberto", ["Mejía"], "1988-07-14", "male", "02345678-9"), "2024-07-03T11:00:00.000Z", [ORDER_2 | {"reference": "200-2024"}]), "2024-07-03T11:20:00.000Z")
    g.add(TRANSFERRED, "LA-ESPERANZA", f"custody:{c}", {"booking": c, "to": "CECOT", "authority": "Dirección General de Centros Penales", "reference": "DGCP-77-2024", "at": "2024-09-15T07:30:00.000Z"}, "2024-09-15T08:00:00.000Z")
    d = g.add(ADMITTED, "CECOT", "person:new", admission(person_json("Rosa Amelia", ["Guzmán"], "1979-01-30", "female", "03456789-0"), "2024-08-01T12:00:00.000Z", [ORDER_2 | {"reference": "300-2024"}]), "2024-08-01T12:30:00.000Z")
    g.add(RELEASED, "CECOT", f"custody:{d}", {"booking": d, "reason": "acquittal", "authority": JUZGADO_B, "reference": "300-2024-S", "at": "2024-12-20T16:00:00.000Z"}, "2024-12-20T16:05:00.000Z")
    g.add("logbook.note", "CECOT", "facility:CECOT", {"text": "Recuento de las 06:00 sin novedad"}, "2025-02-11T06:10:00.000Z")
    for kind, payload, time in before or []:
        g.add(kind, "CECOT", "person:new" if kind == ADMITTED else f"custody:{payload.get('booking')}", payload, time)
    return g


PEDRO = person_json("Pedro", ["Alvarado"], "2000-05-05", "male", DUI_NOBODY)
ASK_A = {"document": {"kind": "DUI", "number": DUI_A, "issuer": None}}
ASK_NOBODY = {"document": {"kind": "dui", "number": "09999999 9", "issuer": None}}
NOT_HELD = {"status": "not_held", "detail": "nobody recorded in this register matches the question"}


def held_a(g: Register, size: int) -> dict:
    """The answer about José Antonio Hernández López (person 2): held at CECOT."""
    return g.answer_file(size, {
        "status": "held", "person": 2, "facility": "CECOT", "since": "2024-06-01T10:00:00.000Z", "custody": 2,
        "legal_status": "remand",
        "legal_basis": ORDER_4 | {"review": None, "in_force": True, "entry": 4},
        "next_hearing": {"date": "2025-03-20", "court": JUZGADO_B, "entry": 5}},
        ASK_A, [(2, True), (4, True), (5, False)])


def example_file() -> dict:
    """The worked example of §17.6."""
    g = base_register()
    return held_a(g, len(g.entries))


def self_test(write_example: str | None = None) -> tuple[int, list[str]]:
    """Runs every case; returns (number passed, problems)."""
    passed, problems = 0, []
    reg = Signer(REGISTER_NAME, REGISTER_SEED, ALG_ED25519)
    wit = Signer(WITNESS_NAME, WITNESS_SEED, ALG_COSIGNATURE)
    other = Signer(REGISTER_NAME, OTHER_SEED, ALG_ED25519)
    other_witness = Signer("habeas.example/witness/other", OTHER_SEED, ALG_COSIGNATURE)

    def check(cond: bool, what: str) -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            problems.append(what)

    def expect(what: str, doc: dict, good: bool, needle: str = "", key: str | None = reg.vkey,
               witnesses: list[str] | None = None, quorum: int | None = None, export: list[str] | None = None) -> Report:
        r = verify_answer(json.loads(json.dumps(doc)), key, [wit.vkey] if witnesses is None else witnesses,
                          quorum, export)
        f = r.failure
        if good:
            check(f is None, f"{what}: should verify, failed with {f}")
        else:
            check(f is not None and needle in f, f"{what}: should fail with {needle!r}, got {f!r}")
        return r

    # The pieces: §6.2 vectors, §7.1 and §16.3 keys, §3 canonical JSON.
    ct = [leaf_hash(x) for x in CT_LEAVES]
    check(root_of(ct).hex() == CT_ROOT_8 and mth(ct).hex() == CT_ROOT_8, "the RFC 6962 root of 8 leaves")
    check([h.hex() for h in inclusion_proof(ct, 5)] == CT_PROOF_5_8
          and verify_inclusion(5, 8, ct[5], [bytes.fromhex(h) for h in CT_PROOF_5_8], bytes.fromhex(CT_ROOT_8)),
          "the RFC 6962 inclusion proof of leaf 5 in 8")
    check(reg.vkey == "habeas.example/register/test+e64c2dca+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
          and wit.vkey == "habeas.example/witness/test+bb63acb8+BGa+fjMsekUzMr2dCn99sFX1xe8aBq2mbZizn7aBDEc6",
          "the example keys of §7.1 and §16.3")
    check(canonical({"b": 1, "a": [True, None, "x"], "é": {"z": -3, "y": "\n\u0001"}})
          == '{"a":[true,null,"x"],"b":1,"é":{"y":"\\n\\u0001","z":-3}}'
          and canonical({"\ufb01": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ufb01":1}', "canonical JSON of §3")

    g = base_register()
    size = len(g.entries)                      # 11: entries 0-10
    good = held_a(g, size)
    if write_example:
        with open(write_example, "w", encoding="utf-8") as fh:
            json.dump(good, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    r = expect("the good held answer", good, True)
    check(r.facts.get("facility") == "CECOT" and any(c["result"] == "UNPROVEN" and "next hearing" in c["check"]
                                                    for c in r.checks), "the withheld hearing is proven, not shown")
    expect("the good answer with its own key", good, True, key=None)
    # A transfer opened the custody; a released person; an admission after the checkpoint.
    expect("held after a transfer, asked by name", g.answer_file(size, {
        "status": "held", "person": 6, "facility": "CECOT", "since": "2024-09-15T07:30:00.000Z", "custody": 7,
        "legal_status": "remand", "legal_basis": ORDER_2 | {"reference": "200-2024", "review": None, "in_force": False, "entry": 6},
        "next_hearing": None}, {"name": "carlos mejia", "birth_date": "1988-07-14"}, [(6, True), (7, True)]), True)
    released = g.answer_file(size, {
        "status": "released", "person": 8, "facility": "CECOT", "since": "2024-08-01T12:00:00.000Z", "custody": 8,
        "ended": {"reason": "acquittal", "at": "2024-12-20T16:00:00.000Z", "to": None, "entry": 9}},
        {"document": {"kind": "DUI", "number": "03456789-0", "issuer": "SV"}}, [(8, True), (9, True)])
    expect("a released answer", released, True)
    # An escape ends the custody; the answer says "escaped", and "released" would be a lie.
    fled = base_register([(RELEASED, {"booking": 3, "reason": "escape", "authority": "Dirección del CECOT", "reference": "PARTE-12", "at": "2025-01-05T22:40:00.000Z"}, "2025-01-05T22:45:00.000Z")])
    escaped = {"status": "escaped", "person": 3, "facility": "CECOT", "since": "2024-06-02T09:00:00.000Z", "custody": 3,
               "ended": {"reason": "escape", "at": "2025-01-05T22:40:00.000Z", "to": None, "entry": 11}}
    ask_b = {"document": {"kind": "DUI", "number": "04567890-1", "issuer": None}}
    expect("an escaped answer", fled.answer_file(len(fled.entries), escaped, ask_b, [(3, True), (11, True)]), True)
    expect("an escape said to be a release, signed by the register",
           fled.answer_file(len(fled.entries), escaped | {"status": "released"}, ask_b, [(3, True), (11, True)]), False, "d. status")
    late = base_register()
    e = late.add(ADMITTED, "CECOT", "person:new", admission(PEDRO, "2025-03-01T09:00:00.000Z", [ORDER_2 | {"reference": "9-2025"}]), "2025-03-01T09:30:00.000Z")
    r = expect("an answer resting on an entry after the checkpoint", late.answer_file(size, {
        "status": "held", "person": e, "facility": "CECOT", "since": "2025-03-01T09:00:00.000Z", "custody": e,
        "legal_status": "remand", "legal_basis": ORDER_2 | {"reference": "9-2025", "review": None, "in_force": False, "entry": e},
        "next_hearing": None}, ASK_NOBODY, [(e, True)]), True)
    check(any(c["result"] == "UNPROVEN" and c["check"] == f"entry {e}" for c in r.checks), "after the checkpoint: unproven")
    nobody = g.answer_file(size, NOT_HELD, ASK_NOBODY, [])
    expect("a not_held answer", nobody, True)

    # Tamperings: each must fail, at the check that catches it.
    def changed(f) -> dict:
        doc = json.loads(json.dumps(good))
        f(doc)
        return doc

    expect("a changed status", changed(lambda d: d["answer"].update(status="released")), False, "a. signature")
    expect("a changed facility", changed(lambda d: d["answer"].update(facility="LA-ESPERANZA")), False, "a. signature")
    expect("a changed facility, signed by the register", g.resign(changed(lambda d: d["answer"].update(facility="LA-ESPERANZA"))), False, "d. facility")
    expect("a changed since, signed by the register", g.resign(changed(lambda d: d["answer"].update(since="2024-06-05T10:00:00.000Z"))), False, "d. since")
    expect("a changed status, signed by the register", g.resign(changed(lambda d: d["answer"].update(status="released"))), False, "d. ended")
    expect("another order as basis, signed by the register", g.resign(changed(lambda d: d["answer"]["legal_basis"].update(reference="999-2024"))), False, "d. legal basis")
    expect("a document that is not the person's, signed by the register", g.resign(changed(lambda d: d["answer"]["asked"]["person"]["document"].update(number="01234567-9"))), False, "d. document")

    def flip_entry_byte(d: dict) -> None:
        raw = bytearray(base64.b64decode(d["evidence"]["entries"][0]["entry"]))
        raw[raw.index(b"CECOT")] = ord("X")
        d["evidence"]["entries"][0]["entry"] = b64(bytes(raw))
    expect("a byte of an entry", changed(flip_entry_byte), False, "c. entry 2")

    def flip_entry_and_leaf(d: dict) -> None:
        flip_entry_byte(d)
        d["evidence"]["entries"][0]["leaf_hash"] = leaf_hash(base64.b64decode(d["evidence"]["entries"][0]["entry"])).hex()
    expect("a byte of an entry, with its leaf hash", changed(flip_entry_and_leaf), False, "c. entry 2")
    expect("a proof hash", changed(lambda d: d["evidence"]["entries"][1]["proof"].__setitem__(0, "00" * 32)), False, "c. entry 4")
    expect("the withheld hearing's leaf hash", changed(lambda d: d["evidence"]["entries"][2].update(leaf_hash="11" * 32)), False, "c. entry 5")
    expect("the checkpoint root in the answer", changed(lambda d: d["answer"]["checkpoint"].update(root=b64(bytes(32)))), False, "a. signature")
    expect("the checkpoint root, signed by the register", g.resign(changed(lambda d: d["answer"]["checkpoint"].update(root=b64(bytes(32))))), False, "b. checkpoint")
    expect("the checkpoint note's root", changed(lambda d: d["evidence"].update(checkpoint=d["evidence"]["checkpoint"].replace(d["answer"]["checkpoint"]["root"], b64(bytes(32))))), False, "b. checkpoint")
    dropped = changed(lambda d: d["evidence"].update(checkpoint=d["evidence"]["checkpoint"].rsplit(DASH, 1)[0]))
    expect("a dropped cosignature", dropped, False, "b. witness")
    expect("a dropped cosignature, quorum 1 of 2", dropped, False, "b. quorum", witnesses=[wit.vkey, other_witness.vkey], quorum=1)
    expect("a cosignature, quorum 1 of 2", good, True, witnesses=[wit.vkey, other_witness.vkey], quorum=1)

    def flip_signature(d: dict) -> None:
        head, sig = d["signature"].rsplit(" ", 1)
        raw = bytearray(base64.b64decode(sig))
        raw[10] ^= 1
        d["signature"] = f"{head} {b64(bytes(raw))}\n"
    expect("a changed signature", changed(flip_signature), False, "a. signature")
    expect("a wrong key", good, False, "a. signature", key=other.vkey)
    expect("the wrong key in the file", changed(lambda d: d.update(verifier_key=other.vkey, signature=other.sign_note(answer_text(REGISTER_NAME, d["answer"])))), False, "a. signature")

    # --against: a later export of the register.
    admit_pedro = (ADMITTED, admission(PEDRO, "2025-02-27T22:00:00.000Z", [ORDER_2 | {"reference": "9-2025"}]), "2025-02-27T22:10:00.000Z")
    ask_sv = {"document": {"kind": "DUI", "number": DUI_NOBODY, "issuer": "SV"}}
    pedro_gt = PEDRO | {"documents": [{"kind": "DUI", "number": DUI_NOBODY, "issuer": "GT"}]}
    for label, asked, before, after, lie in (
        ("a back-dated admission", ASK_NOBODY, [], [("2025-02-27T22:00:00.000Z", PEDRO)], "back-dated"),
        ("an admission before the checkpoint", ASK_NOBODY, [admit_pedro], [], "already held them"),
        ("a back-dated admission, the issuer the facility's country", ask_sv, [], [("2025-02-27T22:00:00.000Z", PEDRO)], "back-dated"),
        ("an admission of a document of another issuer", ask_sv, [], [("2025-02-27T22:00:00.000Z", pedro_gt)], None),
        ("an unrelated admission and a later one", ASK_NOBODY, [], [
            ("2025-02-27T22:00:00.000Z", person_json("Luis", ["Cañas"], "1999-09-09", "male", "07777777-7")),
            ("2025-03-05T08:00:00.000Z", PEDRO)], None),
    ):
        h = base_register(before)
        answered = h.answer_file(len(h.entries), NOT_HELD, asked, [])
        for at, who in after:
            h.add(ADMITTED, "CECOT", "person:new", admission(who, at, [ORDER_2 | {"reference": "9-2025"}]), "2025-03-06T10:00:00.000Z")
        expect(f"not_held against {label}", answered, lie is None, lie or "", export=h.export(len(h.entries)))
    # Asked by name: a back-dated admission of someone with those names and birth date.
    h = base_register()
    answered = h.answer_file(len(h.entries), NOT_HELD, {"name": "pedro alvarado", "birth_date": "2000-05-05"}, [])
    h.add(ADMITTED, "CECOT", "person:new", admission(PEDRO, "2025-02-28T10:00:00.000Z", []), "2025-03-06T10:00:00.000Z")
    expect("not_held by name against a back-dated admission", answered, False, "back-dated", export=h.export(len(h.entries)))
    # A held answer about a custody already ended before the checkpoint; a good one passes.
    h = base_register([(RELEASED, {"booking": 2, "reason": "court_order", "authority": JUZGADO_B, "reference": "1-2025", "at": "2025-02-20T10:00:00.000Z"}, "2025-02-20T10:05:00.000Z")])
    lying = held_a(h, len(h.entries))
    expect("held, against a custody ended before the checkpoint", lying, False, "already ended", export=h.export(len(h.entries)))
    h = base_register()
    fine = held_a(h, len(h.entries))
    h.add("logbook.note", "CECOT", "facility:CECOT", {"text": "Sin novedad"}, "2025-03-02T06:00:00.000Z")
    r = expect("held, against a later export", fine, True, export=h.export(len(h.entries)))
    check(r.against is not None and r.against.get("size") == len(h.entries), "the export's checkpoint is read")
    forked = base_register()
    forked.entries[3] = forked.entries[3].replace(b"Ramos", b"Ramas")
    expect("against an export of another history", fine, False, "e. consistency", export=forked.export(len(forked.entries)))
    return passed, problems


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Check a Habeas whereabouts answer (habeas.whereabouts/1).")
    ap.add_argument("answer", nargs="?", help="the answer file (JSON)")
    ap.add_argument("--key", metavar="VKEY", help="the register's verifier key you trust (<name>+<key id>+<key>); "
                    "by default the file's own, which proves only self-consistency")
    ap.add_argument("--witness", metavar="VKEY", action="append", default=[],
                    help="a witness's verifier key whose cosignature the checkpoint must carry (repeatable)")
    ap.add_argument("--quorum", type=int, metavar="K", help="how many of the witnesses must cosign (default: all)")
    ap.add_argument("--against", metavar="EXPORT", help="a later export of the register (JSON Lines, §9)")
    ap.add_argument("--json", action="store_true", help="print a JSON report")
    ap.add_argument("--self-test", action="store_true", help="check synthetic answers and tamperings, and exit")
    ap.add_argument("--write-example", metavar="FILE", help="with --self-test: write the good example answer to FILE")
    args = ap.parse_args(argv)
    if Ed25519PublicKey is None:
        print("FAILED: the Python package 'cryptography' is required (pip install cryptography)", file=sys.stderr)
        return 1
    if args.self_test:
        passed, problems = self_test(args.write_example)
        for p in problems:
            print(f"FAILED: self-test: {p}", file=sys.stderr)
        print(f"verify_answer self-test: {passed} passed, {len(problems)} failed")
        return 1 if problems else 0
    if not args.answer:
        ap.error("the answer file is required (or --self-test)")
    if args.quorum is not None and not 0 <= args.quorum <= len(args.witness):
        ap.error("--quorum must be between 0 and the number of --witness keys")
    try:
        r = run(args.answer, args.key, args.witness, args.quorum, args.against)
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    for w in r.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(r.json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(summary(r)))
    if r.failure:
        print(f"FAILED: {r.failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
