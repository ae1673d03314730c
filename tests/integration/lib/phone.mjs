// phone.mjs — a phone for the device-API tests, written from
// docs/device-api.md and PROTOCOL.md with node's crypto and `jose` only, so
// it cross-checks the C implementation (sealing, confirmation bytes,
// proofs) instead of reusing it.
//
// The confirmation key here is a plain ECDSA P-256 key pair: the camouflage
// lives on the phone and changes nothing on the wire.  A "wrong 5-digit
// code" is a signature by another key, which is exactly what a wrong code
// produces.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { startServer, Agent, hiddenInputs, answerConsent } from './harness.mjs';
import { registerRp, authRequest, hasSession, userinfoStatus } from './flows.mjs';

export const b64u = (buf) => Buffer.from(buf).toString('base64url');
const CALL_TIMEOUT_MS = 60000;

// The phones of this process by enrolment id, so the proofing helpers
// (bank.login, proofWithCard) can type the code of the final page into
// the phone that enrols, as the person does.
export const phonesByEnrolment = new Map();

// The proofing code the final page shows ("XXXX-XXXX"), or null.
export function proofCodeOf(html) {
  const m = /id="proof-code">([^<]+)</.exec(html || '');
  return m ? m[1] : null;
}

// After a proofing page: type its code into the phone of `enrollmentId`
// (when this process has it).  Returns the device API's answer or null.
export async function redeemFromPage(enrollmentId, html) {
  const code = proofCodeOf(html);
  const phone = phonesByEnrolment.get(enrollmentId);
  if (!code || !phone) return null;
  return phone.call('POST', '/enroll/proof', { code });
}

// seal(server key, aad, plaintext), PROTOCOL.md "Sealing": ephemeral ECDH
// P-256, HKDF-SHA256 (salt = ephemeral point || kid, info "sleutel seal
// v1"), AES-256-GCM; blob = 1 || E (65) || nonce (12) || ct || tag (16).
export function seal(serverPubB64, kid, aad, plaintext) {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const epub = ecdh.getPublicKey(null, 'uncompressed');
  const shared = ecdh.computeSecret(Buffer.from(serverPubB64, 'base64url'));
  const salt = Buffer.concat([epub, Buffer.from(kid, 'utf8')]);
  const key = Buffer.from(crypto.hkdfSync('sha256', shared, salt, Buffer.from('sleutel seal v1'), 32));
  const nonce = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return b64u(Buffer.concat([Buffer.from([1]), epub, nonce, ct, c.getAuthTag()]));
}

// PROTOCOL.md "What a confirmation signs": each field as a 2-byte
// big-endian length and its bytes; the display text as its SHA-256.
export function confirmBytes(f) {
  return lengthPrefixed(['sleutel-confirm-v1', f.request_id, f.rp_id, f.rp_display_name, f.action,
    crypto.createHash('sha256').update(f.display_text, 'utf8').digest(), f.verification_code, f.nonce,
    f.decision, f.device_id]);
}

// Each field (a string as UTF-8, or a Buffer) as a 2-byte big-endian
// length and its bytes: how the signed bytes of confirmations (and of
// Smart-ID requests) are built.
export function lengthPrefixed(fields) {
  const parts = [];
  for (const v of fields) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

// A webhook SMS gateway: collects {"to","text","id"} POSTs and their
// Authorization headers. `status` (a number or a function of the count)
// decides each answer.
export async function smsGateway({ status = 200 } = {}) {
  const messages = [];
  const attempts = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const msg = JSON.parse(body);
      attempts.push({ msg, auth: req.headers.authorization, type: req.headers['content-type'] });
      const s = typeof status === 'function' ? status(attempts.length) : status;
      if (s >= 200 && s < 300) messages.push(msg);
      res.writeHead(s).end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${srv.address().port}/sms`;
  return {
    url, messages, attempts,
    // The last code sent to `to`.
    code(to) {
      const m = [...messages].reverse().find((x) => x.to === to);
      return m && m.text.match(/(\d{5})$/)[1];
    },
    // Its open connections too (a sender's keep-alive): close() alone
    // waits for them.
    close: () => new Promise((r) => {
      srv.closeAllConnections();
      srv.close(r);
    }),
  };
}

// The sleutel:// link of the QR code a login page shows (data-qr-token).
export function qrLink(html) {
  const m = html.match(/data-qr-token="([^"]+)"/);
  if (!m) throw new Error('the page has no QR code');
  return m[1].replace(/&amp;/g, '&');
}

// A QR token's slot ("<request id>.<slot>.<MAC>").
export function qrSlot(linkOrToken) {
  const t = linkOrToken.startsWith('sleutel:') ? new URL(linkOrToken).searchParams.get('t') : linkOrToken;
  return Number(t.split('.')[1]);
}

export class Phone {
  constructor(server) {
    this.server = server;
    this.base = `${server.base}/device/v1`;
  }

  async init() {
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
    this.transportKey = privateKey;
    const jwk = await jose.exportJWK(publicKey);
    this.jwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
    this.jkt = await jose.calculateJwkThumbprint(this.jwk, 'sha256');
    this.transportNode = crypto.createPrivateKey({ key: await jose.exportJWK(privateKey), format: 'jwk' });
    // As JWKs from the generator: a generated KeyObject's export as a JWK
    // can deadlock Node 20 (keygen.test.mjs).
    const conf = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1',
      privateKeyEncoding: { format: 'jwk' }, publicKeyEncoding: { format: 'jwk' } });
    this.confirmKey = crypto.createPrivateKey({ key: conf.privateKey, format: 'jwk' });
    this.Q = conf.publicKey;
    return this;
  }

  get qPoint() {
    return Buffer.concat([Buffer.from([4]), Buffer.from(this.Q.x, 'base64url'), Buffer.from(this.Q.y, 'base64url')]);
  }

  // A proof for `method` `path`; `over` changes claims or the header.
  async proof(method, path, over = {}) {
    const claims = {
      htm: method, htu: `${this.server.issuer}/device/v1${path}`,
      iat: Math.floor(Date.now() / 1000), jti: b64u(crypto.randomBytes(16)), ...(over.claims || {}),
    };
    for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
    const header = { typ: 'dpop+jwt', alg: 'ES256', kid: this.jkt, ...(over.header || {}) };
    return new jose.SignJWT(claims).setProtectedHeader(header).sign(over.key || this.transportKey);
  }

  // Call the device API; answers { status, body, headers }.  Within
  // CALL_TIMEOUT_MS (the longest long-poll, [app] poll_timeout 25 s by
  // default, and more), or an error naming the call: a server that does
  // not answer fails the test in a minute, not the file at its timeout.
  async call(method, path, body, { proof, over, noProof = false } = {}) {
    const headers = { ...(this.extraHeaders || {}) }; // e.g. a proxy's X-Forwarded-For
    if (!noProof) headers.dpop = proof || await this.proof(method, path, over);
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(`${this.base}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    } catch (e) {
      if (e.name !== 'TimeoutError') throw e;
      throw new Error(`device API ${method} ${path}: no answer within ${CALL_TIMEOUT_MS / 1000} s`);
    }
  }

  async config() { return (await this.call('GET', '/config', undefined, { noProof: true })).body; }

  // Scan a login page's QR code: its sleutel:// link or the bare token.
  async scan(linkOrToken) {
    const token = linkOrToken.startsWith('sleutel:') ? new URL(linkOrToken).searchParams.get('t') : linkOrToken;
    return this.call('POST', '/scan', { token });
  }

  async start(phone, extra = {}) {
    const conf = await this.config();
    this.sealKey = conf.seal_keys[0];
    const r = await this.call('POST', '/enroll/start', {
      phone, terms_version: conf.terms_version, language: 'nl', device_name: 'Test phone',
      transport_key: this.jwk, ...extra,
    });
    if (r.status === 201) this.adopt(r.body.enrollment_id);
    return r;
  }

  // This phone is the one enrolling as `id`.
  adopt(id) {
    this.enrollmentId = id;
    phonesByEnrolment.set(id, this);
  }

  // POST /enroll/proof with the code the final proofing page showed.
  async proofCode(code) {
    return this.call('POST', '/enroll/proof', { code });
  }

  async finish() {
    return this.call('POST', '/enroll/finish', {
      seal_kid: this.sealKey.kid,
      confirmation_key: seal(this.sealKey.pub, this.sealKey.kid, this.enrollmentId, this.qPoint),
    });
  }

  // Sign and seal a confirmation for request `rq` (as GET /requests gave it).
  confirmation(rq, { decision = 'approve', code, key, fields = {} } = {}) {
    const f = {
      request_id: rq.id, rp_id: rq.rp_id, rp_display_name: rq.rp_name, action: rq.action,
      display_text: rq.display_text, verification_code: code, nonce: rq.nonce, decision,
      device_id: this.deviceId, ...fields,
    };
    const signer = key || (decision === 'approve' ? this.confirmKey : this.transportNode);
    const sig = crypto.sign('sha256', confirmBytes(f), { key: signer, dsaEncoding: 'der' });
    return {
      decision, verification_code: code, seal_kid: this.sealKey.kid,
      sealed_signature: seal(this.sealKey.pub, this.sealKey.kid, rq.id, sig),
    };
  }

  async answer(rq, opts) {
    return this.call('POST', `/requests/${rq.id}`, this.confirmation(rq, opts));
  }
}

// Enrol a phone end to end: start, the SMS code from `gateway`, test
// proofing, finish.  Returns the phone with deviceId and accountId.
export async function enrolPhone(server, gateway, number, person) {
  const phone = await new Phone(server).init();
  let r = await phone.start(number);
  if (r.status !== 201) throw new Error(`start: ${r.status} ${JSON.stringify(r.body)}`);
  phone.number = r.body.phone;
  r = await phone.call('POST', '/enroll/sms', { code: gateway.code(phone.number) });
  if (r.status !== 200) throw new Error(`sms: ${r.status} ${JSON.stringify(r.body)}`);
  r = await fetch(`${phone.base}/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: phone.enrollmentId, ...person }),
  });
  if (r.status !== 200) throw new Error(`proofed: ${r.status}`);
  r = await phone.finish();
  if (r.status !== 201) throw new Error(`finish: ${r.status} ${JSON.stringify(r.body)}`);
  phone.deviceId = r.body.device_id;
  phone.accountId = r.body.account_id;
  return phone;
}

// A server with the webhook SMS gateway (limits per number and address
// raised for tests), an RP, and one phone enrolled for `person`.
export async function startAppWorld(person, { number = '0470 12 34 56', app = {}, config = {} } = {}) {
  const gw = await smsGateway();
  const server = await startServer({
    config: { ...config, sms: { driver: 'webhook', webhook_url: gw.url },
      app: { rate_phone: 1000, rate_ip: 1000, ...app } },
  });
  const rp = await registerRp(server);
  const phone = await enrolPhone(server, gw, number, person);
  return {
    gw, server, rp, phone,
    async stop() {
      await server.stop();
      await gw.close();
    },
  };
}

// A browser starts a portal login with the app for `number` at RP `rp`
// (its authorization request, the app key's page, the number typed).
// Returns { agent, req, aq }: the OIDC request and the app request ids.
export async function startAppLogin(server, rp, number) {
  const agent = new Agent();
  const { url } = await authRequest(rp.config);
  const first = await agent.get(String(url));
  const req = new URL(first.headers.get('location'), server.base).searchParams.get('req');
  const form = await agent.get(`${server.base}/key/app?req=${req}&lang=en`);
  const res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(await form.text()), phone: number });
  if (res.status !== 303) throw new Error(`the phone form answered ${res.status}`);
  return { agent, req, aq: new URL(res.headers.get('location'), server.base).searchParams.get('aq') };
}

// A whole app login at `rp` (offline_access) in a new browser: the number
// typed, `phone` approves with the browser's code, the RP redeems its
// code.  Returns { agent, tokens }: the browser (its SSO session) and the
// RP's tokens, a refresh token among them.
export async function appLoginTokens(server, rp, phone, number) {
  const agent = new Agent();
  const req = await authRequest(rp.config, { scope: 'openid offline_access' });
  let res = await agent.get(String(req.url));
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${reqId}&lang=en`);
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(await res.text()), phone: number });
  assert.equal(res.status, 303, 'the phone form');
  const wait = new URL(res.headers.get('location'), server.base);
  const code = (await (await agent.get(wait.href)).text()).match(/<p class="vcode" id="vcode"[^>]*>(\d{4})<\/p>/)[1];
  const pending = await phone.call('GET', '/requests');
  const rq = pending.body.requests.find((r) => r.codes.includes(code));
  assert.ok(rq, 'the phone has the login request');
  assert.equal((await phone.answer(rq, { code })).status, 200, 'the phone approves');
  res = await agent.get(wait.href);
  assert.equal(res.status, 303, 'the browser goes on');
  const back = await answerConsent(server, agent, res.headers.get('location'));
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  assert.ok(tokens.refresh_token, 'a refresh token (offline_access)');
  return { agent, tokens };
}

// Is what appLoginTokens() gave still good?  [refresh, access token at
// /userinfo, SSO session]: true for each that still works.
export async function appLoginAlive(server, rp, { agent, tokens }) {
  const refresh = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token).then(() => true, (e) => {
    assert.equal(e.error, 'invalid_grant', `the refresh failed otherwise: ${e.message}`);
    return false;
  });
  return [refresh, await userinfoStatus(server, tokens.access_token) === 200, await hasSession(rp.config, agent)];
}

