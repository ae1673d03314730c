// Revocation checking of eID cards: OCSP first, the CRL when OCSP cannot
// answer, fail-closed unless [eid] fail_open, and a cache of verdicts.
//
// A separate demo PKI (`sleutel pki init`) whose cards name, in their AIA,
// an OCSP URL on a small node "switchboard" this test runs, and in their
// CDP a node server that serves `sleutel pki crl` output. The switchboard
// forwards to the PKI's real responder (`sleutel pki ocsp`), or answers
// what a test wants: a response from an `openssl ocsp` responder (signed
// by the wrong key, or not knowing the card), a stale or replayed
// recording, tryLater, garbage, HTTP 500; or it is closed.
// sleuteld trusts that PKI through [eid] trust_anchors/intermediates/
// client_ca. The main server has [oidc] clock_skew = 1 (it is also the
// tolerance for revocation times) so that a recorded response whose
// nextUpdate passed two seconds ago counts as stale.
//
// The CRL server answers 503 ("no CRL") until the CRL tests, which use
// servers of their own: the validator caches a CRL until its nextUpdate.
// A port nobody listens on costs the whole revocation_timeout: OpenSSL's
// HTTP client retries a refused connection until then.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer, freePort, SLEUTEL } from './lib/harness.mjs';
import {
  eidRp, issueCard, opensslCard, eidCodeFlow, assertRefused, auditMax, auditSince, eidLoginRecord, httpServer,
  forward, daemon, pkiInit, trustPki, closedPort, run, tmp, sleep, rrn,
} from './lib/eid.mjs';

let dir;
let pki;
let swPort;
let crlPort;
let sw; // the OCSP switchboard
let crl; // the CRL server, while up
let crlMode = 'down'; // 'down' (503) or 'serve'
let responder; // sleutel pki ocsp
let responderPort;
const oddResponders = [];
let mode = 'forward';
let canned = null; // DER for 'canned' mode
let server;
let rp;
let stale; // { card, der, nextUpdate }
let replayed; // { card, der }

const OCSP_TYPE = { 'content-type': 'application/ocsp-response' };

async function switchboard(req, body, res) {
  if (mode === 'forward') return forward(`http://127.0.0.1:${responderPort}`, req, body, res);
  if (typeof mode === 'object' && mode.forward) return forward(mode.forward, req, body, res);
  if (typeof mode === 'object' && mode.hang) return mode.hang(req, body, res);
  if (mode === 'canned') { res.writeHead(200, OCSP_TYPE); return res.end(canned); }
  if (mode === 'tryLater') { res.writeHead(200, OCSP_TYPE); return res.end(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03])); }
  if (mode === 'garbage') { res.writeHead(200, OCSP_TYPE); return res.end(Buffer.from('this is no OCSP response')); }
  if (mode === 'http500') { res.writeHead(500); return res.end('down for maintenance'); }
  if (mode === 'hang') return new Promise(() => {}); // until sleuteld gives up (revocation_timeout)
  throw new Error(`unknown mode ${mode}`);
}

async function crlServer() {
  return httpServer(async (req, body, res) => {
    const m = req.url.match(/^\/crl\/(citizen|foreigner)\.crl$/);
    if (!m) { res.writeHead(404); return res.end(); }
    if (crlMode !== 'serve') { res.writeHead(503); return res.end('no CRL today'); }
    const out = path.join(dir, `${m[1]}-${Date.now()}.crl`);
    await run(SLEUTEL, ['pki', 'crl', pki, m[1], '--out', out]);
    res.writeHead(200, { 'content-type': 'application/pkix-crl' });
    res.end(readFileSync(out));
  }, { port: crlPort });
}

// An `openssl ocsp` responder for the Citizen CA that signs with `signer`
// (cert and key files) and knows `cards` as good (others: unknown). Its
// answers have nextUpdate = thisUpdate + 60 s, or none with nextUpdate false.
async function opensslResponder(signer, cards, { nextUpdate = true } = {}) {
  const idx = path.join(dir, `index-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(idx, cards.map((c) => `V\t491231235959Z\t\t${c.auth_serial}\tunknown\t/CN=${c.name}\n`).join(''));
  const port = await freePort();
  const d = await daemon('openssl', ['ocsp', '-index', idx, '-port', String(port), '-rsigner', signer.cert,
    '-rkey', signer.key, '-CA', path.join(pki, 'citizen-ca.pem'), ...(nextUpdate ? ['-nmin', '60'] : []), '-ignore_err'],
  port, { readyText: 'waiting for OCSP client connections' });
  oddResponders.push(d);
  return `http://127.0.0.1:${port}`;
}

// A DER OCSP response for `cert` recorded from a responder.
async function record(cert, url, { nonce }) {
  const out = path.join(dir, `resp-${Math.random().toString(36).slice(2)}.der`);
  await run('openssl', ['ocsp', '-issuer', path.join(pki, 'citizen-ca.pem'), '-cert', cert, '-url', url,
    nonce ? '-nonce' : '-no_nonce', '-respout', out, '-noverify']);
  return readFileSync(out);
}

before(async () => {
  dir = tmp();
  swPort = await freePort();
  do crlPort = await freePort(); while (crlPort === swPort);
  pki = await pkiInit(path.join(dir, 'pki'), {
    ocspUrl: `http://127.0.0.1:${swPort}/ocsp`, crlBase: `http://127.0.0.1:${crlPort}/crl`,
  });
  responderPort = await freePort();
  responder = await daemon(SLEUTEL, ['pki', 'ocsp', pki, '--port', String(responderPort)], responderPort);
  sw = await httpServer(switchboard, { port: swPort });
  crl = await crlServer();
  // A stale answer: recorded without a nonce from a responder whose
  // answers are valid for 1 second; stale once that second is over.
  const s = await issueCard(pki, dir, { name: 'Stan Stale' });
  const shortPort = await freePort();
  const short = await daemon(SLEUTEL, ['pki', 'ocsp', pki, '--port', String(shortPort), '--validity', '1'], shortPort);
  try {
    stale = { card: s, der: await record(s.certFile, `http://127.0.0.1:${shortPort}/ocsp`, { nonce: false }), at: Date.now() };
  } finally {
    await short.stop();
  }
  // A replayed answer: fresh and good, but for another request's nonce.
  const r = await issueCard(pki, dir, { name: 'Rita Replay' });
  replayed = { card: r, der: await record(r.certFile, `http://127.0.0.1:${responderPort}/ocsp`, { nonce: true }) };
  server = await startServer({
    config: { eid: { ...trustPki(pki), revocation_timeout: 1 }, oidc: { clock_skew: 1 } },
  });
  rp = await eidRp(server);
});

after(async () => {
  for (const d of oddResponders) await d.stop();
  if (responder) await responder.stop();
  if (sw) await sw.close();
  if (crl) await crl.close();
  if (server) await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function accepted(card, { srv = server, relying = rp } = {}) {
  const since = await auditMax(srv);
  const { claims, userinfo } = await eidCodeFlow(srv, relying, card.args);
  assert.deepEqual(claims.amr, ['eid']);
  assert.equal(userinfo.national_register_number, card.rrn);
  const rows = await auditSince(srv, since);
  assert.equal(eidLoginRecord(rows).result, 'ok');
  return rows;
}

async function refused(card, heading, result, detail, { srv = server, relying = rp } = {}) {
  const since = await auditMax(srv);
  await assertRefused(srv, relying, card.args, { heading, code: result });
  const rec = eidLoginRecord(await auditSince(srv, since));
  assert.equal(rec.result, result);
  assert.equal(rec.client_id, relying.c.client_id);
  if (detail) assert.match(rec.detail || '', detail);
  return rec;
}

const UNAVAILABLE = 'Your card cannot be checked right now';

test('OCSP good: the card is accepted after one OCSP request', async () => {
  mode = 'forward';
  const card = await issueCard(pki, dir, { name: 'Greet Good' });
  const before = sw.count('/ocsp');
  await accepted(card);
  assert.equal(sw.count('/ocsp') - before, 1, 'one OCSP request');
});

test('a good verdict is cached: the same card again makes no OCSP request, another card does', async () => {
  mode = 'forward';
  const card = await issueCard(pki, dir, { name: 'Cas Cached' });
  const n0 = sw.count('/ocsp');
  await accepted(card);
  assert.equal(sw.count('/ocsp') - n0, 1);
  // Even with the responder down, the cached verdict stands.
  await sw.close();
  try {
    await accepted(card);
    await accepted(card);
  } finally {
    sw = await httpServer(switchboard, { port: swPort });
  }
  const other = await issueCard(pki, dir, { name: 'Otto Other' });
  const n1 = sw.count('/ocsp');
  await accepted(other);
  assert.equal(sw.count('/ocsp') - n1, 1, 'another card is asked about');
});

// A cached verdict needs no fetch, so the eID origin answers it on its
// event loop (src/keys/eid/login.c): it does not queue for the outbound
// pool behind another card's hanging OCSP request.  One outbound worker:
// Hugo's check holds it until the test lets his OCSP request fail (a 500,
// only once Cas is answered: a fixed 1 s timeout raced a slow, loaded run),
// and Cas, whose verdict is cached, is answered while Hugo's check waits.
test('a cached card is answered at once, not after another card\'s hanging check on the only outbound worker', async () => {
  const s2 = await startServer({
    config: { eid: { ...trustPki(pki), revocation_timeout: 60 }, outbound: { threads: 1 } },
  });
  let held = () => {};
  let release = () => {};
  const asked = new Promise((r) => { held = r; });
  try {
    const rp2 = await eidRp(s2);
    const cas = await issueCard(pki, dir, { name: 'Cas Cached' });
    const hugo = await issueCard(pki, dir, { name: 'Hugo Hangs' });
    mode = 'forward';
    await accepted(cas, { srv: s2, relying: rp2 });
    mode = {
      hang: (req, body, res) => new Promise((done) => {
        release = () => { release = () => {}; res.writeHead(500); res.end('down for maintenance'); done(); };
        held();
      }),
    };
    let hugoAt = 0;
    const since = await auditMax(s2);
    const hung = assertRefused(s2, rp2, hugo.args, { heading: UNAVAILABLE, code: 'status_unavailable' })
      .then(() => { hugoAt = Date.now(); });
    await asked; // Hugo's check is on the worker, waiting for OCSP
    const t0 = Date.now();
    await accepted(cas, { srv: s2, relying: rp2 });
    const casAt = Date.now();
    release();
    await hung;
    process.stderr.write(`cached card answered in ${casAt - t0} ms; the hanging check ended ${hugoAt - casAt} ms later\n`);
    assert.ok(casAt < hugoAt, `the cached card (${casAt - t0} ms) was answered before the hanging check ended`);
    const order = (await auditSince(s2, since)).filter((r) => r.event === 'login').map((r) => r.result);
    assert.deepEqual(order, ['ok', 'status_unavailable'], 'Cas logged in while Hugo\'s check was still waiting');
  } finally {
    release();
    mode = 'forward';
    await s2.stop();
  }
});

test('[eid] cache_max bounds the verdicts: when full, the one expiring first makes room and its card is asked about again', async () => {
  mode = 'forward';
  const s2 = await startServer({ config: { eid: { ...trustPki(pki), cache_max: 2, revocation_timeout: 1 } } });
  try {
    const rp2 = await eidRp(s2);
    const cards = [];
    for (const name of ['Anna Eerst', 'Bert Tweede', 'Carl Derde']) cards.push(await issueCard(pki, dir, { name }));
    const asked = async (card) => {
      const n = sw.count('/ocsp');
      await accepted(card, { srv: s2, relying: rp2 });
      return sw.count('/ocsp') - n;
    };
    assert.equal(await asked(cards[0]), 1);
    assert.equal(await asked(cards[1]), 1);
    assert.equal(await asked(cards[0]), 0, 'a cached card is not asked about');
    assert.equal(await asked(cards[1]), 0, 'nor the other one');
    // The third card takes the place of the verdict expiring first: the
    // first card's (its OCSP answer is the oldest).
    assert.equal(await asked(cards[2]), 1);
    assert.equal(await asked(cards[2]), 0);
    assert.equal(await asked(cards[1]), 0, 'the second card is still cached');
    assert.equal(await asked(cards[0]), 1, 'the first card was dropped');
  } finally {
    await s2.stop();
  }
});

test('OCSP revoked: refused as revoked, and the verdict is cached', async () => {
  mode = 'forward';
  const card = await issueCard(pki, dir, { name: 'Rob Revoked' });
  await run(SLEUTEL, ['pki', 'revoke', pki, card.auth_serial]);
  await refused(card, 'Your eID card has been revoked', 'revoked', /OCSP/);
  const n = sw.count('/ocsp');
  await refused(card, 'Your eID card has been revoked', 'revoked');
  assert.equal(sw.count('/ocsp'), n, 'a revoked verdict is cached too');
});

test('OCSP unknown: a certificate of the CA that its responder does not know is refused as revoked', async () => {
  mode = 'forward';
  // Issued by the Citizen CA with the openssl CLI, not through the index.
  const card = await opensslCard(pki, dir, { ocsp: `http://127.0.0.1:${swPort}/ocsp` });
  await refused(card, 'Your eID card has been revoked', 'revoked', /unknown/);
});

// Both parts wait out [eid] ocsp_max_age = 10 s (its minimum) at the same
// time, each on a server of its own (their audit rows apart). The
// switchboard routes by card: OCSP requests
// naming `crlCard`'s serial get HTTP 500 (the CRL answers for it), the
// others go to `ocspFor`; `asked` counts each watched card's requests.
test('[eid] ocsp_max_age bounds what the verdict cache keeps', { concurrency: true }, async (t) => {
  const config = { eid: { ...trustPki(pki), ocsp_max_age: 10, revocation_timeout: 1 } };
  let s5;
  let s6;
  const asked = new Map();
  const serial = (card) => Buffer.from((card.auth_serial.length % 2 ? '0' : '') + card.auth_serial, 'hex');
  let crlCard = null;
  let ocspFor = `http://127.0.0.1:${responderPort}`;
  const watched = [];
  mode = {
    hang: (req, body, res) => {
      for (const c of watched)
        if (body.includes(serial(c))) asked.set(c.name, (asked.get(c.name) || 0) + 1);
      if (crlCard && body.includes(serial(crlCard))) { res.writeHead(500); return res.end('down'); }
      return forward(ocspFor, req, body, res);
    },
  };
  try {
    s5 = await startServer({ config });
    s6 = await startServer({ config });
    const [rp5, rp6] = await Promise.all([eidRp(s5), eidRp(s6)]);
    await Promise.all([
      t.test("an OCSP 'unknown' is not remembered for the card's lifetime: once the responder knows the card, it logs in", async () => {
        // The Citizen CA's own delegated responder (openssl ocsp), at first
        // without the card in its index, then with it; its answers carry no
        // nextUpdate, so they count for ocsp_max_age. "unknown" is not a
        // final status (RFC 6960 2.2): a card activated a minute ago may be
        // unknown for a while. The validator caches it as revoked until the
        // certificate's notAfter (years), so the card stays refused without
        // OCSP being asked again. (A revoked answer with reason
        // certificateHold, which can be lifted, is cached the same way.)
        const card = await issueCard(pki, dir, { name: 'Nina New' });
        watched.push(card);
        const signer = { cert: path.join(pki, 'citizen-ocsp.pem'), key: path.join(pki, 'citizen-ocsp.key') };
        const unknownUrl = await opensslResponder(signer, [], { nextUpdate: false });
        const goodUrl = await opensslResponder(signer, [card], { nextUpdate: false });
        ocspFor = unknownUrl;
        await refused(card, 'Your eID card has been revoked', 'revoked', /unknown/, { srv: s5, relying: rp5 });
        const at = Date.now();
        ocspFor = goodUrl;
        await sleep(at + 11000 - Date.now()); // past ocsp_max_age of the "unknown" answer
        const n = asked.get(card.name);
        await accepted(card, { srv: s5, relying: rp5 });
        assert.equal(asked.get(card.name) - n, 1, 'OCSP was asked again');
      }),
      t.test('a good verdict from a CRL (nextUpdate an hour ahead) is kept at most ocsp_max_age: a card revoked since is refused once OCSP answers', async () => {
        // review7: the verdict was kept until the CRL's nextUpdate ([pki]
        // ocsp_validity, an hour; a real CA's CRL: days), so a card revoked
        // after one login while OCSP was down stayed accepted until then.
        const card = await issueCard(pki, dir, { name: 'Cyril Cached' });
        watched.push(card);
        crlCard = card;
        crlMode = 'serve';
        const at = Date.now();
        await accepted(card, { srv: s6, relying: rp6 });
        assert.ok(asked.get(card.name) >= 1, 'OCSP was asked first (and failed)');
        await run(SLEUTEL, ['pki', 'revoke', pki, card.auth_serial]);
        crlCard = null; // OCSP answers for it again, from the real responder
        const n = asked.get(card.name);
        await accepted(card, { srv: s6, relying: rp6 }); // within ocsp_max_age: the cached verdict
        assert.equal(asked.get(card.name), n, 'the cached verdict is used within ocsp_max_age');
        await sleep(at + 11000 - Date.now());
        await refused(card, 'Your eID card has been revoked', 'revoked', /OCSP/, { srv: s6, relying: rp6 });
        assert.equal(asked.get(card.name) - n, 1, 'OCSP was asked again');
      }),
    ]);
  } finally {
    mode = 'forward';
    crlMode = 'down';
    await Promise.all([s5?.stop(), s6?.stop()]);
  }
});

// ---- OCSP cannot answer, no CRL yet (the CRL server is down) ----

test('OCSP answer signed by the Foreigner CA responder (not delegated by the Citizen CA): status unavailable', async () => {
  const card = await issueCard(pki, dir, { name: 'Wout Wrongsigner' });
  mode = { forward: await opensslResponder({ cert: path.join(pki, 'foreigner-ocsp.pem'), key: path.join(pki, 'foreigner-ocsp.key') }, [card]) };
  try {
    await refused(card, UNAVAILABLE, 'status_unavailable', /signed by no authority/);
  } finally { mode = 'forward'; }
});

test('OCSP answer signed by an unrelated self-signed key: status unavailable', async () => {
  const card = await issueCard(pki, dir, { name: 'Ursula Unrelated' });
  const base = path.join(dir, 'unrelated');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes',
    '-subj', '/C=BE/O=sleutel demo/CN=Citizen CA OCSP', '-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '30',
    '-addext', 'extendedKeyUsage=OCSPSigning']);
  mode = { forward: await opensslResponder({ cert: `${base}.pem`, key: `${base}.key` }, [card]) };
  try {
    await refused(card, UNAVAILABLE, 'status_unavailable', /signed by no authority/);
  } finally { mode = 'forward'; }
});

test('a stale OCSP answer (nextUpdate passed) is not used: status unavailable', async () => {
  // The recording is valid for 1 s from thisUpdate; wait until that and
  // the 1 s of tolerated skew are over.
  const wait = stale.at + 3200 - Date.now();
  if (wait > 0) await sleep(wait);
  mode = 'canned';
  canned = stale.der;
  try {
    await refused(stale.card, UNAVAILABLE, 'status_unavailable', /stale/);
  } finally { mode = 'forward'; }
});

test('a replayed OCSP answer (another nonce) is not used: status unavailable', async () => {
  mode = 'canned';
  canned = replayed.der;
  try {
    await refused(replayed.card, UNAVAILABLE, 'status_unavailable', /nonce/);
  } finally { mode = 'forward'; }
  // The same card with the real responder is fine: nothing was cached.
  await accepted(replayed.card);
});

test('OCSP tryLater, garbage, HTTP 500: status unavailable', async () => {
  const card = await issueCard(pki, dir, { name: 'Tom Trylater' });
  try {
    for (const [m, detail] of [['tryLater', /status 3/], ['garbage', /malformed|no answer/], ['http500', /no answer/]]) {
      mode = m;
      await refused(card, UNAVAILABLE, 'status_unavailable', detail);
    }
  } finally { mode = 'forward'; }
});

test('OCSP responder and CRL server both down (ports closed): status unavailable, nothing cached', async () => {
  const card = await issueCard(pki, dir, { name: 'Dirk Down' });
  await sw.close();
  await crl.close();
  try {
    await refused(card, UNAVAILABLE, 'status_unavailable', new RegExp(`no answer from http://127\\.0\\.0\\.1:${swPort}/ocsp`));
  } finally {
    sw = await httpServer(switchboard, { port: swPort });
    crl = await crlServer();
  }
  await accepted(card);
});

// ---- the CRL as fallback ----

test('OCSP responder down: the CRL answers (good card accepted, revoked card refused)', async () => {
  // A server of its own: an empty CRL cache, the default clock_skew.
  const s3 = await startServer({ config: { eid: { ...trustPki(pki), revocation_timeout: 1 } } });
  let swClosed = false;
  try {
    const rp3 = await eidRp(s3);
    const good = await issueCard(pki, dir, { name: 'Carla Crl' });
    const bad = await issueCard(pki, dir, { name: 'Ruud Crlrevoked' });
    await run(SLEUTEL, ['pki', 'revoke', pki, bad.auth_serial]);
    crlMode = 'serve';
    await sw.close();
    swClosed = true;
    const n0 = crl.count('/crl/citizen.crl');
    const rows = await accepted(good, { srv: s3, relying: rp3 });
    assert.equal(crl.count('/crl/citizen.crl') - n0, 1, 'the CRL was fetched once');
    assert.ok(rows.every((r) => r.event !== 'eid.fail_open'));
    await refused(bad, 'Your eID card has been revoked', 'revoked', /CRL/, { srv: s3, relying: rp3 });
    assert.equal(crl.count('/crl/citizen.crl') - n0, 1, 'the CRL is cached until its nextUpdate');
    // A foreigner card: its own CA's CRL.
    const f0 = crl.count('/crl/foreigner.crl');
    const foreigner = await issueCard(pki, dir, { name: 'Fay Foreign', foreigner: true, rrn: rrn('900201', 457, false) });
    await accepted(foreigner, { srv: s3, relying: rp3 });
    assert.equal(crl.count('/crl/foreigner.crl') - f0, 1);
  } finally {
    // the server first: nothing below may leave it running
    try { await s3.stop(); } finally { if (swClosed) sw = await httpServer(switchboard, { port: swPort }); }
  }
});

test('a CRL published while OCSP timed out is not judged "from the future" (clock_skew 0, revocation_timeout 2)', async () => {
  // clock_skew 0 and revocation_timeout 2 are both in range. The OCSP
  // responder is down, so the CRL is fetched about 2 s after the login
  // started, and `sleutel pki crl` makes it then, with lastUpdate = that
  // second. The CRL is fresh and must be used; the validator compares
  // lastUpdate with the time the request came in (sl_now() in eid_login)
  // and refuses it as "stale". Any revocation_timeout > clock_skew does it.
  const s4 = await startServer({ config: { eid: { ...trustPki(pki), revocation_timeout: 2 }, oidc: { clock_skew: 0 } } });
  let n0 = -1;
  try {
    const rp4 = await eidRp(s4);
    crlMode = 'serve';
    const card = await issueCard(pki, dir, { name: 'Lea Late' });
    await sw.close();
    n0 = crl.count('/crl/citizen.crl');
    await accepted(card, { srv: s4, relying: rp4 });
  } finally {
    // the server first: nothing below may leave it running
    try { await s4.stop(); } finally { if (n0 >= 0) sw = await httpServer(switchboard, { port: swPort }); }
  }
  assert.equal(crl.count('/crl/citizen.crl') - n0, 1, 'the CRL was fetched');
});

// ---- fail_open ----

test('[eid] fail_open = true: with no revocation status the card is accepted and an eid.fail_open record written', async () => {
  const port = await closedPort();
  const s2 = await startServer({
    config: { eid: { ...trustPki(pki), ocsp_url: `http://127.0.0.1:${port}/ocsp`, crl: 'false', fail_open: 'true', revocation_timeout: 1 } },
  });
  try {
    const rp2 = await eidRp(s2);
    const card = await issueCard(pki, dir, { name: 'Fien Failopen' });
    for (let i = 0; i < 2; i++) {
      const since = await auditMax(s2);
      const { claims } = await eidCodeFlow(s2, rp2, card.args);
      assert.deepEqual(claims.amr, ['eid']);
      const rows = await auditSince(s2, since);
      const fo = rows.filter((r) => r.event === 'eid.fail_open');
      assert.equal(fo.length, 1, `attempt ${i + 1}: one eid.fail_open record (not cached): ${JSON.stringify(rows)}`);
      assert.equal(fo[0].result, 'accepted');
      assert.equal(fo[0].key, 'eid');
      assert.equal(fo[0].client_id, rp2.c.client_id);
      assert.match(fo[0].detail || '', new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.equal(eidLoginRecord(rows).result, 'ok');
    }
  } finally {
    await s2.stop();
  }
});
