// faults-upstream-eid.test.mjs — upstreams that hang or answer garbage: OCSP and CRL
// (issue 12 item 4, docs/faults.md "Upstreams").  Each outbound call of
// sleuteld meets lib/faulty.mjs's faultyUpstream in every mode: hanging,
// answering byte by byte, garbage, a reset, a truncated or a huge body,
// the wrong content type.  Asserted: the configured timeout holds
// (measured), the person or the client gets a clear answer, sleuteld does
// not crash (stop() fails on a sanitizer report), and logins by other
// people go on meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { registerRp } from './lib/flows.mjs';
import { faultyUpstream, MODES, otherLogin } from './lib/faulty.mjs';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { eidRp, issueCard, assertRefused, auditMax, auditSince, eidLoginRecord, pkiInit, trustPki, tmp, curl, po } from './lib/eid.mjs';
import { cardKey, makeToken, toWebeid, challenge, postToken } from './lib/webeid.mjs';

// The eID refusal when no revocation status can be had (403, its own page).
const UNAVAILABLE = 'Your card cannot be checked right now';

test('OCSP responder and CRL server (eID): every fault ends within revocation_timeout each, a clear refusal; logins and the eID listener go on with threads = 2', async () => {
  const up = await faultyUpstream();
  const dir = tmp();
  // Cards whose AIA and CRL distribution point both name the faulty server.
  const pki = await pkiInit(path.join(dir, 'pki'), { ocspUrl: `${up.url}/ocsp`, crlBase: `${up.url}/crl` });
  const server = await startServer({ config: { eid: { ...trustPki(pki), revocation_timeout: 1 }, server: { threads: 2 } } });
  try {
    const eid = await eidRp(server);
    const rp = await registerRp(server);
    const card = await issueCard(pki, dir, { name: 'Fien Fault' });
    for (const mode of MODES) {
      up.mode = mode;
      const hits = up.hits;
      const since = await auditMax(server);
      const t0 = Date.now();
      await assertRefused(server, eid, card.args, { heading: UNAVAILABLE, code: 'status_unavailable' });
      const ms = Date.now() - t0;
      process.stderr.write(`ocsp+crl ${mode}: refused in ${ms} ms, ${up.hits - hits} fetches\n`);
      assert.equal(eidLoginRecord(await auditSince(server, since)).result, 'status_unavailable');
      assert.ok(up.hits - hits >= 2, `${mode}: OCSP, then the CRL were asked`);
      // OCSP and the CRL: one second each at most, plus the flow itself.
      assert.ok(ms < 4500, `${mode}: refused after ${ms} ms (revocation_timeout 1 s)`);
    }
    // More card checks hanging than event-loop threads (2 per listener):
    // they run on the outbound pool while their requests wait suspended,
    // so another person logs in on the portal, and the eID listener
    // itself answers another request at once, before any of them is done.
    up.mode = 'hang';
    let firstAnswer = 0;
    const hung = Array.from({ length: 3 }, async () => {
      await assertRefused(server, eid, card.args, { heading: UNAVAILABLE, code: 'status_unavailable' });
      firstAnswer ||= Date.now();
    });
    await new Promise((r) => setTimeout(r, 300));
    const during = await otherLogin(server, rp);
    const t0 = Date.now();
    const page = await curl(`${server.eidBase}/eid/login?lang=en`);
    const eidMs = Date.now() - t0;
    const doneAt = Date.now();
    process.stderr.write(`login during 3 hung card checks ${during} ms, the eID listener answered in ${eidMs} ms\n`);
    assert.equal(page.status, 404, 'the eID listener answered (no such login request)');
    assert.ok(eidMs < 1000, `the eID listener answered in ${eidMs} ms`);
    await Promise.all(hung);
    assert.ok(doneAt < firstAnswer, `the login (${during} ms) was done before the hung card checks were answered`);
  } finally {
    await server.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Web eID: the token's certificate check (OCSP, then the CRL) runs on the
// outbound pool while the POST waits suspended.  One outbound worker and
// four posts against a hanging responder: they queue for the worker, the
// event loops (threads = 2) answer everyone else at once, and each post
// ends by its deadline (3 x revocation_timeout + 2 s, src/keys/eid/check.c)
// with a JSON refusal: 503 when the check ran out of time on the worker,
// 504 when the post's deadline came first.
test('Web eID behind a hanging OCSP responder: token posts wait on the outbound worker, others are answered at once, each post ends by its deadline with a 503/504 JSON error', async () => {
  const up = await faultyUpstream({ mode: 'hang' });
  const dir = tmp();
  const pki = await pkiInit(path.join(dir, 'pki'), { ocspUrl: `${up.url}/ocsp`, crlBase: `${up.url}/crl` });
  const DEADLINE = (3 * 1 + 2) * 1000;
  let server;
  try {
    server = await startServer({
      config: { eid: { ...trustPki(pki), revocation_timeout: 1 }, server: { threads: 2 }, outbound: { threads: 1 } },
    });
    const eid = await eidRp(server);
    const rp = await registerRp(server);
    const card = await cardKey(await issueCard(pki, dir, { name: 'Wout Webeid' }), dir);
    const flows = [];
    for (let i = 0; i < 4; i++) {
      const flow = await toWebeid(server, eid.config);
      const ch = await challenge(server, flow);
      assert.equal(ch.status, 200, JSON.stringify(ch.json));
      flows.push({ flow, token: makeToken(card, { origin: server.base, nonce: ch.json.challengeNonce }), nonce: ch.json.challengeNonce });
    }
    const since = await auditMax(server);
    const t0 = Date.now();
    let firstAnswer = 0;
    const posts = flows.map(async ({ flow, token, nonce }) => {
      const res = await postToken(server, flow, token, nonce);
      firstAnswer ||= Date.now();
      return { ...res, ms: Date.now() - t0 };
    });
    await new Promise((r) => setTimeout(r, 300));
    const during = await otherLogin(server, rp);
    const t1 = Date.now();
    const js = await fetch(`${server.base}/static/webeid.js`);
    assert.equal(js.status, 200);
    assert.match(await js.text(), /challenge/, 'the Web eID page script');
    const jsMs = Date.now() - t1;
    const doneAt = Date.now();
    const answers = await Promise.all(posts);
    process.stderr.write(`web eid: login during 4 waiting token posts ${during} ms, the page script in ${jsMs} ms;` +
      ` posts ${answers.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}\n`);
    assert.ok(doneAt < firstAnswer, `the login (${during} ms) and the script were answered before any token post`);
    assert.ok(during < 3000 && jsMs < 1000, `answered at once: login ${during} ms, script ${jsMs} ms`);
    for (const a of answers) {
      assert.ok(a.status === 503 || a.status === 504, `a clear refusal: ${a.status} ${JSON.stringify(a.json)}`);
      assert.equal(a.json.error, 'status_unavailable');
      assert.equal(a.json.message, po('nl', UNAVAILABLE));
      assert.equal(a.json.redirect, undefined);
      assert.ok(a.ms < DEADLINE + 1500, `answered by the deadline: ${a.ms} ms`);
    }
    // one worker, 2 s a check: the later posts meet their deadline first
    const late = answers.filter((a) => a.status === 504);
    assert.ok(late.length >= 1, 'a post that found no worker in time is answered 504 at its deadline');
    for (const a of late) assert.ok(a.ms >= DEADLINE - 500, `504 at the deadline, not before: ${a.ms} ms`);
    const refusals = (await auditSince(server, since)).filter((r) => r.result === 'status_unavailable');
    assert.equal(refusals.length, 4, 'each post is in the audit trail as status_unavailable');
  } finally {
    await server?.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
