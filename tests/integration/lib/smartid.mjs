// smartid.mjs — a Smart-ID phone for the split-key tests, written from
// docs/splitkey.md and docs/smartid-api.md with node:crypto and BigInt
// only, so it cross-checks the C (src/crypto/splitkey.c, src/app/smartid*)
// instead of reusing it.  lib/phone.mjs is the same for the app key; its
// `seal` and the device-proof idea are shared.
//
// The camouflage is the phone's own business and changes nothing on the
// wire, so this phone keeps its share d1' in the clear; a "wrong PIN" is a
// partial signature with another W-bit share, which is exactly what a wrong
// PIN opens to on a real phone.
//
//   const phone = await new SmartIdPhone(server).init();
//   await phone.register({ deviceName: 'Pixel 8' });   // POST /register
//   ... the portal part (registerSmartId does it over HTTP) ...
//   await phone.status();                             // GET /register
//   await phone.finish();                             // the recall check
//   const [rq] = (await phone.requests()).body.requests;
//   await phone.confirm(rq);                          // PIN1 / PIN2
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { rmSync } from 'node:fs';
import { Agent, hiddenInputs } from './harness.mjs';
import { Phone, seal, b64u, lengthPrefixed } from './phone.mjs';

export { seal, b64u };

// ---- BigInt helpers ----

export const bnFromB64u = (s) => bnFromBytes(Buffer.from(s, 'base64url'));
export function bnFromBytes(buf) {
  return buf.length ? BigInt(`0x${Buffer.from(buf).toString('hex')}`) : 0n;
}
// Big-endian bytes: exactly `len` of them, or as few as the value needs.
export function bnToBytes(x, len) {
  let hex = x.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const raw = Buffer.from(hex === '00' && len === undefined ? '' : hex, 'hex');
  if (len === undefined) return raw.length ? raw : Buffer.from([0]);
  assert.ok(raw.length <= len, `value of ${raw.length} bytes does not fit ${len}`);
  return Buffer.concat([Buffer.alloc(len - raw.length), raw]);
}
export const bitLength = (x) => (x === 0n ? 0 : x.toString(2).length);
export const byteLength = (x) => Math.ceil(bitLength(x) / 8);

export function modPow(base, exp, m) {
  let r = 1n;
  let b = ((base % m) + m) % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
const gcd = (a, b) => { while (b) [a, b] = [b, a % b]; return a; };
const randomBits = (w) => bnFromBytes(crypto.randomBytes(w / 8));

// ---- the split (docs/splitkey.md "The math") ----

export const E = 65537n;
export const EXTRA_BITS = 128; // W = n1 bits + this
export const DELTA_BITS = 128;

// An RSA key of `bits` from node's generator (the C uses OpenSSL's), drawn
// again until n1 >= 3/4 * 2^bits, and its split: d1' uniform in [0, 2^W),
// d1'' = d1 + t*lambda - d1' with the smallest t such that t*lambda > 2^(W+1).
export function splitKeygen(bits) {
  let jwk;
  for (let i = 0; i < 32 && !jwk; i++) {
    // A JWK from the generator (keygen.test.mjs: a generated KeyObject's
    // export as a JWK can deadlock Node 20).
    const j = crypto.generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537,
      privateKeyEncoding: { format: 'jwk' }, publicKeyEncoding: { format: 'jwk' } }).privateKey;
    const n = bnFromB64u(j.n);
    if (bitLength(n) === bits && (n >> BigInt(bits - 2)) & 1n) jwk = j;
  }
  assert.ok(jwk, 'no RSA key with a high modulus in 32 draws');
  const n1 = bnFromB64u(jwk.n);
  const d1 = bnFromB64u(jwk.d);
  const p = bnFromB64u(jwk.p);
  const q = bnFromB64u(jwk.q);
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const w = bits + EXTRA_BITS;
  const d1p = randomBits(w);
  const t = (1n << BigInt(w + 1)) / lambda + 1n;
  const d1pp = d1 + t * lambda - d1p;
  return { n1, d1, d1p, d1pp, w, kdev: crypto.randomBytes(32) };
}

// delta_i = HMAC-SHA256(kdev, "delta" || u64be(i)), the first 128 bits.
export function delta(kdev, i) {
  const v = Buffer.alloc(8);
  v.writeBigUInt64BE(BigInt(i));
  const mac = crypto.createHmac('sha256', kdev).update(Buffer.concat([Buffer.from('delta'), v])).digest();
  return bnFromBytes(mac.subarray(0, DELTA_BITS / 8));
}

// The device's share at version v: d1'_0 + sum(delta_i, i < v) mod 2^W.
export function shareAt(key, v) {
  let s = key.d1p;
  for (let i = 0; i < v; i++) s += delta(key.kdev, i);
  return s % (1n << BigInt(key.w));
}

// sk_share_to_json: {"d1pp","kdev","n1","v":1,"version":0,"w"}, sorted
// keys, base64url big-endian fields without leading zero bytes.
export function shareJson(key, over = {}) {
  const o = {
    d1pp: b64u(bnToBytes(key.d1pp)), kdev: b64u(key.kdev), n1: b64u(bnToBytes(key.n1)),
    v: 1, version: 0, w: key.w, ...over,
  };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return JSON.stringify(Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]])));
}

// ---- what is signed ----

const DIGEST_INFO = {
  SHA256: '3031300d060960864801650304020105000420',
  SHA384: '3041300d060960864801650304020205000430',
  SHA512: '3051300d060960864801650304020305000440',
  'SHA3-256': '3031300d060960864801650304020805000420',
  'SHA3-384': '3041300d060960864801650304020905000430',
  'SHA3-512': '3051300d060960864801650304020a05000440',
};
const NODE_MD = {
  SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512', 'SHA3-256': 'sha3-256', 'SHA3-384': 'sha3-384',
  'SHA3-512': 'sha3-512',
};

// EM for `hash` under `padding` ("pkcs1" or "pss"), as long as n in bytes
// (sk_encode): PKCS#1 v1.5 with the DigestInfo, or EMSA-PSS with MGF1 of
// the same digest and a salt as long as the digest.
export function encode(n, padding, digest, hash) {
  const k = byteLength(n);
  if (padding === 'pss') return encodePss(n, digest, hash);
  const t = Buffer.concat([Buffer.from(DIGEST_INFO[digest], 'hex'), hash]);
  assert.ok(k >= t.length + 11);
  return Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(k - t.length - 3, 0xff), Buffer.from([0]), t]);
}

function mgf1(md, seed, len) {
  const out = [];
  for (let c = 0, got = 0; got < len; c++) {
    const ctr = Buffer.alloc(4);
    ctr.writeUInt32BE(c);
    const h = crypto.createHash(md).update(Buffer.concat([seed, ctr])).digest();
    out.push(h);
    got += h.length;
  }
  return Buffer.concat(out).subarray(0, len);
}

function encodePss(n, digest, hash) {
  const md = NODE_MD[digest];
  const hLen = hash.length;
  const emBits = bitLength(n) - 1;
  const emLen = Math.ceil(emBits / 8);
  const salt = crypto.randomBytes(hLen);
  const h = crypto.createHash(md).update(Buffer.concat([Buffer.alloc(8), hash, salt])).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - 2 * hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(md, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([db, h, Buffer.from([0xbc])]);
  return Buffer.concat([Buffer.alloc(byteLength(n) - emLen), em]);
}

// The partial signature EM^share mod n1, n1 bytes.
export function partial(em, share, n1) {
  return bnToBytes(modPow(bnFromBytes(em) % n1, share, n1), byteLength(n1));
}

// What a recall signature signs (docs/smartid-api.md "POST /register/finish").
export function recallHash(registrationId, use, challenge) {
  return crypto.createHash('sha256').update(Buffer.concat([
    Buffer.from('sleutel smartid recall v1'), Buffer.from([0]), Buffer.from(registrationId), Buffer.from([0]),
    Buffer.from(use), Buffer.from([0]), challenge,
  ])).digest();
}

// A portal login's binding bytes ("GET /requests"): each field as a 2-byte
// big-endian length and its bytes; the display text as its SHA-256.
export function bindingHash(rq) {
  return crypto.createHash('sha256').update(lengthPrefixed(['sleutel-smartid-v1', rq.id, rq.bind.rp_id, rq.rp_name,
    rq.action, crypto.createHash('sha256').update(rq.display_text, 'utf8').digest(), rq.bind.nonce])).digest();
}

// int(SHA-256(hash)[-2:]) mod 10000, 4 digits.
export function verificationCode(hash) {
  const h = crypto.createHash('sha256').update(hash).digest();
  return String(h.readUInt16BE(h.length - 2) % 10000).padStart(4, '0');
}

// ---- the RP API's side (docs/smart-id.md "Device side"; the published
// rules of SK's RP API v3: ACSP_V2, verification codes) ----

// The RP API's hash names ("SHA-512", "SHA3-256") as node's.
const RP_MD = {
  'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512', 'SHA3-256': 'sha3-256', 'SHA3-384': 'sha3-384',
  'SHA3-512': 'sha3-512',
};
const b64std = (buf) => Buffer.from(buf).toString('base64');

// The ACSP_V2 payload of an RP API request's rp_api object with the
// device's userChallenge and the interaction shown: 11 fields joined by
// "|", the callback only for Web2App and App2App.
export function acspPayload(api, userChallenge, interaction) {
  const sameDevice = api.flow_type === 'Web2App' || api.flow_type === 'App2App';
  return [api.scheme, 'ACSP_V2', api.server_random, api.rp_challenge, userChallenge,
    b64std(Buffer.from(api.rp_name, 'utf8')),
    api.brokered_rp_name ? b64std(Buffer.from(api.brokered_rp_name, 'utf8')) : '',
    b64std(crypto.createHash('sha256').update(api.interactions, 'utf8').digest()), interaction,
    sameDevice ? api.initial_callback_url : '', api.flow_type].join('|');
}

// The interactions the RP offered, in its order.
export function rpInteractions(api) {
  if (api.interactions_v2) return api.interactions_v2;
  if (!api.interactions) return [];
  return JSON.parse(Buffer.from(api.interactions, 'base64').toString('utf8'));
}

// The interactions this phone knows (all of v3's, and v2's code choice).
export const PHONE_INTERACTIONS = ['displayTextAndPIN', 'confirmationMessage',
  'confirmationMessageAndVerificationCodeChoice', 'verificationCodeChoice'];

// ---- the phone ----

export const USES = ['auth', 'sign'];

// The transport key, proofs and sealing are the app phone's (lib/phone.mjs),
// under /device/v1/smartid.
export class SmartIdPhone extends Phone {
  constructor(server) {
    super(server);
    this.base = `${server.base}/device/v1/smartid`;
    this.keys = {};
  }

  // A proof for `method` `path` (under /device/v1/smartid).
  async proof(method, path, over = {}) { return super.proof(method, `/smartid${path}`, over); }

  // Call the device API; answers { status, body, headers }.
  async call(method, path, body, { proof, over, noProof = false } = {}) {
    const headers = {};
    if (!noProof) headers.dpop = proof || await this.proof(method, path.split('?')[0], over);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}${path}`, {
      method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    const text = await res.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  async config() {
    const r = await this.call('GET', '/config', undefined, { noProof: true });
    assert.equal(r.status, 200, `GET /config: ${r.status} ${JSON.stringify(r.body)}`);
    this.conf = r.body;
    this.sealKey = r.body.seal_keys[0];
    return r.body;
  }

  // Make both keys (or take `opts.keys`) and POST /register.  opts:
  // deviceName, language, country, method, terms (default the server's),
  // bits (default /config key_bits), body (fields merged into the body),
  // share (use -> JSON text sent instead of the real share), sealKid.
  async register(opts = {}) {
    const conf = await this.config();
    const bits = opts.bits || conf.key_bits;
    for (const use of USES) this.keys[use] = (opts.keys && opts.keys[use]) || splitKeygen(bits);
    for (const use of USES) this.keys[use].version = 0;
    const kid = opts.sealKid || this.sealKey.kid;
    const sealed = {};
    for (const use of USES) {
      const text = (opts.share && opts.share[use]) || shareJson(this.keys[use]);
      sealed[use] = seal(this.sealKey.pub, kid, `smartid-share ${use} ${this.jkt}`, Buffer.from(text));
    }
    const body = {
      country: opts.country || 'BE', method: opts.method || 'eid',
      terms_version: opts.terms === undefined ? conf.terms_version : opts.terms,
      language: opts.language || 'nl', device_name: opts.deviceName || 'Test phone',
      transport_key: this.jwk, seal_kid: kid, auth: sealed.auth, sign: sealed.sign, ...(opts.body || {}),
    };
    const r = await this.call('POST', '/register', body);
    if (r.status === 201) {
      this.registrationId = r.body.registration_id;
      this.code = r.body.registration_code;
    }
    return r;
  }

  // What GET /register answered: once "confirmed", the challenge and the
  // composite moduli (the server makes its keys at the confirmation), each
  // checked as the app checks them: a multiple of our n1, and longer.
  noteRegistration(r) {
    if (r.status !== 200 || r.body.status !== 'confirmed') return r;
    if (r.body.challenge) this.challenge = Buffer.from(r.body.challenge, 'base64url');
    for (const use of USES) {
      const n = bnFromB64u(r.body[use].n);
      assert.ok(n % this.keys[use].n1 === 0n && n > this.keys[use].n1, `the server's ${use} n is not of our key`);
      this.keys[use].n = n;
    }
    return r;
  }

  // GET /register (wait=0 unless `wait`), or GET /status once registered.
  async status({ wait = false } = {}) {
    if (this.deviceId) return this.call('GET', '/status');
    return this.noteRegistration(await this.call('GET', `/register${wait ? '' : '?wait=0'}`));
  }

  // One key's {"version", "part"} for `hash` (a wrong PIN: another share),
  // sealed with `aad`; the version moves on either way, as on a phone.
  signPart(use, hash, aad, { wrongPin = false, padding = 'pkcs1', digest = 'SHA256', version } = {}) {
    const k = this.keys[use];
    k.version = version === undefined ? k.version + 1 : version;
    const share = wrongPin ? randomBits(k.w) : shareAt(k, k.version);
    const em = encode(k.n, padding, digest, hash);
    const part = partial(em, share, k.n1);
    return { version: k.version, part: seal(this.sealKey.pub, this.sealKey.kid, aad, part), em };
  }

  // The recall check: POST /register/finish with both keys (wrong: the
  // uses whose PIN is typed wrong, e.g. ['sign']).
  async finish({ wrong = [], versions = {} } = {}) {
    if (!this.challenge) await this.status();
    assert.ok(this.challenge, 'no challenge yet: the portal has not confirmed');
    const body = { seal_kid: this.sealKey.kid };
    for (const use of USES) {
      const { version, part } = this.signPart(use, recallHash(this.registrationId, use, this.challenge),
        `${this.registrationId} ${use}`, { wrongPin: wrong.includes(use), version: versions[use] });
      body[use] = { version, part };
    }
    const r = await this.call('POST', '/register/finish', body);
    if (r.status === 201) {
      this.accountId = r.body.account_id;
      this.deviceId = r.body.device_id;
      this.document = r.body.document_number;
      this.certificates = r.body.certificates;
    }
    return r;
  }

  // GET /requests (at once unless `wait`).
  async requests({ wait = false } = {}) {
    return this.call('GET', `/requests${wait ? '' : '?wait=0'}`);
  }

  // Check what the app checks before it asks for the PIN: the binding
  // hash of a portal login and the verification code.
  check(rq) {
    if (rq.bind) assert.equal(rq.hash, b64u(bindingHash(rq)), 'the request hash is not its binding');
    assert.equal(rq.verification_code, verificationCode(Buffer.from(rq.hash, 'base64url')), 'verification code');
  }

  // Confirm request `rq` with PIN1 (auth) or PIN2 (sign).
  async confirm(rq, { wrongPin = false, version, skipCheck = false } = {}) {
    if (!skipCheck) this.check(rq);
    const { version: v, part } = this.signPart(rq.key, Buffer.from(rq.hash, 'base64url'), rq.id,
      { wrongPin, padding: rq.padding, digest: rq.digest, version });
    return this.call('POST', `/requests/${rq.id}`, {
      decision: 'confirm', seal_kid: this.sealKey.kid, version: v, part,
    });
  }

  async refuse(rq) { return this.call('POST', `/requests/${rq.id}`, { decision: 'refuse' }); }

  // POST /link: claim a scanned or opened device link.
  async claimLink(link) { return this.call('POST', '/link', { link }); }

  // Answer an RP API request as the app does: the verification code
  // recomputed (notification authentication: the rpChallenge's; v2: the
  // hash's), the first interaction it supports in the RP's order (or
  // `interaction`), then PIN1/PIN2 over the ACSP_V2 payload's hash with a
  // fresh userChallenge, or over the RP's digest; a certificate choice
  // confirms without a PIN.  opts: wrongPin, interaction, refuse (a
  // reason), vcPick (the code the person picks; another one refuses
  // wrong_vc), supported (the interactions this app knows), body (merged
  // into what is sent).  Returns the answer with the userChallenge, its
  // verifier and the payload signed.
  async answerRp(rq, opts = {}) {
    const api = rq.rp_api;
    assert.ok(api, 'not an RP API request');
    this.checkRp(rq);
    const supported = opts.supported || PHONE_INTERACTIONS;
    const shown = opts.interaction || rpInteractions(api).map((i) => i.type).find((t) => supported.includes(t));
    const post = (body) => this.call('POST', `/requests/${rq.id}`, { ...body, ...(opts.body || {}) });
    if (opts.refuse) return post({ decision: 'refuse', reason: opts.refuse, interaction: shown });
    if (!shown && rq.action !== 'cert') return post({ decision: 'refuse', reason: 'not_supported' });
    if (opts.vcPick !== undefined && opts.vcPick !== rq.verification_code) {
      return post({ decision: 'refuse', reason: 'wrong_vc', interaction: shown });
    }
    if (rq.action === 'cert') return post({ decision: 'confirm', ...(shown ? { interaction: shown } : {}) });
    let hash;
    const out = {};
    if (api.signature_protocol === 'ACSP_V2') {
      out.verifier = b64u(crypto.randomBytes(32));
      out.userChallenge = b64u(crypto.createHash('sha256').update(out.verifier, 'utf8').digest());
      out.payload = acspPayload(api, out.userChallenge, shown);
      hash = crypto.createHash(RP_MD[api.hash_algorithm]).update(out.payload, 'utf8').digest();
    } else {
      hash = Buffer.from(rq.hash, 'base64url');
    }
    const { version, part, em } = this.signPart(rq.key, hash, rq.id,
      { wrongPin: opts.wrongPin, padding: rq.padding, digest: rq.digest });
    // PSS salts are random: the server completes the EM signed here once
    // it checked it encodes the same hash.
    const r = await post({ decision: 'confirm', interaction: shown, seal_kid: this.sealKey.kid, version, part,
      ...(rq.padding === 'pss' ? { em: b64u(opts.em || em) } : {}),
      ...(out.userChallenge ? { user_challenge: out.userChallenge } : {}) });
    return { ...r, ...out, interaction: shown };
  }

  // What the app checks of an RP API request before it asks for a PIN.
  checkRp(rq) {
    const api = rq.rp_api;
    if (rq.hash !== undefined) assert.equal(api.signature_protocol === 'ACSP_V2', false, 'ACSP_V2 with a hash');
    if (api.flow_type !== 'Notification' || rq.action === 'cert') {
      assert.equal(rq.verification_code, null, 'a device-link request shows no code');
    } else if (api.api === 'v2') {
      assert.equal(rq.verification_code, verificationCode(Buffer.from(rq.hash, 'base64url')), 'v2 code');
    } else if (api.signature_protocol === 'ACSP_V2') {
      assert.equal(rq.verification_code, verificationCode(Buffer.from(api.rp_challenge, 'base64')),
        'the rpChallenge\'s verification code');
    }
  }
  async devices() { return this.call('GET', '/devices'); }
  async remove(id = this.deviceId) { return this.call('POST', `/devices/${id}/remove`, {}); }
}

// ---- the registration portal through HTTP ----

export const PORTAL = '/smartid/register';

// The CSRF form of a page: its hidden inputs.
async function page(agent, url, status = 200) {
  const res = await agent.get(url);
  const body = await res.text();
  assert.equal(res.status, status, `GET ${url}: ${res.status} ${body.slice(0, 400)}`);
  return body;
}

// Log in with the eID card on the registration portal in browser `agent`:
// the intro's button, the eID page, the eID origin with the card (curl),
// and the way back.  Returns the questions page's URL.
export async function portalEidLogin(server, agent, card, { lang = 'nl' } = {}) {
  const { curl, eidReturnUrl } = await import('./eid.mjs');
  let res = await agent.get(`${server.base}${PORTAL}/login?lang=${lang}`);
  assert.equal(res.status, 303, `${PORTAL}/login: ${res.status}`);
  const keyPage = await page(agent, new URL(res.headers.get('location'), server.base).href);
  const link = keyPage.match(/<a class="button" href="([^"]+)">/);
  assert.ok(link, 'the eID page has a log-in link');
  const eid = await curl(link[1].replace(/&amp;/g, '&'), card.args);
  const ret = eidReturnUrl(server, eid);
  res = await agent.get(ret.href);
  assert.equal(res.status, 303, `/login/eid/return: ${res.status} ${await res.text()}`);
  res = await agent.get(new URL(res.headers.get('location'), server.base).href);
  assert.equal(res.status, 303, `${PORTAL}/return: ${res.status} ${await res.text()}`);
  return new URL(res.headers.get('location'), server.base).href;
}

// Answer the questions, type the code, confirm.  Returns the last page's
// answer { status, body }; `stopAt` ('code', 'confirm') ends earlier.
export async function portalSteps(server, agent, code, { email = 'jan@example.be', phone = '0470 12 34 56',
  stopAt = null, lang = 'nl' } = {}) {
  const q = await page(agent, `${server.base}${PORTAL}/questions?lang=${lang}`);
  let res = await agent.post(`${server.base}${PORTAL}/questions`, { ...hiddenInputs(q), email, phone, me: 'yes' });
  assert.equal(res.status, 303, `questions: ${res.status} ${await res.text()}`);
  if (stopAt === 'code') return { status: res.status };
  const c = await page(agent, `${server.base}${PORTAL}/code?lang=${lang}`);
  res = await agent.post(`${server.base}${PORTAL}/code`, { ...hiddenInputs(c), code });
  if (res.status !== 303) return { status: res.status, body: await res.text() };
  if (stopAt === 'confirm') return { status: res.status };
  const f = await page(agent, `${server.base}${PORTAL}/confirm?lang=${lang}`);
  res = await agent.post(`${server.base}${PORTAL}/confirm`, hiddenInputs(f));
  return { status: res.status, body: await res.text() };
}

// A whole registration for `person` ({given, family, rrn}) on a server
// started with { demo: true } (its PKI makes the card and the Smart-ID
// CA): the phone registers, the portal part runs over HTTP with a test
// card, and the phone passes the recall check.  opts: phone (an existing
// SmartIdPhone), deviceName, agent, email, phoneNumber; finish: false stops
// before the recall check (the registration confirmed).  Returns the phone
// (accountId, deviceId, document, certificates set).
export async function registerSmartId(server, person, opts = {}) {
  const { issueCard, tmp } = await import('./eid.mjs');
  const phone = opts.phone || await new SmartIdPhone(server).init();
  let r = await phone.register({ deviceName: opts.deviceName || 'Test phone' });
  assert.equal(r.status, 201, `POST /register: ${r.status} ${JSON.stringify(r.body)}`);
  const dir = tmp('sleutel-sid-');
  try {
    const card = await issueCard(server.pkiDir, dir, { given: person.given || person.given_name,
      family: person.family || person.family_name, rrn: person.rrn });
    const agent = opts.agent || new Agent();
    await portalEidLogin(server, agent, card);
    const end = await portalSteps(server, agent, phone.code, { email: opts.email, phone: opts.phoneNumber });
    assert.equal(end.status, 200, `confirm: ${end.status} ${end.body}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  r = await phone.status();
  assert.equal(r.body.status, 'confirmed', JSON.stringify(r.body));
  if (opts.finish === false) return phone;
  r = await phone.finish();
  assert.equal(r.status, 201, `POST /register/finish: ${r.status} ${JSON.stringify(r.body)}`);
  return phone;
}
