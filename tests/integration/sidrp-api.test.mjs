// sidrp-api.test.mjs — the RP-facing side of the Smart-ID RP API
// (src/keys/sidrp: parse, problem, rp_auth, create, v3, v2, status), as an
// RP registered with `sleutel rp add` sees it, for a person registered with
// the test phone.  The person's answers (OK results) are the device's and
// the RP client's tests (sidrp-device*, sidrp-rp*).
//
// Asserted: every creation endpoint's answer shape (v3 device-link,
// notification authentication and signing with its vc, certificate choice,
// signature/certificate at once, v2); the notification authentication's
// code kept is the rpChallenge's (the published rule) and the secret is
// sealed at rest; one 400 per field, as an RFC 9457 problem naming the
// member; 401 (name, address), 403 (unknown UUID, disabled RP, missing
// permission), 404 (unknown person, bad and unknown document, too high a
// certificate level: NO_SUITABLE_ACCOUNT_FOUND; v2 471), 429 at
// rp_max_running, idempotent creation (same body: same session and secret;
// another nonce: a new one; after the window: a new one), status long-poll
// (RUNNING after timeoutMs, TIMEOUT at the session's lifetime, 404 after
// rp_result_keep, bad timeoutMs 400, unknown 404, v2 shape), linked
// signing without its certificate choice 400, v1 480; nothing of it with
// [smartid] rp_api = false.  Review 10: a session is read only by its
// active RP, and for an RP without an allow list only from the address that
// made it (X-Forwarded-For from the trusted 127.0.0.1 plays another
// address); v2 needs the `v2` permission; creation POSTs need
// Content-Type application/json (415).  Review 9: signature/certificate
// is no silent oracle for document numbers: unknown ones are counted per
// RP and per RP and national number, and past either count every lookup
// (the right number too) is 429; each lookup is audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { rrn } from './lib/eid.mjs';
import { registerSmartId } from './lib/smartid.mjs';

const ALICE = { given: 'Alice', family: 'Peeters', rrn: rrn('850730', 101) };
const NOBODY = rrn('900101', 203); // a valid number nobody registered
const LIFETIME = 10; // [smartid] rp_session_lifetime
const KEEP = 10; // [smartid] rp_result_keep
const IDEMPOTENCY = 2; // [smartid] rp_idempotency
const MAX_RUNNING = 2; // [smartid] rp_max_running
const CERT_MISSES = 15; // [smartid] rp_cert_misses
const CERT_MISSES_PERSON = 10; // [smartid] rp_cert_misses_person
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WITH_V2 = 'auth,sign,cert,v2'; // v2 is never a default permission

// The published examples (SK's RP API 3.2).
const RP_CHALLENGE = 'GYS+yoah6emAcVDNIajwSs6UB/M95XrDxMzXBUkwQJ9YFDipXXzGpPc7raWcuc2+TEoRc7WvIZ/7dU/iRXenYg==';
const DIGEST = 'VC3jDipMw9TgSQrIm3oYuz2t/GciD3Aw2WTpnaGpo+1sdkkRiCnbRz08uqlgU6q1W2/VP6PDxSQlOy5AIxT5Xw==';
const b64json = (v) => Buffer.from(JSON.stringify(v)).toString('base64');
const INTERACTIONS = b64json([{ type: 'displayTextAndPIN', displayText60: 'Log in to Test RP' }]);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server;
let alice;
let etsi;

const sql = (q) => dbSql(server, q);

before(async () => {
  server = await startServer({
    demo: true,
    config: {
      smartid: {
        key_bits: 1024, max_pending: 20, certificate_level: 'ADVANCED', rp_session_lifetime: LIFETIME,
        rp_result_keep: KEEP, rp_idempotency: IDEMPOTENCY, rp_max_running: MAX_RUNNING,
        rp_cert_misses: CERT_MISSES, rp_cert_misses_person: CERT_MISSES_PERSON,
      },
      // a caller "from another address": X-Forwarded-For from this (trusted) host
      server: { trusted_proxies: '127.0.0.1' },
    },
  });
  alice = await registerSmartId(server, ALICE);
  etsi = `PNOBE-${ALICE.rrn}`;
});

after(async () => { await server?.stop(); });

// A relying party of its own (rp_max_running counts per RP).
async function newRp({ name = 'Test RP', allowIp, permissions } = {}) {
  const args = ['rp', 'add', '--name', name, '--json'];
  if (allowIp) args.push('--allow-ip', allowIp);
  if (permissions) args.push('--permissions', permissions);
  return JSON.parse(await server.cli(...args));
}

async function call(method, url, body, headers = {}) {
  const res = await fetch(`${server.base}/smart-id/${url}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, ctype: res.headers.get('content-type'), body: json, text };
}
const post = (url, body, headers) => call('POST', url, body, headers);
const get = (url, headers) => call('GET', url, undefined, headers);
const from = (ip) => ({ 'X-Forwarded-For': ip });

const who = (rp) => ({ relyingPartyUUID: rp.uuid, relyingPartyName: rp.name });
const authBody = (rp, over = {}) => ({
  ...who(rp), certificateLevel: 'ADVANCED', signatureProtocol: 'ACSP_V2',
  signatureProtocolParameters: { rpChallenge: RP_CHALLENGE, signatureAlgorithm: 'rsassa-pss',
    signatureAlgorithmParameters: { hashAlgorithm: 'SHA-512' } },
  interactions: INTERACTIONS, vcType: 'numeric4', ...over,
});
const signBody = (rp, over = {}) => ({
  ...who(rp), certificateLevel: 'ADVANCED', signatureProtocol: 'RAW_DIGEST_SIGNATURE',
  signatureProtocolParameters: { digest: DIGEST, signatureAlgorithm: 'rsassa-pss',
    signatureAlgorithmParameters: { hashAlgorithm: 'SHA-512' } },
  interactions: INTERACTIONS, ...over,
});
const certBody = (rp, over = {}) => ({ ...who(rp), certificateLevel: 'ADVANCED', ...over });
const v2Body = (rp, over = {}) => ({
  ...who(rp), certificateLevel: 'ADVANCED', hash: crypto.createHash('sha256').update('Hello World!').digest('base64'),
  hashType: 'SHA256', allowedInteractionsOrder: [{ type: 'displayTextAndPIN', displayText60: 'Log in' }], ...over,
});

function assertDeviceLink(r) {
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body).sort(), ['deviceLinkBase', 'sessionID', 'sessionSecret', 'sessionToken']);
  assert.match(r.body.sessionID, UUID_V4);
  assert.match(r.body.sessionToken, /^[A-Za-z0-9]{24}$/);
  assert.equal(Buffer.from(r.body.sessionSecret, 'base64').length, 32);
  assert.equal(Buffer.from(r.body.sessionSecret, 'base64').toString('base64'), r.body.sessionSecret);
  assert.equal(r.body.deviceLinkBase, `${server.base}/smart-id/device-link`);
}

function assertProblem(r, status, title) {
  assert.equal(r.status, status, r.text);
  assert.match(r.ctype, /^application\/json/);
  assert.equal(r.body.type, 'about:blank');
  assert.equal(r.body.title, title);
  assert.equal(r.body.status, status);
  assert.equal(typeof r.body.detail, 'string');
}

function assertBadParam(r, param) {
  assertProblem(r, 400, 'Bad Request');
  assert.equal(r.body.detail, 'Invalid request parameters found');
  assert.equal(r.body.errors.length, 1, r.text);
  assert.equal(r.body.errors[0].paramName, param, r.text);
  assert.equal(r.body.errors[0].pointer, `/${param.replaceAll('.', '/')}`);
  assert.ok(r.body.errors[0].detail.length > 0);
}

test('every v3 creation endpoint answers its shape', async () => {
  const doc = alice.document;
  for (const p of ['authentication/device-link/anonymous', `authentication/device-link/etsi/${etsi}`,
    `authentication/device-link/document/${doc}`]) {
    assertDeviceLink(await post(`v3/${p}`, authBody(await newRp())));
  }
  for (const p of [`signature/device-link/etsi/${etsi}`, `signature/device-link/document/${doc}`]) {
    assertDeviceLink(await post(`v3/${p}`, signBody(await newRp())));
  }
  assertDeviceLink(await post('v3/signature/certificate-choice/device-link/anonymous', certBody(await newRp())));

  for (const p of [`authentication/notification/etsi/${etsi}`, `authentication/notification/document/${doc}`]) {
    const r = await post(`v3/${p}`, authBody(await newRp()));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body), ['sessionID']);
    assert.match(r.body.sessionID, UUID_V4);
  }
  for (const p of [`signature/notification/etsi/${etsi}`, `signature/notification/document/${doc}`]) {
    const r = await post(`v3/${p}`, signBody(await newRp(), { nonce: 'd8XkbEnA0WsE0PvBZZoxGnPI4ml9qk' }));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body).sort(), ['sessionID', 'vc']);
    assert.equal(r.body.vc.type, 'numeric4');
    assert.match(r.body.vc.value, /^\d{4}$/);
    assert.equal(sql(`SELECT vc FROM sid_sessions WHERE id = '${r.body.sessionID}'`), r.body.vc.value);
  }
  const cc = await post(`v3/signature/certificate-choice/notification/etsi/${etsi}`, certBody(await newRp()));
  assert.equal(cc.status, 200, cc.text);
  assert.deepEqual(Object.keys(cc.body), ['sessionID']);
});

test('a session keeps the rpChallenge\'s code and its secret only sealed', async () => {
  const r = await post(`v3/authentication/notification/etsi/${etsi}`, authBody(await newRp()));
  assert.equal(r.status, 200, r.text);
  // the published rule and vector: SHA-256 of the decoded rpChallenge -> 7180
  assert.equal(sql(`SELECT vc FROM sid_sessions WHERE id = '${r.body.sessionID}'`), '7180');
  assert.notEqual(sql(`SELECT request_id FROM sid_sessions WHERE id = '${r.body.sessionID}'`), '');

  const d = await post('v3/authentication/device-link/anonymous', authBody(await newRp()));
  assertDeviceLink(d);
  const row = sql(`SELECT secret || '|' || token || '|' || coalesce(server_random, '') FROM sid_sessions
    WHERE id = '${d.body.sessionID}'`).split('|');
  const hex = Buffer.from(d.body.sessionSecret, 'base64').toString('hex');
  assert.ok(row[0].length > 44);
  assert.ok(!row[0].includes(d.body.sessionSecret) && !row[0].includes(hex));
  assert.equal(row[1], d.body.sessionToken);
  assert.ok(Buffer.from(row[2], 'base64').length >= 18, 'an ACSP_V2 session has a serverRandom');
});

test('signature/certificate answers the sign certificate at once', async () => {
  const r = await post(`v3/signature/certificate/${alice.document}`, certBody(await newRp()));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'OK');
  assert.equal(r.body.cert.certificateLevel, 'ADVANCED');
  const der = new crypto.X509Certificate(alice.certificates.sign).raw.toString('base64');
  assert.equal(r.body.cert.value, der);
  const lvl = await post(`v3/signature/certificate/${alice.document}`, certBody(await newRp(),
    { certificateLevel: 'QSCD' }));
  assertProblem(lvl, 404, 'Not Found');
  assert.equal(lvl.body.errors[0].code, 'NO_SUITABLE_ACCOUNT_FOUND');
});

test('review9: guessing document numbers on signature/certificate is limited and audited', async () => {
  const SUFFIX = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  const rp = await newRp({ name: 'Probe RP' });
  const mine = alice.document.slice(-6, -2);
  const guess = (nrn, i) => `v3/signature/certificate/PNOBE-${nrn}-${SUFFIX[i % 32]}${SUFFIX[(i >> 5) % 32]}22-Q`;
  assert.equal((await post(`v3/signature/certificate/${alice.document}`, certBody(rp))).status, 200);
  const statuses = [];
  for (let i = 0; statuses.length < 40; i++)
    if (guess(ALICE.rrn, i).slice(-6, -2) !== mine) statuses.push((await post(guess(ALICE.rrn, i), certBody(rp))).status);
  assert.deepEqual(statuses.slice(0, CERT_MISSES_PERSON), Array(CERT_MISSES_PERSON).fill(404));
  assert.deepEqual(new Set(statuses.slice(CERT_MISSES_PERSON)), new Set([429]), 'past the count: 429');
  // past the count the right number is refused too: the answers tell nothing
  assertProblem(await post(`v3/signature/certificate/${alice.document}`, certBody(rp)), 429, 'Too Many Requests');
  // the count is this RP's: another RP still gets the certificate
  assert.equal((await post(`v3/signature/certificate/${alice.document}`, certBody(await newRp()))).status, 200);
  // per RP over every person: CERT_MISSES in all
  const other = [];
  for (let i = 0; i < CERT_MISSES; i++) other.push((await post(guess(NOBODY, i), certBody(rp))).status);
  assert.deepEqual(other.filter((s) => s === 404).length, CERT_MISSES - CERT_MISSES_PERSON);
  assert.equal(other.at(-1), 429);
  const rows = sql(`SELECT result, count(*) FROM audit WHERE client_id = '${rp.uuid}' AND event = 'sidrp.certificate'`
    + ' GROUP BY result ORDER BY result');
  assert.equal(rows, `limited|${40 - CERT_MISSES_PERSON + 1 + CERT_MISSES_PERSON}\nok|1\nunknown|${CERT_MISSES}`);
});

test('v2 creation answers {sessionID}', async () => {
  for (const [p, body] of [[`authentication/etsi/${etsi}`, v2Body], [`signature/document/${alice.document}`, v2Body],
    [`certificatechoice/etsi/${etsi}`, certBody]]) {
    const r = await post(`v2/${p}`, body(await newRp({ permissions: WITH_V2 })));
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    assert.deepEqual(Object.keys(r.body), ['sessionID']);
    assert.match(r.body.sessionID, UUID_V4);
    // the person's request was made at once, for the session
    const q = sql(`SELECT q.action || ' ' || q.status FROM sid_sessions s JOIN sid_requests q ON q.id = s.request_id
      WHERE s.id = '${r.body.sessionID}' AND q.link_id = s.id`);
    assert.equal(q, `${p.startsWith('auth') ? 'login' : p.startsWith('sign') ? 'sign' : 'cert'} pending`);
  }
  // v2's code is the hash's (the published 7712 vector)
  const r = await post(`v2/authentication/etsi/${etsi}`, v2Body(await newRp({ permissions: WITH_V2 })));
  assert.equal(sql(`SELECT vc FROM sid_sessions WHERE id = '${r.body.sessionID}'`), '7712');
});

test('one 400 per field, naming it', async () => {
  const rp = await newRp();
  const A = `v3/authentication/notification/etsi/${etsi}`;
  const D = 'v3/authentication/device-link/anonymous';
  const S = `v3/signature/notification/etsi/${etsi}`;
  const params = (over) => ({ rpChallenge: RP_CHALLENGE, signatureAlgorithm: 'rsassa-pss',
    signatureAlgorithmParameters: { hashAlgorithm: 'SHA-512' }, ...over });
  const cases = [
    [A, authBody(rp, { relyingPartyUUID: 'not-a-uuid' }), 'relyingPartyUUID'],
    [A, authBody(rp, { relyingPartyUUID: undefined }), 'relyingPartyUUID'],
    [A, authBody(rp, { relyingPartyName: '' }), 'relyingPartyName'],
    [A, authBody(rp, { relyingPartyName: 'x'.repeat(129) }), 'relyingPartyName'],
    [A, authBody(rp, { certificateLevel: 'QSCD' }), 'certificateLevel'],
    [A, authBody(rp, { signatureProtocol: 'RAW_DIGEST_SIGNATURE' }), 'signatureProtocol'],
    [A, authBody(rp, { signatureProtocolParameters: 'x' }), 'signatureProtocolParameters'],
    [A, authBody(rp, { signatureProtocolParameters: params({ rpChallenge: Buffer.alloc(31).toString('base64') }) }),
      'signatureProtocolParameters.rpChallenge'],
    [A, authBody(rp, { signatureProtocolParameters: params({ rpChallenge: 'AAAA AAAA' }) }),
      'signatureProtocolParameters.rpChallenge'],
    [A, authBody(rp, { signatureProtocolParameters: params({ signatureAlgorithm: 'ecdsa' }) }),
      'signatureProtocolParameters.signatureAlgorithm'],
    [A, authBody(rp, { signatureProtocolParameters: params({ signatureAlgorithmParameters: undefined }) }),
      'signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm'],
    [A, authBody(rp, { signatureProtocolParameters: params({ signatureAlgorithm: 'sha256WithRSAEncryption' }) }),
      'signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm'],
    [A, authBody(rp, { interactions: b64json([]) }), 'interactions'],
    [A, authBody(rp, { interactions: b64json([{ type: 'displayTextAndPIN', displayText60: 'x'.repeat(61) }]) }),
      'interactions'],
    [D, authBody(rp, { interactions: b64json([{ type: 'confirmationMessageAndVerificationCodeChoice',
      displayText200: 'Pay' }]) }), 'interactions'],
    [A, authBody(rp, { vcType: undefined }), 'vcType'],
    [D, authBody(rp, { initialCallbackUrl: 'http://rp.example.com/cb' }), 'initialCallbackUrl'],
    [A, authBody(rp, { capabilities: ['x'.repeat(65)] }), 'capabilities'],
    [A, authBody(rp, { requestProperties: { shareMdClientIpAddress: 'yes' } }),
      'requestProperties.shareMdClientIpAddress'],
    [S, signBody(rp, { nonce: 'n'.repeat(31) }), 'nonce'],
    [S, signBody(rp, { signatureProtocolParameters: { digest: Buffer.alloc(32).toString('base64'),
      signatureAlgorithm: 'rsassa-pss', signatureAlgorithmParameters: { hashAlgorithm: 'SHA-512' } } }),
    'signatureProtocolParameters.digest'],
    [`v3/signature/notification/linked/${alice.document}`, signBody(rp, { linkedSessionID: 'x' }),
      'linkedSessionID'],
    [`v2/authentication/etsi/${etsi}`, v2Body(rp, { hashType: 'SHA3-256' }), 'hashType'],
    [`v2/authentication/etsi/${etsi}`, v2Body(rp, { hash: 'AAAA' }), 'hash'],
    [`v2/authentication/etsi/${etsi}`, v2Body(rp, { allowedInteractionsOrder: INTERACTIONS }),
      'allowedInteractionsOrder'],
  ];
  for (const [url, body, param] of cases) {
    await assertBadParam(await post(url, body), param);
  }
  // not an object, not JSON: 400 without a member
  for (const body of ['[]', '{"a":', '']) {
    const r = await post(A, body);
    assertProblem(r, 400, 'Bad Request');
    assert.deepEqual(r.body.errors, []);
  }
});

test('401: the RP\'s name or address; 403: unknown, disabled, not permitted', async () => {
  const rp = await newRp({ name: 'Bank Één' });
  const A = 'v3/authentication/device-link/anonymous';
  assertProblem(await post(A, authBody({ ...rp, name: 'Bank Een' })), 401, 'Unauthorized');
  assertProblem(await post(A, authBody({ ...rp, name: 'Bank Één ' })), 401, 'Unauthorized');
  // ASCII letters fold; the rest must match
  assert.equal((await post(A, authBody({ ...rp, name: 'BANK Één' }))).status, 200);

  const far = await newRp({ allowIp: '10.0.0.1,2001:db8::/32' });
  assertProblem(await post(A, authBody(far)), 401, 'Unauthorized');
  const near = await newRp({ allowIp: '10.0.0.1,127.0.0.0/8' });
  assert.equal((await post(A, authBody(near))).status, 200);

  assertProblem(await post(A, authBody({ uuid: crypto.randomUUID(), name: 'Test RP' })), 403, 'Forbidden');
  const off = await newRp();
  await server.cli('rp', 'disable', off.uuid);
  assertProblem(await post(A, authBody(off)), 403, 'Forbidden');
  await server.cli('rp', 'enable', off.uuid);
  assert.equal((await post(A, authBody(off))).status, 200);

  const authOnly = await newRp({ permissions: 'auth' });
  assertProblem(await post(`v3/signature/notification/etsi/${etsi}`, signBody(authOnly)), 403, 'Forbidden');
  assertProblem(await post(`v3/signature/certificate/${alice.document}`, certBody(authOnly)), 403, 'Forbidden');
  assertProblem(await post('v3/signature/certificate-choice/device-link/anonymous', certBody(authOnly)), 403,
    'Forbidden');
  const refused = sql(`SELECT count(*) FROM audit WHERE event = 'sidrp.refused'`);
  assert.ok(Number(refused) >= 6, `audited refusals: ${refused}`);
});

test('404: unknown person, bad or unknown document, too high a level', async () => {
  const rp = await newRp({ permissions: WITH_V2 });
  const plain = (r) => {
    assertProblem(r, 404, 'Not Found');
    assert.equal(r.body.errors, undefined);
  };
  plain(await post(`v3/authentication/notification/etsi/PNOBE-${NOBODY}`, authBody(rp)));
  plain(await post('v3/authentication/notification/etsi/PNOBE-85073003329', authBody(rp))); // check digits
  plain(await post('v3/authentication/notification/etsi/PNOEE-30001010004', authBody(rp)));
  plain(await post(`v3/authentication/notification/document/PNOBE-${ALICE.rrn}`, authBody(rp)));
  plain(await post(`v3/authentication/notification/document/PNOBE-${NOBODY}-AB2C-Q`, authBody(rp)));
  plain(await post(`v3/signature/certificate/PNOBE-${NOBODY}-AB2C-Q`, certBody(rp)));
  plain(await post('v3/signature/certificate-choice/device-link/etsi/' + etsi, certBody(rp)));
  plain(await post(`v2/authentication/etsi/PNOBE-${NOBODY}`, v2Body(rp)));
  // [smartid] certificate_level = ADVANCED: QUALIFIED (the default) finds no suitable account
  const lvl = await post(`v3/authentication/notification/etsi/${etsi}`, authBody(rp, { certificateLevel: undefined }));
  assertProblem(lvl, 404, 'Not Found');
  assert.equal(lvl.body.errors[0].code, 'NO_SUITABLE_ACCOUNT_FOUND');
  const v2 = await post(`v2/signature/etsi/${etsi}`, v2Body(rp, { certificateLevel: 'QUALIFIED' }));
  assertProblem(v2, 471, 'No Suitable Account');
});

test('idempotent creation and rp_max_running', async () => {
  const rp = await newRp();
  const D = 'v3/signature/device-link/anonymous';
  const url = `v3/signature/device-link/etsi/${etsi}`;
  const first = await post(url, signBody(rp, { nonce: 'one' }));
  assertDeviceLink(first);
  const again = await post(url, signBody(rp, { nonce: 'one' }));
  assert.deepEqual(again.body, first.body, 'the same body answers the same session, secret and token');
  const other = await post(url, signBody(rp, { nonce: 'two' }));
  assertDeviceLink(other);
  assert.notEqual(other.body.sessionID, first.body.sessionID);
  assert.notEqual(other.body.sessionSecret, first.body.sessionSecret);
  // two RUNNING: a third is refused, a repeat of either still answers
  assertProblem(await post(url, signBody(rp, { nonce: 'three' })), 429, 'Too Many Requests');
  assert.equal((await post(D, certBody(rp))).status, 404); // not an endpoint: 404 before the bound
  assert.deepEqual((await post(url, signBody(rp, { nonce: 'one' }))).body, first.body);

  // after the window the same body makes a new session
  const rp2 = await newRp();
  const a = await post(url, signBody(rp2));
  await sleep(IDEMPOTENCY * 1000 + 1100);
  const b = await post(url, signBody(rp2));
  assertDeviceLink(b);
  assert.notEqual(b.body.sessionID, a.body.sessionID);
});

test('status: RUNNING after timeoutMs, bad timeoutMs, unknown, v2 shape', async () => {
  const rp = await newRp({ permissions: WITH_V2 });
  const r = await post('v3/authentication/device-link/anonymous', authBody(rp));
  const t0 = Date.now();
  const s = await get(`v3/session/${r.body.sessionID}?timeoutMs=1000`);
  assert.ok(Date.now() - t0 >= 1000, `answered after ${Date.now() - t0} ms`);
  assert.equal(s.status, 200);
  assert.deepEqual(s.body, { state: 'RUNNING' });
  for (const bad of ['999', '120001', 'abc', '1000.5', '-1000', '']) {
    assertBadParam(await get(`v3/session/${r.body.sessionID}?timeoutMs=${bad}`), 'timeoutMs');
  }
  assertProblem(await get(`v3/session/${crypto.randomUUID()}`), 404, 'Not Found');
  assertProblem(await get('v3/session/not-a-session'), 404, 'Not Found');
  const v2 = await post(`v2/authentication/etsi/${etsi}`, v2Body(rp));
  assert.deepEqual((await get(`v2/session/${v2.body.sessionID}?timeoutMs=1000`)).body, { state: 'RUNNING' });
  // only the RP's addresses may read it: an RP limited to another address
  const far = await newRp({ allowIp: '127.0.0.1' });
  const mine = await post('v3/authentication/device-link/anonymous', authBody(far));
  assert.equal(mine.status, 200);
  sql(`UPDATE sid_rps SET allow_ip = '10.0.0.1' WHERE uuid = '${far.uuid}'`);
  assertProblem(await get(`v3/session/${mine.body.sessionID}?timeoutMs=1000`), 401, 'Unauthorized');
});

test('status: TIMEOUT at the lifetime, then 404 after rp_result_keep', async () => {
  const rp = await newRp({ permissions: WITH_V2 });
  const r = await post('v3/authentication/device-link/anonymous', authBody(rp));
  const t0 = Date.now();
  const s = await get(`v3/session/${r.body.sessionID}?timeoutMs=120000`);
  const took = Date.now() - t0;
  assert.equal(s.status, 200, s.text);
  assert.deepEqual(s.body, { state: 'COMPLETE', result: { endResult: 'TIMEOUT' } });
  assert.ok(took >= (LIFETIME - 1) * 1000 && took < (LIFETIME + 3) * 1000, `long-poll took ${took} ms`);
  const v2 = await get(`v2/session/${r.body.sessionID}`);
  assert.deepEqual(v2.body, { state: 'COMPLETE', result: { endResult: 'TIMEOUT' } });
  // Kept KEEP seconds from the TIMEOUT (the lifetime's end, as late as the
  // long-poll's wake-up above).  The status reads that deadline from the
  // store on every call: moved to the past (instead of sleeping KEEP
  // seconds, ~11 s of every make check phase), the session is gone.
  const id = r.body.sessionID;
  const kept = Number(sql(`SELECT keep_until - expires FROM sid_sessions WHERE id = '${id}'`));
  assert.ok(kept >= KEEP && kept < KEEP + 3, `kept ${kept} s past the lifetime`);
  sql(`UPDATE sid_sessions SET keep_until = ${Math.floor(Date.now() / 1000) - 1} WHERE id = '${id}'`);
  assertProblem(await get(`v3/session/${id}?timeoutMs=1000`), 404, 'Not Found');
});

test('linked signing needs this RP\'s completed certificate choice', async () => {
  const rp = await newRp();
  const cc = await post('v3/signature/certificate-choice/device-link/anonymous', certBody(rp));
  assertDeviceLink(cc);
  // RUNNING, not COMPLETE OK with this document
  assertBadParam(await post(`v3/signature/notification/linked/${alice.document}`,
    signBody(rp, { linkedSessionID: cc.body.sessionID })), 'linkedSessionID');
  assertBadParam(await post(`v3/signature/notification/linked/${alice.document}`,
    signBody(rp, { linkedSessionID: crypto.randomUUID() })), 'linkedSessionID');
});

test('one pending request per RP and person: an RP\'s new session supersedes its older one (TIMEOUT), others keep theirs', async () => {
  const [spammer, other] = [await newRp({ name: 'Spammer' }), await newRp({ name: 'Other Bank' })];
  const pendingOf = (rp) => Number(sql(`SELECT count(*) FROM sid_requests WHERE client_id = '${rp.uuid}'`
    + ` AND status = 'pending'`));
  const theirs = await post(`v3/authentication/notification/etsi/${etsi}`, authBody(other));
  assert.equal(theirs.status, 200, theirs.text);
  const first = await post(`v3/authentication/notification/etsi/${etsi}`, authBody(spammer, { nonce: 'one' }));
  assert.equal(first.status, 200, first.text);
  for (const nonce of ['two', 'three', 'four', 'five']) {
    const r = await post(`v3/signature/notification/etsi/${etsi}`, signBody(spammer, { nonce }));
    assert.equal(r.status, 200, r.text);
  }
  assert.equal(pendingOf(spammer), 1, 'the spammer holds one place, never all of them');
  assert.equal(pendingOf(other), 1);
  const st = await get(`v3/session/${first.body.sessionID}?timeoutMs=1000`);
  assert.equal(st.body.state, 'COMPLETE', st.text);
  assert.equal(st.body.result.endResult, 'TIMEOUT');
  assert.equal((await get(`v3/session/${theirs.body.sessionID}?timeoutMs=1000`)).body.state, 'RUNNING');
});

test('an account that is not active: v2 472 ("view the Smart-ID app"), v3 404', async () => {
  const rp = await newRp({ name: 'Blocked Test', permissions: 'auth,sign,cert,v2' });
  sql(`UPDATE sid_accounts SET status = 'blocked' WHERE person_id = (SELECT id FROM persons WHERE rrn = '${ALICE.rrn}')`);
  try {
    const v2 = await post(`v2/authentication/etsi/${etsi}`, v2Body(rp));
    assertProblem(v2, 472, 'Person Should View App');
    assertProblem(await post(`v3/authentication/notification/etsi/${etsi}`, authBody(rp)), 404, 'Not Found');
  } finally {
    sql(`UPDATE sid_accounts SET status = 'active' WHERE person_id = (SELECT id FROM persons WHERE rrn = '${ALICE.rrn}')`);
  }
  assert.equal((await post(`v2/authentication/etsi/${etsi}`, v2Body(rp, { nonce: 'again' }))).status, 200);
});

test('v1 is too old: 480', async () => {
  const r = await post('v1/authentication/pno/EE/30001010004', { relyingPartyUUID: crypto.randomUUID() });
  assertProblem(r, 480, 'Client Too Old');
  assertProblem(await get('v1/session/x'), 480, 'Client Too Old');
});

test('[smartid] rp_api = false: no RP API at all', async () => {
  // on (the other server): the device's link claim is there, and wants a device proof
  assert.notEqual((await fetch(`${server.base}/device/v1/smartid/link`, { method: 'POST', body: '{}' })).status, 404);
  const off = await startServer({ config: { smartid: { key_bits: 1024, rp_api: 'false' } } });
  try {
    for (const p of ['v3/authentication/device-link/anonymous', `v3/session/${crypto.randomUUID()}`,
      'v2/authentication/etsi/PNOBE-85073003328', 'v1/x']) {
      const r = await fetch(`${off.base}/smart-id/${p}`, { method: p.includes('session') ? 'GET' : 'POST',
        body: p.includes('session') ? undefined : '{}' });
      assert.equal(r.status, 404, p);
    }
    assert.equal((await fetch(`${off.base}/device/v1/smartid/link`, { method: 'POST', body: '{}' })).status, 404);
  } finally {
    await off.stop();
  }
});

// A sessionID is no secret (it reaches the RP's frontend): only the
// session's RP, active, reads it; an RP without an allow list only from the
// address that made the session.  (review 10, finding 3)
test('session reads: a disabled RP 403; an RP with --allow-ip any only from the session\'s address', async () => {
  const rp = await newRp({ permissions: WITH_V2 });
  const s = await post('v3/authentication/device-link/anonymous', authBody(rp));
  assert.equal(s.status, 200, s.text);
  await server.cli('rp', 'disable', rp.uuid);
  assertProblem(await get(`v3/session/${s.body.sessionID}?timeoutMs=1000`), 403, 'Forbidden');
  await server.cli('rp', 'enable', rp.uuid);
  assert.deepEqual((await get(`v3/session/${s.body.sessionID}?timeoutMs=1000`)).body, { state: 'RUNNING' });

  const open = await newRp({ allowIp: 'any' });
  assert.equal(sql(`SELECT count(*) FROM sid_rps WHERE uuid = '${open.uuid}' AND allow_ip IS NULL`), '1');
  const mine = await post('v3/authentication/device-link/anonymous', authBody(open), from('198.51.100.9'));
  assert.equal(mine.status, 200, mine.text);
  const url = `v3/session/${mine.body.sessionID}?timeoutMs=1000`;
  assert.deepEqual((await get(url, from('198.51.100.9'))).body, { state: 'RUNNING' });
  assertProblem(await get(url, from('203.0.113.5')), 401, 'Unauthorized');
  assertProblem(await get(url), 401, 'Unauthorized'); // this host, not the creator
  assertProblem(await get(`v2/session/${mine.body.sessionID}`, from('198.51.100.9')), 403, 'Forbidden'); // no v2
  const refusals = sql(`SELECT result FROM audit WHERE event = 'sidrp.refused' AND detail = '${mine.body.sessionID}'
    ORDER BY seq`);
  assert.deepEqual(refusals.split('\n'), ['rp_address', 'rp_address', 'rp_permission']);
});

// v2 by opt-in (review 10, finding 6): without `v2` every v2 endpoint is
// 403, creation and reads alike; v3 is unchanged.
test('an RP without the v2 permission: 403 on v2 creation and v2 reads', async () => {
  const rp = await newRp();
  assertProblem(await post(`v2/authentication/etsi/${etsi}`, v2Body(rp)), 403, 'Forbidden');
  assertProblem(await post(`v2/signature/document/${alice.document}`, v2Body(rp)), 403, 'Forbidden');
  assertProblem(await post(`v2/certificatechoice/etsi/${etsi}`, certBody(rp)), 403, 'Forbidden');
  const s = await post('v3/authentication/device-link/anonymous', authBody(rp));
  assert.equal(s.status, 200, s.text);
  assertProblem(await get(`v2/session/${s.body.sessionID}?timeoutMs=1000`), 403, 'Forbidden');
  assert.deepEqual((await get(`v3/session/${s.body.sessionID}?timeoutMs=1000`)).body, { state: 'RUNNING' });
});

// Only JSON (review 10, finding 7): a browser's cross-site form (text/plain,
// urlencoded, multipart) cannot start a session without a CORS preflight.
test('creation POSTs need Content-Type application/json (any case, parameters allowed): else 415', async () => {
  const rp = await newRp({ permissions: WITH_V2 });
  const A = 'v3/authentication/device-link/anonymous';
  for (const ct of [null, 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/jsonp', 'application/json-patch+json', 'application']) {
    const res = await fetch(`${server.base}/smart-id/${A}`, { method: 'POST',
      headers: ct === null ? {} : { 'content-type': ct },
      body: ct === null ? Buffer.from(JSON.stringify(authBody(rp))) : JSON.stringify(authBody(rp)) });
    const r = { status: res.status, ctype: res.headers.get('content-type'), text: await res.text() };
    r.body = JSON.parse(r.text);
    assertProblem(r, 415, 'Unsupported Media Type');
    assert.match(r.body.detail, /application\/json/);
  }
  assertProblem(await post(`v2/authentication/etsi/${etsi}`, JSON.stringify(v2Body(rp)),
    { 'content-type': 'text/plain' }), 415, 'Unsupported Media Type');
  // (a new RP each: rp_max_running is 2 per RP)
  for (const ct of ['application/json', 'Application/JSON; charset=utf-8', ' application/json ;charset=UTF-8']) {
    const r = await post(A, authBody(await newRp()), { 'content-type': ct });
    assert.equal(r.status, 200, `${ct}: ${r.text}`);
  }
  assert.equal((await post(`v2/authentication/etsi/${etsi}`, v2Body(rp),
    { 'content-type': 'application/json; charset=utf-8' })).status, 200);
});
