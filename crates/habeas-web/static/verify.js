/* Habeas: checks a whereabouts answer (habeas.whereabouts/1) in the browser.
 *
 * The same checks a-d as tools/verify_answer.py (docs/register-format.md §17.4): the register's
 * signature on the answer, the checkpoint and the witnesses' cosignatures, each evidence entry's
 * leaf hash and inclusion proof, and that the answer's claims are those of the entries. Plain
 * JavaScript, no libraries: WebCrypto SHA-256 and Ed25519. Nothing leaves the browser.
 *
 * From the console: await HabeasVerify.selfCheck() checks the RFC 6962 vectors of §6.2;
 * await HabeasVerify.verifyAnswer(fileObject, registerKey, [witnessKeys]) returns a report.
 */
'use strict';

(function () {
  const FORMAT = 'habeas.whereabouts/1';
  const STATUSES = ['held', 'released', 'transferred', 'dead', 'escaped', 'not_held', 'ambiguous'];
  const ADMITTED = 'custody.admitted', TRANSFERRED = 'custody.transferred', ORDER = 'custody.order';
  const HEARING = 'custody.hearing', RELEASED = 'custody.released', DEATH = 'custody.death';
  const END_KINDS = [RELEASED, DEATH, TRANSFERRED];
  const ALG_REGISTER = 0x01, ALG_WITNESS = 0x04;
  const DASH = '\u2014 ';

  // Spanish by default, English with ?lang=en.
  const EN = typeof location !== 'undefined' && new URLSearchParams(location.search).get('lang') === 'en';
  const L = (es, en) => (EN ? en : es);

  // ---------------------------------------------------------------------------------------------
  // Bytes, base64 (§1), SHA-256

  const utf8 = (s) => new TextEncoder().encode(s);
  const fromUtf8 = (b) => new TextDecoder('utf-8', { fatal: true }).decode(b);
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const HEX32 = /^[0-9a-f]{64}$/;

  function unhex(s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  function b64(bytes) {
    let s = '';
    for (const x of bytes) s += String.fromCharCode(x);
    return btoa(s);
  }

  /** Canonical standard base64 with padding; anything else throws. */
  function unb64(s) {
    if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
      throw new Error(L('no es base64 canónico', 'not canonical base64'));
    }
    const bin = atob(s);
    const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    if (b64(out) !== s) throw new Error(L('no es base64 canónico', 'not canonical base64'));
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  }

  // ---------------------------------------------------------------------------------------------
  // Canonical JSON (§3) and entries (§4)

  /** RFC 8785 for integers, strings, literals, arrays and objects (keys by UTF-16 code units). */
  function canonical(v, path = '$') {
    if (v === null) return 'null';
    if (v === true) return 'true';
    if (v === false) return 'false';
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`${path}: ${L('solo enteros de ±(2^53−1)', 'integers within ±(2^53−1) only')}`);
      return String(v);
    }
    if (typeof v === 'string') {
      if (typeof v.isWellFormed === 'function' && !v.isWellFormed()) throw new Error(`${path}: unpaired surrogate`);
      return JSON.stringify(v); // ECMAScript's escapes are exactly those of §3
    }
    if (Array.isArray(v)) return '[' + v.map((x, i) => canonical(x, `${path}[${i}]`)).join(',') + ']';
    if (typeof v === 'object') {
      return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k], `${path}.${k}`)).join(',') + '}';
    }
    throw new Error(`${path}: ${typeof v}`);
  }

  const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/;

  function validTime(s) {
    const m = typeof s === 'string' && TIME.exec(s);
    if (!m) return false;
    const [y, mo, d, h, mi, sec] = m.slice(1).map(Number);
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    return mo >= 1 && mo <= 12 && d >= 1 && d <= days[mo - 1] && h < 24 && mi < 60 && sec < 60;
  }

  const ENTRY_KEYS = ['actor', 'facility', 'index', 'kind', 'payload', 'salt', 'subject', 'time', 'v'];

  /** The entry in `bytes`, checked against §4.3 (canonical form by re-encoding); throws. */
  function parseEntry(bytes) {
    const e = JSON.parse(fromUtf8(bytes));
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new Error(L('no es un objeto JSON', 'not a JSON object'));
    const keys = Object.keys(e).filter((k) => k !== 'corrects');
    if (keys.length !== ENTRY_KEYS.length || !ENTRY_KEYS.every((k) => k in e)) {
      throw new Error(L('miembros distintos de los de §4.1', 'members other than those of §4.1'));
    }
    for (const k of ['actor', 'facility', 'kind', 'subject']) {
      if (typeof e[k] !== 'string' || !e[k].trim() || /[\u0000-\u001f\u007f-\u009f]/.test(e[k]) || utf8(e[k]).length > 200) {
        throw new Error(`${k}: ${L('texto de una línea, no vacío', 'a non-empty one-line text')}`);
      }
    }
    if (!e.payload || typeof e.payload !== 'object' || Array.isArray(e.payload)) throw new Error('payload');
    if (!Number.isSafeInteger(e.index) || e.index < 0) throw new Error('index');
    if (typeof e.salt !== 'string' || !/^[0-9a-f]{32}$/.test(e.salt)) throw new Error('salt');
    if (!validTime(e.time)) throw new Error('time');
    if (e.v !== 1) throw new Error('v');
    if (!equal(utf8(canonical(e)), bytes)) throw new Error(L('no está en forma canónica', 'not in canonical form'));
    return e;
  }

  // ---------------------------------------------------------------------------------------------
  // Merkle tree (§6)

  const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
  const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

  /** MTH of a list of leaf hashes (§6.1), by the definition. */
  async function mth(leaves) {
    if (leaves.length === 0) return sha256(new Uint8Array(0));
    if (leaves.length === 1) return leaves[0];
    let k = 1;
    while (k * 2 < leaves.length) k *= 2;
    return nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
  }

  /** RFC 9162 §2.1.3.2, as §6.3 writes it (indices below 2^53). */
  async function verifyInclusion(m, n, leaf, proof, root) {
    if (m >= n) return false;
    let fn = m, sn = n - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && equal(r, root);
  }

  // ---------------------------------------------------------------------------------------------
  // Keys, notes, checkpoints, cosignatures (§7, §8, §16)

  /** `<name>+<8 hex key id>+<base64(alg ‖ public key)>`; throws when it is not one. */
  async function parseKey(text, alg) {
    const t = text.trim();
    const a = t.indexOf('+'), b = t.indexOf('+', a + 1);
    if (a < 1 || b < 0) throw new Error(L('una clave es <nombre>+<id>+<clave>', 'a key is <name>+<id>+<key>'));
    const name = t.slice(0, a), id = t.slice(a + 1, b), raw = unb64(t.slice(b + 1));
    if (/\s/.test(name)) throw new Error(L('el nombre de la clave tiene espacios', 'the key name contains white space'));
    if (raw.length !== 33 || raw[0] !== alg) {
      throw new Error(alg === ALG_REGISTER ? L('no es una clave de registro (0x01)', 'not a register key (0x01)')
        : L('no es una clave de testigo (0x04)', 'not a witness key (0x04)'));
    }
    const keyId = (await sha256(concat(utf8(name + '\n'), raw))).slice(0, 4);
    if (hex(keyId) !== id) throw new Error(L('el id no corresponde a la clave', 'the key id does not match the key'));
    const key = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
    return { name, id: keyId, key, text: t };
  }

  async function ed25519(key, sig, msg) {
    try { return await crypto.subtle.verify({ name: 'Ed25519' }, key.key, sig, msg); } catch (e) { return false; }
  }

  /** A note's text and signature lines [name, bytes] (§7.2 steps 1-3); throws when malformed. */
  function splitNote(note) {
    const bad = (why) => new Error(L('nota mal formada: ', 'malformed note: ') + why);
    if (typeof note !== 'string') throw bad('?');
    const at = note.lastIndexOf('\n\n');
    if (at < 0) throw bad(L('sin línea en blanco', 'no blank line'));
    const text = note.slice(0, at + 1), block = note.slice(at + 2);
    if (text.startsWith('\n') || text.includes('\n\n') || text.includes('\r')) throw bad('text');
    if (!block.endsWith('\n') || block.length < 2) throw bad('signatures');
    const lines = block.slice(0, -1).split('\n').map((line) => {
      const rest = line.slice(DASH.length), sp = rest.indexOf(' ');
      if (!line.startsWith(DASH) || sp < 0) throw bad('— <name> <base64>');
      return [rest.slice(0, sp), unb64(rest.slice(sp + 1))];
    });
    return { text, lines };
  }

  /** The text of a note signed by `key`; throws when no signature by it verifies. */
  async function openNote(note, key) {
    const { text, lines } = splitNote(note);
    for (const [name, sig] of lines) {
      if (name === key.name && sig.length === 68 && equal(sig.slice(0, 4), key.id)
          && await ed25519(key, sig.slice(4), utf8(text))) return text;
    }
    throw new Error(L('ninguna firma válida de ', 'no valid signature by ') + key.name + '+' + hex(key.id));
  }

  function parseCheckpoint(text) {
    const l = text.split('\n');
    if (l.length < 4 || !l[0] || !/^(0|[1-9][0-9]*)$/.test(l[1])) throw new Error(L('punto de control mal formado', 'malformed checkpoint'));
    const root = unb64(l[2]);
    if (root.length !== 32) throw new Error(L('punto de control mal formado', 'malformed checkpoint'));
    return { origin: l[0], size: Number(l[1]), root };
  }

  /** The time of a valid cosignature/v1 by witness `key` on `note` (§16.2); throws if none. */
  async function cosignedAt(note, key) {
    const { text, lines } = splitNote(note);
    for (const [name, sig] of lines) {
      if (name !== key.name || sig.length !== 76 || !equal(sig.slice(0, 4), key.id)) continue;
      const ts = new DataView(sig.buffer, sig.byteOffset + 4, 8).getBigUint64(0);
      if (ts > 0x7fffffffffffffffn) continue;
      const msg = utf8(`cosignature/v1\ntime ${ts}\n${text}`);
      if (await ed25519(key, sig.slice(12), msg)) return Number(ts);
    }
    throw new Error(L('no hay cosignatura válida de este testigo', 'no valid cosignature by this witness'));
  }

  // ---------------------------------------------------------------------------------------------
  // Documents and names as the register folds them (§17.3)

  const foldDoc = (d) => ({
    kind: typeof d.kind === 'string' ? d.kind.trim().toUpperCase() : '',
    number: typeof d.number === 'string' ? d.number.replace(/[ .-]/g, '').toUpperCase() : '',
    issuer: typeof d.issuer === 'string' ? d.issuer.trim().toUpperCase() : null,
  });

  function sameDocument(asked, doc) {
    if (!doc || typeof doc !== 'object') return false;
    const a = foldDoc(asked), d = foldDoc(doc);
    return a.kind === d.kind && a.number === d.number && (a.issuer === null || d.issuer === null || a.issuer === d.issuer);
  }

  const fold = (s) => s.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').split(/\s+/).filter(Boolean);
  const fullName = (p) => [p.given_names].concat(Array.isArray(p.surnames) ? p.surnames : []).filter((x) => typeof x === 'string').join(' ');
  const sameName = (asked, name) => fold(asked).every((w) => fold(name).some((p) => p.startsWith(w)));

  function endedStatus(reason) {
    if (reason.includes('death') || reason === 'died') return 'dead';
    if (reason === 'escape') return 'escaped';
    return reason.includes('transfer') ? 'transferred' : 'released';
  }

  // ---------------------------------------------------------------------------------------------
  // Checking an answer file

  /**
   * Checks an answer file (the parsed JSON) with the register key text (null: the file's own)
   * and witness key texts. Returns {verified, failure, checks: [{step, check, result, detail}],
   * facts, warnings}; result is OK, FAILED, UNPROVEN (rests on the register's word) or NOTE.
   */
  async function verifyAnswer(doc, keyText, witnessTexts = []) {
    const checks = [], warnings = [], facts = {};
    let keySource = 'given';
    const add = (step, check, result, detail) => checks.push({ step, check, result, detail });
    const expect = (cond, step, check, good, bad) => { add(step, check, cond ? 'OK' : 'FAILED', cond ? good : bad); return cond; };
    const report = () => {
      const f = checks.find((c) => c.result === 'FAILED');
      return { verified: !f, failure: f ? `${f.step}. ${f.check}: ${f.detail}` : null, checks, facts, warnings, keySource };
    };
    const isObject = (o) => !!o && typeof o === 'object' && !Array.isArray(o);
    if (!isObject(doc) || !isObject(doc.answer) || !isObject(doc.evidence)) {
      add('a', L('archivo', 'file'), 'FAILED', L('no es un archivo de respuesta', 'not an answer file'));
      return report();
    }
    const answer = doc.answer, evidence = doc.evidence;
    const origin = typeof answer.origin === 'string' ? answer.origin : '';
    Object.assign(facts, { status: answer.status, origin, asked: answer.asked || {}, checkpoint: answer.checkpoint || {} });
    if (answer.format !== FORMAT) add('a', L('formato', 'format'), 'FAILED', String(answer.format));

    // a. The signature.
    let key = null;
    if (!keyText || !keyText.trim()) {
      keyText = typeof doc.verifier_key === 'string' ? doc.verifier_key : '';
      keySource = 'file';
      warnings.push(L('Sin clave de confianza: se usó la clave que trae el archivo, lo que solo prueba que el archivo es coherente consigo mismo.',
        'No trusted key: the key inside the file was used, which only proves the file is consistent with itself.'));
    }
    try {
      key = await parseKey(keyText, ALG_REGISTER);
      if (key.name !== origin) add('a', L('clave', 'key'), 'FAILED', L(`la clave es de ${key.name}, no del registro ${origin}`, `the key is ${key.name}'s, not the register ${origin}'s`));
    } catch (e) {
      add('a', L('clave', 'key'), 'FAILED', e.message);
    }
    const sigName = L('firma de la respuesta', 'signature of the answer');
    let digest = null;
    try { digest = b64(await sha256(utf8(canonical(answer)))); } catch (e) { add('a', sigName, 'FAILED', e.message); }
    if (key && digest) {
      try {
        const text = await openNote(doc.signature, key);
        expect(text === `${FORMAT}\n${origin}\n${digest}\n`, 'a', sigName,
          L(`firmada por ${key.name}; SHA-256 de la respuesta ${digest}`, `signed by ${key.name}; SHA-256 of the answer ${digest}`),
          L('el texto firmado no es el de esta respuesta: la respuesta cambió después de firmarse', 'the signed text is not this answer\'s: the answer was changed after it was signed'));
      } catch (e) { add('a', sigName, 'FAILED', e.message); }
    }

    // b. The checkpoint and its cosignatures.
    const cpName = L('punto de control', 'checkpoint');
    const size = answer.checkpoint && Number.isSafeInteger(answer.checkpoint.size) ? answer.checkpoint.size : -1;
    let root = null;
    try { root = unb64(answer.checkpoint.root); if (root.length !== 32) throw new Error('root'); } catch (e) {
      add('b', cpName, 'FAILED', L('la respuesta no nombra un punto de control', 'the answer names no checkpoint'));
      root = null;
    }
    if (key && root) {
      try {
        const cp = parseCheckpoint(await openNote(evidence.checkpoint, key));
        expect(cp.origin === origin && cp.size === size && equal(cp.root, root), 'b', cpName,
          L(`firmado por el registro: tamaño ${cp.size}, raíz ${b64(cp.root)}`, `signed by the register: size ${cp.size}, root ${b64(cp.root)}`),
          L(`el punto de control firmado (tamaño ${cp.size}, raíz ${b64(cp.root)}) no es el que nombra la respuesta`,
            `the signed checkpoint (size ${cp.size}, root ${b64(cp.root)}) is not the one the answer names`));
      } catch (e) { add('b', cpName, 'FAILED', e.message); }
    }
    for (const w of witnessTexts.map((t) => t.trim()).filter(Boolean)) {
      const label = L('testigo ', 'witness ') + w.split('+')[0];
      try {
        const ts = await cosignedAt(evidence.checkpoint, await parseKey(w, ALG_WITNESS));
        add('b', label, 'OK', L('cofirmó el punto de control el ', 'cosigned the checkpoint at ') + new Date(ts * 1000).toISOString().replace('.000Z', 'Z'));
      } catch (e) { add('b', label, 'FAILED', e.message); }
    }
    if (!witnessTexts.some((t) => t.trim())) {
      warnings.push(L('Sin claves de testigos: nada muestra que a otros se les mostró el mismo punto de control.',
        'No witness keys: nothing shows that others were shown the same checkpoint.'));
    }

    // c. The evidence entries.
    const shown = new Map(), proven = new Map();
    const list = Array.isArray(evidence.entries) ? evidence.entries : [];
    if (!Array.isArray(evidence.entries)) add('c', L('evidencia', 'evidence'), 'FAILED', L('la evidencia no lista asientos', 'the evidence lists no entries'));
    let last = -1;
    for (const e of list) {
      const i = e && e.index;
      const label = L('asiento ', 'entry ') + i;
      if (!Number.isSafeInteger(i) || i < 0) { add('c', label, 'FAILED', L('sin índice', 'no index')); continue; }
      if (i <= last) add('c', label, 'FAILED', L('la evidencia no está ordenada por índice', 'the evidence is not sorted by index'));
      last = Math.max(last, i);
      if (typeof e.leaf_hash !== 'string' || !HEX32.test(e.leaf_hash)) { add('c', label, 'FAILED', 'leaf_hash'); continue; }
      const leaf = unhex(e.leaf_hash);
      try {
        if (e.entry === null || e.entry === undefined) {
          if (typeof e.withheld !== 'string' || !e.withheld) throw new Error(L('ni mostrado ni retenido', 'neither shown nor withheld'));
          shown.set(i, null);
        } else {
          const bytes = unb64(e.entry);
          if (!equal(await leafHash(bytes), leaf)) throw new Error(L('sus bytes no dan su hash de hoja: el asiento fue alterado', 'its bytes do not hash to its leaf hash: the entry was changed'));
          const obj = parseEntry(bytes);
          if (obj.index !== i) throw new Error(L(`el asiento dice índice ${obj.index}`, `the entry says index ${obj.index}`));
          shown.set(i, obj);
        }
      } catch (err) { add('c', label, 'FAILED', err.message); continue; }
      const what = shown.get(i) ? shown.get(i).kind : L('retenido (nombra a otras personas)', 'withheld (names other people)');
      if (e.after_checkpoint !== (i >= size)) { add('c', label, 'FAILED', 'after_checkpoint'); continue; }
      if (i >= size) {
        proven.set(i, false);
        add('c', label, 'UNPROVEN', what + L(': registrado después del punto de control; ninguna firma lo cubre aún', ': recorded after the checkpoint; no signature covers it yet'));
        continue;
      }
      const proof = Array.isArray(e.proof) && e.proof.every((p) => typeof p === 'string' && HEX32.test(p)) ? e.proof.map(unhex) : null;
      if (proof && root && await verifyInclusion(i, size, leaf, proof, root)) {
        proven.set(i, true);
        add('c', label, 'OK', what + L(`: incluido en el punto de control de tamaño ${size}`, `: included in the checkpoint of size ${size}`));
      } else {
        add('c', label, 'FAILED', L('su prueba de inclusión no lleva a la raíz del punto de control', 'its inclusion proof does not lead to the checkpoint\'s root'));
      }
    }

    // d. The claims.
    checkClaims(answer, shown, proven, facts, add, expect);
    return report();
  }

  function checkClaims(answer, shown, proven, facts, add, expect) {
    const status = answer.status, asked = answer.asked || {};
    if (!STATUSES.includes(status)) { add('d', L('estado', 'status'), 'FAILED', String(status)); return; }
    if (status === 'not_held' || status === 'ambiguous') {
      facts.detail = answer.detail; facts.matches = answer.matches;
      add('d', status, 'NOTE', L('esta respuesta no se apoya en ningún asiento: dice lo que el registro tenía en el punto de control; una exportación posterior muestra si era cierto',
        'this answer rests on no entry: it says what the register held at the checkpoint; a later export shows whether it was true'));
      return;
    }
    const entry = (what, i, mayWithhold) => {
      if (!Number.isSafeInteger(i)) { add('d', what, 'FAILED', L('la respuesta no nombra el asiento', 'the answer names no entry')); return null; }
      if (!shown.has(i)) { add('d', what, 'FAILED', L(`el asiento ${i} no está en la evidencia`, `entry ${i} is not in the evidence`)); return null; }
      if (shown.get(i) === null && !mayWithhold) add('d', what, 'FAILED', L(`el asiento ${i} está retenido`, `entry ${i} is withheld`));
      return shown.get(i);
    };
    const rests = (i) => L('asiento ', 'entry ') + i + (proven.get(i) ? '' : L(' (aún sin punto de control)', ' (not yet covered by a checkpoint)'));
    const { person, custody, facility, since } = answer;
    Object.assign(facts, { person, custody, facility, since });

    const first = entry(L('persona', 'person'), person);
    if (first) {
      const id = first.payload.person;
      if (expect(first.kind === ADMITTED && id && typeof id === 'object', 'd', L('persona', 'person'),
        L(`${rests(person)}: primer ingreso de ${fullName(id || {})}`, `${rests(person)}: first admission of ${fullName(id || {})}`),
        L(`el asiento ${person} no es el ingreso que registró a la persona`, `entry ${person} is not the admission that first recorded the person`))) {
        facts.name = fullName(id); facts.birth_date = id.birth_date;
        const sought = asked.person || {};
        if (sought.document && typeof sought.document === 'object') {
          const docs = Array.isArray(id.documents) ? id.documents : [];
          expect(docs.some((d) => sameDocument(sought.document, d)), 'd', L('documento', 'document'),
            L('el ingreso registra el documento preguntado', 'the admission records the document asked about'),
            L(`el documento preguntado no está entre los de la persona (asiento ${person})`, `the document asked about is not among the person's (entry ${person})`));
        } else if (typeof sought.name === 'string') {
          const same = sameName(sought.name, fullName(id)) && id.birth_date === sought.birth_date;
          add('d', L('nombre', 'name'), same ? 'OK' : 'NOTE', same ? L('el ingreso registra el nombre y la fecha de nacimiento preguntados', 'the admission records the name and birth date asked about')
            : L('el nombre o la fecha de nacimiento difieren del primer ingreso (una corrección de identidad puede haberlos cambiado)', 'the name or birth date differ from the first admission (an identity correction may have changed them)'));
        }
      }
    }
    const opened = entry(L('custodia', 'custody'), custody);
    if (opened) {
      const p = opened.payload;
      let where, start;
      if (opened.kind === ADMITTED) {
        const who = 'person' in p ? custody : p.existing_person;
        expect(who === person, 'd', L('custodia', 'custody'), `${rests(custody)}: ${L('ingreso de la persona', 'admission of the person')} ${person}`,
          L(`el ingreso del asiento ${custody} es de la persona ${who}`, `the admission in entry ${custody} is of person ${who}`));
        [where, start] = [opened.facility, p.admitted_at];
      } else if (opened.kind === TRANSFERRED) {
        [where, start] = [p.to, p.at];
        add('d', L('custodia', 'custody'), 'NOTE', L(`el asiento ${custody} traslada la custodia ${p.booking} a ${p.to}; los asientos que la unen a la persona no están en la evidencia`,
          `entry ${custody} transfers booking ${p.booking} to ${p.to}; the entries linking it to the person are not in the evidence`));
      } else {
        add('d', L('custodia', 'custody'), 'FAILED', L(`el asiento ${custody} no es un ingreso ni un traslado`, `entry ${custody} is not an admission or a transfer`));
      }
      if (where !== undefined || start !== undefined) {
        expect(where === facility, 'd', L('establecimiento', 'facility'), `${facility} (${rests(custody)})`,
          L(`la respuesta dice ${facility}, el asiento ${custody} dice ${where}`, `the answer says ${facility}, entry ${custody} says ${where}`));
        expect(start === since, 'd', L('desde', 'since'), `${since} (${rests(custody)})`,
          L(`la respuesta dice ${since}, el asiento ${custody} dice ${start}`, `the answer says ${since}, entry ${custody} says ${start}`));
      }
    }
    if (status === 'held') {
      if (answer.ended) add('d', L('estado', 'status'), 'FAILED', L('detenido, pero la custodia terminó', 'held, but the custody ended'));
      facts.legal_status = answer.legal_status;
      const basis = answer.legal_basis;
      const bName = L('base legal', 'legal basis');
      if (!basis) {
        add('d', bName, 'NOTE', L('la respuesta no nombra base legal: el registro no tiene orden para esta custodia', 'the answer names no legal basis: the register holds no order for this custody'));
      } else {
        facts.legal_basis = basis;
        const e = entry(bName, basis.entry);
        if (e) {
          const orders = e.kind === ADMITTED ? (Array.isArray(e.payload.orders) ? e.payload.orders : []) : e.kind === ORDER ? [e.payload.order] : [];
          const same = (o) => o && ['kind', 'authority', 'reference', 'issued', 'expires', 'review'].every((f) => (o[f] ?? null) === (basis[f] ?? null));
          expect(orders.some(same), 'd', bName, `${basis.kind}, ${basis.authority}, ${basis.reference} (${rests(basis.entry)})`,
            L(`el asiento ${basis.entry} no contiene esa orden`, `entry ${basis.entry} holds no such order`));
          const own = e.kind === ADMITTED ? basis.entry === custody : e.payload.booking === custody;
          if (!own) add('d', bName, 'NOTE', L('la orden es de una custodia anterior, traída por un traslado que la evidencia no incluye', 'the order was made in an earlier custody, carried over by a transfer the evidence does not include'));
        }
      }
      const nh = answer.next_hearing;
      if (nh) {
        facts.next_hearing = nh;
        const hName = L('próxima audiencia', 'next hearing');
        const e = entry(hName, nh.entry, true);
        if (shown.has(nh.entry) && shown.get(nh.entry) === null) {
          add('d', hName, 'UNPROVEN', L(`el asiento ${nh.entry} nombra a otras personas: está probado en el registro, pero su fecha y tribunal son palabra del registro`,
            `entry ${nh.entry} names other people: it is proven to be in the register, but its date and court are the register's word`));
        } else if (e) {
          expect(e.kind === HEARING && e.payload.court === nh.court && [e.payload.at, e.payload.next_date].includes(nh.date), 'd', hName,
            `${nh.date}, ${nh.court} (${rests(nh.entry)})`, L(`el asiento ${nh.entry} no fija esa audiencia`, `entry ${nh.entry} does not set that hearing`));
        }
      }
      return;
    }
    const ended = answer.ended, eName = L('fin de la custodia', 'end of custody');
    if (!ended || typeof ended !== 'object') { add('d', eName, 'FAILED', L('la respuesta no dice cómo terminó la custodia', 'the answer does not say how the custody ended')); return; }
    facts.ended = ended;
    const e = entry(eName, ended.entry);
    if (!e) return;
    const p = e.payload;
    const reason = { [RELEASED]: p.reason, [DEATH]: 'death', [TRANSFERRED]: 'transfer_out' }[e.kind];
    if (!expect(END_KINDS.includes(e.kind) && p.booking === custody, 'd', eName, `${e.kind} (${rests(ended.entry)})`,
      L(`el asiento ${ended.entry} no termina la custodia ${custody}`, `entry ${ended.entry} does not end the custody ${custody}`))) return;
    const to = ['to', 'destination', 'counterpart'].map((k) => p[k]).find((x) => typeof x === 'string') ?? null;
    expect(ended.reason === reason && ended.at === p.at && (ended.to ?? null) === to, 'd', eName, `${reason}, ${p.at}`,
      L(`la respuesta dice ${ended.reason} el ${ended.at}, el asiento dice ${reason} el ${p.at}`, `the answer says ${ended.reason} at ${ended.at}, the entry says ${reason} at ${p.at}`));
    expect(typeof reason === 'string' && endedStatus(reason) === status, 'd', L('estado', 'status'), status,
      L(`la razón ${reason} no significa ${status}`, `the reason ${reason} does not mean ${status}`));
  }

  // ---------------------------------------------------------------------------------------------
  // RFC 6962 self-check (§6.2)

  async function selfCheck() {
    const leaves = await Promise.all(['', '00', '10', '2021', '3031', '40414243', '5051525354555657',
      '606162636465666768696a6b6c6d6e6f'].map((h) => leafHash(unhex(h))));
    const root8 = '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328';
    const root3 = 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77';
    const proof58 = ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'].map(unhex);
    const results = {
      root8: hex(await mth(leaves)) === root8,
      root3: hex(await mth(leaves.slice(0, 3))) === root3,
      inclusion_5_8: await verifyInclusion(5, 8, leaves[5], proof58, unhex(root8)),
      inclusion_2_3: await verifyInclusion(2, 3, leaves[2], [unhex('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125')], unhex(root3)),
      wrong_leaf_refused: !(await verifyInclusion(4, 8, leaves[5], proof58, unhex(root8))),
      canonical: canonical({ b: 1, a: [true, null, 'x'], 'é': { z: -3, y: '\n\u0001' } }) === '{"a":[true,null,"x"],"b":1,"é":{"y":"\\n\\u0001","z":-3}}'
        && canonical({ '\ufb01': 1, '\u{1f600}': 2 }) === '{"\u{1f600}":2,"\ufb01":1}',
    };
    const ok = Object.values(results).every(Boolean);
    if (typeof console !== 'undefined') console.log(`HabeasVerify self-check: ${ok ? 'OK' : 'FAILED'}`, results);
    return { ok, results };
  }

  // ---------------------------------------------------------------------------------------------
  // The page

  const when = (t) => (typeof t === 'string' ? t.replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC') : '—');

  /** The answer's facts in plain words, one sentence each. */
  function plainWords(f) {
    const out = [], a = f.asked || {};
    const who = f.name ? `${f.name} (${L('persona', 'person')} ${f.person})` : L('la persona', 'the person');
    if (f.status === 'held') {
      out.push(L(`${who}: bajo custodia en ${f.facility} desde el ${when(f.since)}.`, `${who}: held at ${f.facility} since ${when(f.since)}.`));
      const b = f.legal_basis;
      out.push(b ? L(`Base legal: ${b.kind}, de ${b.authority}, referencia ${b.reference}, emitida el ${b.issued}${b.expires ? `, vence el ${b.expires}` : ''}${b.in_force === false ? ' (ya no vigente)' : ''}. Situación jurídica: ${f.legal_status}.`,
        `Legal basis: ${b.kind}, by ${b.authority}, reference ${b.reference}, issued ${b.issued}${b.expires ? `, expires ${b.expires}` : ''}${b.in_force === false ? ' (no longer in force)' : ''}. Legal status: ${f.legal_status}.`)
        : L('El registro no tiene ninguna orden que funde esta detención.', 'The register holds no order this detention rests on.'));
      const h = f.next_hearing;
      out.push(h ? L(`Próxima audiencia: ${when(h.date)}, ${h.court}.`, `Next hearing: ${when(h.date)}, ${h.court}.`) : L('No hay próxima audiencia registrada.', 'No next hearing is recorded.'));
    } else if (['released', 'transferred', 'dead', 'escaped'].includes(f.status)) {
      const e = f.ended || {};
      const how = { released: L('libertad', 'release'), transferred: L('traslado', 'transfer'), dead: L('muerte bajo custodia', 'death in custody'), escaped: L('evasión (no es una puesta en libertad)', 'escape (not a release)') }[f.status];
      out.push(L(`${who}: estuvo bajo custodia en ${f.facility} desde el ${when(f.since)}; la custodia terminó el ${when(e.at)} por ${how} (${e.reason}${e.to ? `, a ${e.to}` : ''}).`,
        `${who}: held at ${f.facility} from ${when(f.since)}; the custody ended on ${when(e.at)} by ${how} (${e.reason}${e.to ? `, to ${e.to}` : ''}).`));
    } else if (f.status === 'not_held') {
      out.push(L(`En el punto de control de tamaño ${f.checkpoint.size} el registro no tenía a nadie que coincida con la pregunta.`, `At the checkpoint of size ${f.checkpoint.size} the register held nobody matching the question.`));
    } else if (f.status === 'ambiguous') {
      out.push(L(`${f.matches} personas registradas coinciden con la pregunta: pregunte por documento de identidad.`, `${f.matches} people recorded match the question: ask by identity document.`));
    }
    out.push(L(`Preguntó ${a.by} (${a.role}) el ${when(a.at)}, causa ${a.case_reference}, para ${a.purpose}.`, `Asked by ${a.by} (${a.role}) on ${when(a.at)}, case ${a.case_reference}, for ${a.purpose}.`));
    return out;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  }

  function render(box, r) {
    box.replaceChildren();
    box.dataset.verified = r.verified ? 'true' : 'false';
    box.dataset.status = r.facts && r.facts.status ? String(r.facts.status) : '';
    box.dataset.key = r.keySource || 'given'; // 'file': checked with the file's own key (self-consistency only)
    box.append(el('h2', { class: r.verified ? 'ok-message' : 'error' },
      r.verified ? L('La respuesta se verifica', 'The answer verifies') : L('La respuesta NO se verifica', 'The answer does NOT verify')));
    if (r.failure) box.append(el('p', { class: 'alarm' }, r.failure));
    for (const w of r.warnings) box.append(el('p', { class: 'alarm' }, w));
    if (r.facts && r.facts.status) {
      box.append(el('h2', {}, r.verified ? L('Lo que dice la respuesta', 'What the answer says')
        : L('Lo que dice la respuesta (sin verificar)', 'What the answer says (not verified)')));
      for (const s of plainWords(r.facts)) box.append(el('p', {}, s));
    }
    box.append(el('h2', {}, L('Comprobaciones', 'Checks')));
    const steps = { a: L('firma', 'signature'), b: L('punto de control', 'checkpoint'), c: L('asientos', 'entries'), d: L('afirmaciones', 'claims') };
    const body = el('tbody', {});
    for (const c of r.checks) {
      const cls = { OK: 'ok-message', FAILED: 'error', UNPROVEN: 'over-text' }[c.result] || 'hint';
      const word = { OK: 'OK', FAILED: L('FALLA', 'FAILED'), UNPROVEN: L('SIN PRUEBA', 'UNPROVEN'), NOTE: L('NOTA', 'NOTE') }[c.result];
      body.append(el('tr', {}, el('td', {}, `${c.step}. ${steps[c.step] || ''}`), el('td', {}, c.check), el('td', { class: cls }, word), el('td', {}, c.detail)));
    }
    box.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, L('Paso', 'Step')), el('th', {}, L('Qué', 'What')),
      el('th', {}, L('Resultado', 'Result')), el('th', {}, L('Detalle', 'Detail')))), body));
  }

  async function onCheck(ev) {
    ev.preventDefault();
    const box = document.getElementById('result');
    let doc;
    try {
      doc = JSON.parse(document.getElementById('answer-text').value);
    } catch (e) {
      render(box, { verified: false, failure: L('el archivo no es JSON: ', 'the file is not JSON: ') + e.message, checks: [], facts: {}, warnings: [] });
      return;
    }
    const witnesses = document.getElementById('witness-keys').value.split('\n');
    let r;
    try {
      r = await verifyAnswer(doc, document.getElementById('register-key').value, witnesses);
    } catch (e) {
      r = { verified: false, failure: (e && e.message) || String(e), checks: [], facts: {}, warnings: [] };
    }
    render(box, r);
  }

  function setUp() {
    if (EN) {
      document.documentElement.lang = 'en';
      document.title = 'Check a whereabouts answer · Habeas';
      for (const e of document.querySelectorAll('[data-en]')) e.textContent = e.dataset.en;
      const sw = document.getElementById('lang-switch');
      sw.textContent = 'Español'; sw.lang = 'es'; sw.hreflang = 'es'; sw.href = '?lang=es';
    }
    document.getElementById('checker').addEventListener('submit', onCheck);
    document.getElementById('answer-file').addEventListener('change', async (ev) => {
      const file = ev.target.files && ev.target.files[0];
      if (file) document.getElementById('answer-text').value = await file.text();
    });
  }

  const api = { verifyAnswer, selfCheck, canonical, parseEntry, verifyInclusion, mth, leafHash, parseKey, openNote, cosignedAt, plainWords };
  globalThis.HabeasVerify = api;
  if (typeof document !== 'undefined') {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setUp);
    else setUp();
  }
})();
