// faults-shutdown.test.mjs — SIGTERM while upstream calls hang (issue 12,
// docs/faults.md "Shutdown with upstream calls in flight"), and a card
// whose verdict is cached passing a full outbound pool.
//
// The upstreams hang far longer than the bound ([proofing] bank_timeout
// 30 s, [eid] revocation_timeout 20 s): only the abort at [outbound]
// shutdown_timeout (1 s) can end them in time.  Asserted: each waiting
// person gets a readable 503 at once, sleuteld exits 0 (stop() throws on
// anything else or a sanitizer report) within shutdown_timeout + 2 s, what
// was acknowledged before is still there after a restart, and the audit
// trail says what the stop did to the calls (a card check it cut short: "the
// server is stopping", not "no outbound worker free" as for a full pool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { initServer, launchServer, hiddenInputs } from './lib/harness.mjs';
import { registerRp } from './lib/flows.mjs';
import { faultyUpstream, otherLogin } from './lib/faulty.mjs';
import { makeEnrollment, getEnrollment, Browser } from './lib/bank.mjs';
import { eidRp, issueCard, toEidOrigin, presentCard, eidCodeFlow, auditMax, auditSince, httpServer, forward, tmp, h1 } from './lib/eid.mjs';

const SHUTDOWN_TIMEOUT = 1; // [outbound] shutdown_timeout, seconds

// The bank page, then its button: the POST whose discovery call hangs.
async function leave(server, e, bank) {
  const browser = new Browser();
  const page = await browser.request(`${server.issuer}/proofing/bank/${bank}?t=${encodeURIComponent(e.ticket)}&lang=en`);
  assert.equal(page.status, 200);
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)[1];
  const res = await browser.request(new URL(action, server.issuer).href, { method: 'POST', form: hiddenInputs(html) });
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

// An OCSP relay in front of the demo PKI's responder: 'ok' forwards,
// 'hang' never answers.  The cards' CRL fallback is off ([eid] crl), so a
// hanging relay holds a card check for revocation_timeout.
async function ocspRelay() {
  const relay = { mode: 'ok', target: '' };
  const srv = await httpServer((req, body, res) => (relay.mode === 'hang' ? new Promise(() => {}) : forward(relay.target, req, body, res)));
  return Object.assign(relay, { url: srv.url, close: srv.close, count: srv.count });
}

async function setup(outbound, relay, up) {
  const inst = await initServer({ demo: true, config: {
    server: { threads: 2 },
    outbound: { ...outbound, shutdown_timeout: SHUTDOWN_TIMEOUT },
    proofing: { bank_timeout: 30 },
    eid: { ocsp_url: `${relay.url}/ocsp`, crl: 'false', revocation_timeout: 20 },
    ...(up ? { 'bank.hung': { name: 'Hung Bank', issuer: `${up.url}/hung`, client_id: 'c', client_secret: 's' } } : {}),
  } });
  relay.target = `http://127.0.0.1:${inst.pkiPort}`;
  return { inst, server: await launchServer(inst) };
}

// A card's eID request, left waiting: resolves with the eID origin's answer.
async function cardCheck(server, rp, card) {
  const flow = await toEidOrigin(server, rp.config);
  return (await presentCard(server, flow, card.args)).eid;
}

test('SIGTERM while 3 upstream calls hang and 1 waits: each person gets a 503 at once, sleuteld exits 0 within shutdown_timeout + 2 s, nothing acknowledged is lost, the audit says so', async () => {
  const up = await faultyUpstream({ mode: 'hang' });
  const relay = await ocspRelay();
  const dir = tmp();
  let inst; let server;
  try {
    ({ inst, server } = await setup({ threads: 3, queue: 2 }, relay, up));
    const rp = await registerRp(server);
    const eid = await eidRp(server);
    // Acknowledged before the stop: a test-key login and a card login.
    await otherLogin(server, rp);
    const card = await issueCard(server.pkiDir, dir, { name: 'Stef Stop' });
    await eidCodeFlow(server, eid, card.args);
    const before = await auditMax(server);
    const logins = (await auditSince(server, 0)).filter((r) => r.event === 'login' && r.result === 'ok').length;
    assert.ok(logins >= 2, `${logins} login records before the stop`);

    // Three calls hang on the workers (two banks, one new card's OCSP),
    // a fourth bank call waits in the queue.
    relay.mode = 'hang';
    const e = await Promise.all([0, 1, 2].map(() => makeEnrollment(server)));
    const other = await issueCard(server.pkiDir, dir, { name: 'Hanne Hang' });
    const waiting = [leave(server, e[0], 'hung'), leave(server, e[1], 'hung'), cardCheck(server, eid, other)];
    for (let i = 0; i < 100 && up.hits + relay.count('/ocsp') < 3 + 1; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(up.hits, 2, 'both bank calls reached the bank');
    waiting.push(leave(server, e[2], 'hung'));
    await new Promise((r) => setTimeout(r, 300));

    const t0 = Date.now();
    const stopping = server.stop({ keep: true });
    server = null;
    const answers = await Promise.all(waiting.map((p) => p.then((r) => ({ r, ms: Date.now() - t0 }))));
    const res = await stopping;
    const stopped = Date.now() - t0;
    process.stderr.write(`shutdown: answered in ${answers.map((a) => a.ms).join(', ')} ms, exit ${res.code} in ${stopped} ms\n`);
    assert.equal(res.code, 0);
    for (const { r, ms } of answers.slice(0, 2).concat(answers.slice(3))) {
      assert.equal(r.status, 503, r.text.slice(0, 300));
      assert.match(r.text, /busy/);
      assert.match(r.retryAfter || '', /^\d+$/);
      assert.ok(ms < 1000, `a waiting bank request answered ${ms} ms into the stop`);
    }
    const card503 = answers[2];
    assert.equal(card503.r.status, 503, `the card check: ${card503.r.status} ${h1(card503.r.body || '')}`);
    assert.ok(card503.ms < 1000, `the waiting card check answered ${card503.ms} ms into the stop`);
    assert.ok(stopped >= SHUTDOWN_TIMEOUT * 1000 - 100, `stopped in ${stopped} ms: before the abort moment?`);
    assert.ok(stopped < (SHUTDOWN_TIMEOUT + 2) * 1000, `stopped in ${stopped} ms (bank_timeout 30 s, shutdown_timeout ${SHUTDOWN_TIMEOUT} s)`);

    // Started again on the same store: what was acknowledged is there,
    // the enrolments are still in proofing, the stop is audited.
    server = await launchServer(inst);
    const rows = await auditSince(server, 0);
    assert.equal(rows.filter((r) => r.event === 'login' && r.result === 'ok').length, logins);
    for (const x of e) assert.equal((await getEnrollment(server, x.id)).status, 'proofing');
    const stop = rows.filter((r) => r.seq > before && r.event === 'server.stop');
    assert.equal(stop.length, 1, JSON.stringify(rows.filter((r) => r.seq > before)));
    assert.equal(stop[0].detail, 'upstream calls: 1 queued dropped, 0 running finished, 3 aborted');
    // The card whose check the stop cut short is audited as a stop, not as
    // a full pool (the test below has that one).
    const cut = rows.filter((r) => r.seq > before && r.event === 'login' && r.key === 'eid');
    assert.deepEqual(cut.map((r) => [r.result, r.detail]), [['status_unavailable', 'the server is stopping']]);
    relay.mode = 'ok';
    await eidCodeFlow(server, eid, card.args); // and it works
  } finally {
    try { await server?.stop(); } finally {
      await up.close();
      await relay.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a card whose verdict is cached logs in at once while the outbound pool is full of hanging checks', async () => {
  const relay = await ocspRelay();
  const dir = tmp();
  let server;
  try {
    ({ server } = await setup({ threads: 1, queue: 1 }, relay));
    const eid = await eidRp(server);
    const known = await issueCard(server.pkiDir, dir, { name: 'Karel Kent' });
    await eidCodeFlow(server, eid, known.args); // its OCSP answer is cached now
    const asked = relay.count('/ocsp');
    relay.mode = 'hang';
    const others = await Promise.all([0, 1, 2].map((i) => issueCard(server.pkiDir, dir, { name: `Nieuw ${'ABC'[i]}` })));
    // One check hangs on the one worker, one waits in the queue ...
    // Both are in when the first has reached the relay and the two wait
    // suspended (the metrics' waiter gauge): a fixed pause was not enough
    // for the second card's handshake under the sanitizer on a busy box.
    const hung = [cardCheck(server, eid, others[0]), cardCheck(server, eid, others[1])];
    const waiters = async () => Number((await (await fetch(`${server.metricsBase}/metrics`)).text())
      .match(/^sleutel_waiters (\d+)$/m)?.[1]);
    for (let i = 0; i < 400 && (relay.count('/ocsp') < asked + 1 || (await waiters()) < 2); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await waiters(), 2, 'one check on the worker, one in the queue');
    // ... so a third new card is refused at once: the pool is full.
    const seq = await auditMax(server);
    const full = await cardCheck(server, eid, others[2]);
    assert.equal(full.status, 503, `a new card with the pool full: ${full.status} ${h1(full.body || '')}`);
    const refused = (await auditSince(server, seq)).filter((x) => x.event === 'login' && x.key === 'eid');
    assert.deepEqual(refused.map((x) => [x.result, x.detail]), [['status_unavailable', 'no outbound worker free']]);
    // The known card passes by the pool.
    const t0 = Date.now();
    const r = await eidCodeFlow(server, eid, known.args);
    const ms = Date.now() - t0;
    process.stderr.write(`cached card with the pool full: logged in in ${ms} ms\n`);
    assert.ok(r.tokens.access_token);
    assert.equal(relay.count('/ocsp'), asked + 1, 'the cached card asked no OCSP');
    assert.ok(ms < 5000, `${ms} ms`);
    const stopping = server.stop();
    server = null;
    for (const h of await Promise.all(hung)) assert.equal(h.status, 503);
    await stopping;
  } finally {
    try { await server?.stop(); } finally {
      await relay.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
