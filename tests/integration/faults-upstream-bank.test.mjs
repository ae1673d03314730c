// faults-upstream-bank.test.mjs — a bank (identity proofing, upstream OIDC)
// that hangs or answers garbage (issue 12 item 4, docs/faults.md
// "Upstreams").  The calls to the bank run on the outbound pool
// (src/outbound), never on an event loop: with `[server] threads = 2` and
// more hanging bank calls than that, another person's login still
// completes at once; each hanging call is cut at `[proofing] bank_timeout`
// with a readable page (504); one more than `[outbound] threads + queue`
// is a 503 with Retry-After at once; sleuteld does not crash (stop()
// fails on a sanitizer report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { registerRp } from './lib/flows.mjs';
import { faultyUpstream, otherLogin } from './lib/faulty.mjs';
import { makeEnrollment, getEnrollment, Browser } from './lib/bank.mjs';
import { hiddenInputs } from './lib/harness.mjs';

const BANK_TIMEOUT = 2; // seconds
const OB_THREADS = 3;
const OB_QUEUE = 2;

// The page before the bank, then its button: the POST whose discovery
// call goes to the bank.  { status, text, ms, location, browser, retryAfter }.
async function leave(server, e, bank = 'faulty') {
  const browser = new Browser();
  const page = await browser.request(`${server.issuer}/proofing/bank/${bank}?t=${encodeURIComponent(e.ticket)}&lang=en`);
  assert.equal(page.status, 200);
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)[1];
  const t0 = Date.now();
  const res = await browser.request(new URL(action, server.issuer).href, { method: 'POST', form: hiddenInputs(html) });
  return { status: res.status, text: await res.text(), ms: Date.now() - t0, location: res.headers.get('location'),
    retryAfter: res.headers.get('retry-after'), browser };
}

// 'ok' answers: a discovery document whose endpoints are the same server.
function docs(issuer) {
  return (req) => {
    if (req.url.startsWith('/.well-known/openid-configuration')) {
      return { status: 200, type: 'application/json', body: JSON.stringify({ issuer,
        authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks` }) };
    }
    return { status: 404, type: 'application/json', body: '{}' };
  };
}

test('bank: garbage is 502 at once, a hanging bank is cut at bank_timeout (504), a full queue is 503; logins go on with threads = 2', async () => {
  let issuer = '';
  const up = await faultyUpstream({ ok: (req) => docs(issuer)(req) });
  issuer = up.url;
  let server;
  try {
    server = await startServer({ config: {
      server: { threads: 2 },
      outbound: { threads: OB_THREADS, queue: OB_QUEUE },
      proofing: { bank_timeout: BANK_TIMEOUT },
      'bank.faulty': { name: 'Faulty Bank', issuer, client_id: 'c', client_secret: 's' },
      // Never answers its discovery (so never cached): for the shutdown.
      'bank.hung': { name: 'Hung Bank', issuer: `${issuer}/hung`, client_id: 'c', client_secret: 's' },
    } });
    const rp = await registerRp(server);
    const base = await otherLogin(server, rp);

    // Discovery answered with garbage of every kind: the bank cannot be
    // reached (502), at once, and the ticket stays usable.
    for (const mode of ['garbage', 'reset', 'truncated', 'huge', 'wrongtype']) {
      up.mode = mode;
      const e = await makeEnrollment(server);
      const r = await leave(server, e);
      process.stderr.write(`bank discovery ${mode}: ${r.status} in ${r.ms} ms\n`);
      assert.equal(r.status, 502, `${mode}: ${r.status}`);
      assert.match(r.text, /bank_unreachable/);
      assert.ok(r.ms < 1500, `${mode}: ${r.ms} ms`);
      assert.equal((await getEnrollment(server, e.id)).status, 'proofing');
    }

    // More hanging bank calls than event-loop threads (2), enough to
    // fill the pool (OB_THREADS running, OB_QUEUE queued): one more is
    // refused at once, and another person's login is not slowed.
    up.mode = 'hang';
    const n = OB_THREADS + OB_QUEUE;
    const hung = [];
    for (let i = 0; i < n; i++) {
      hung.push(leave(server, await makeEnrollment(server)));
      await new Promise((r) => setTimeout(r, 30));
    }
    await new Promise((r) => setTimeout(r, 200));
    const full = await leave(server, await makeEnrollment(server));
    process.stderr.write(`bank queue full: ${full.status} in ${full.ms} ms, Retry-After ${full.retryAfter}\n`);
    assert.equal(full.status, 503);
    assert.ok(full.ms < 1000, `queue full answered in ${full.ms} ms`);
    assert.match(full.retryAfter || '', /^\d+$/);
    assert.match(full.text, /busy/);
    const during = await otherLogin(server, rp);
    const doneAt = Date.now();
    process.stderr.write(`login alone ${base} ms, during ${n} hung bank calls ${during} ms\n`);
    assert.ok(during < Math.max(1500, 4 * base), `the login took ${during} ms (alone ${base} ms)`);
    let firstAnswer = Infinity;
    for (const r of await Promise.all(hung.map((p) => p.then((r) => { firstAnswer = Math.min(firstAnswer, Date.now()); return r; })))) {
      assert.equal(r.status, 504, `${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.text, /This took too long/);
      assert.match(r.text, /bank_timeout/);
      assert.ok(r.ms >= BANK_TIMEOUT * 1000 - 100 && r.ms < BANK_TIMEOUT * 1000 + 1500,
        `cut after ${r.ms} ms (bank_timeout ${BANK_TIMEOUT} s)`);
    }
    assert.ok(doneAt < firstAnswer, 'the login was done before any hung bank call was answered');

    // The callback: discovery answers, then the token endpoint hangs.
    up.mode = 'ok';
    const e = await makeEnrollment(server);
    const r = await leave(server, e);
    assert.equal(r.status, 303, r.text.slice(0, 300));
    const state = new URL(r.location).searchParams.get('state');
    up.mode = 'hang';
    const t0 = Date.now();
    const cb = await r.browser.request(`${server.issuer}/proofing/bank/callback?state=${encodeURIComponent(state)}&code=abc`);
    const text = await cb.text();
    const ms = Date.now() - t0;
    process.stderr.write(`bank token endpoint hang: ${cb.status} in ${ms} ms\n`);
    assert.equal(cb.status, 504);
    assert.match(text, /This took too long/);
    assert.match(text, /\/proofing\/bank\/faulty\?t=/, 'the page offers to try again');
    assert.ok(ms >= BANK_TIMEOUT * 1000 - 100 && ms < BANK_TIMEOUT * 1000 + 1500, `cut after ${ms} ms`);
    assert.equal((await getEnrollment(server, e.id)).status, 'proofing');

    // Shutdown with bank calls running and queued: each waiting person
    // gets the "busy" page at once, the queued call is dropped, the
    // running ones end by their timeout, and nothing leaks (stop() fails
    // on a sanitizer report).
    await new Promise((r) => setTimeout(r, 1100)); // the hung token call's worker is free
    const waiting = [];
    for (let i = 0; i < OB_THREADS + 1; i++) {
      waiting.push(leave(server, await makeEnrollment(server), 'hung'));
      await new Promise((r) => setTimeout(r, 30));
    }
    await new Promise((r) => setTimeout(r, 300));
    const t1 = Date.now();
    const stopping = server.stop();
    server = null;
    const results = await Promise.allSettled(waiting);
    const answered = Date.now() - t1;
    await stopping;
    const stopped = Date.now() - t1;
    for (const r of results) {
      assert.equal(r.status, 'fulfilled', `at shutdown: ${r.reason}`);
      assert.equal(r.value.status, 503, `at shutdown: ${r.value.status} ${r.value.text.slice(0, 300)}`);
      assert.match(r.value.text, /busy/);
    }
    process.stderr.write(`shutdown: waiting requests answered in ${answered} ms, stopped in ${stopped} ms\n`);
    assert.ok(answered < 1000, `the waiting requests were answered ${answered} ms into the shutdown`);
    assert.ok(stopped < (BANK_TIMEOUT + 2) * 1000, `stopped in ${stopped} ms`);
  } finally {
    try { await server?.stop(); } finally { await up.close(); }
  }
});
