// smartid-keygen.test.mjs — when the server makes a Smart-ID registration's
// keys (docs/smartid-registration.md "The server's keys"): not at the app's
// start (POST /register makes none, whatever the rate), but at the portal's
// confirmation behind the eID login, and at most [smartid] keygen_max at
// once server-wide: one over the bound gets a 503 "try again" page, keeps
// its state, and succeeds when the person presses Confirm again.
//
// The overlap is made certain with the test build's hook
// SLEUTEL_TEST_KEYGEN_DELAY_MS (reg_keygen.c): each confirmation holds its
// keygen slot that much longer.  The key generation runs on the HTTP
// thread of its connection, so the second confirmation goes over a NEW
// connection once the first is in its keygen: only an idle thread accepts
// it (a kept-alive one could share the first's thread and simply wait).
import assert from 'node:assert/strict';
import https from 'node:https';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Agent, hiddenInputs, startServer } from './lib/harness.mjs';
import { sqlJson } from './lib/db.mjs';
import { h1, issueCard, nl, run, tmp } from './lib/eid.mjs';
import { PORTAL, SmartIdPhone, portalEidLogin, portalSteps } from './lib/smartid.mjs';

const JAN = { given: 'Jan', family: 'Peeters', rrn: '85073003328' };
const ELS = { given: 'Els', family: 'Maes', rrn: '90020199704' };
const HOLD_MS = 3000;

let server;
let dir;

before(async () => {
  server = await startServer({
    demo: true,
    config: { smartid: { key_bits: 1024, rate_ip: 1000, keygen_max: 1 } },
    env: { SLEUTEL_TEST_KEYGEN_DELAY_MS: String(HOLD_MS) },
  });
  dir = tmp('sleutel-sidkeygen-');
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sql = (query) => sqlJson(server, query);

// A phone's registration typed in on the portal by `person`, up to the
// confirmation form; returns { phone, agent, form } (the form's inputs).
async function upToConfirm(person, srv = server) {
  const phone = await new SmartIdPhone(srv).init();
  const r = await phone.register({ deviceName: `${person.given}'s phone` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const agent = new Agent();
  await portalEidLogin(srv, agent, await issueCard(srv.pkiDir, dir, person));
  const end = await portalSteps(srv, agent, phone.code, { stopAt: 'confirm' });
  assert.equal(end.status, 303);
  const res = await agent.get(`${srv.base}${PORTAL}/confirm?lang=nl`);
  assert.equal(res.status, 200);
  return { phone, agent, form: hiddenInputs(await res.text()) };
}

// POST a form as `agent` over a connection of its own.
function freshPost(agent, url, form) {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const rq = https.request(url, { method: 'POST', agent: false, headers: { cookie: agent.cookieHeader(),
      'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    rq.on('error', reject);
    rq.end(body);
  });
}

const stored = async (phone) => (await sql(
  `SELECT status, CASE WHEN auth_share IS NULL THEN 0 ELSE 1 END AS share,
    CASE WHEN auth_sealed IS NULL THEN 0 ELSE 1 END AS sealed FROM sid_registrations
   WHERE id = '${phone.registrationId}'`))[0];

test('POST /register makes no key: the start is cheap, the shares wait sealed', async () => {
  const phone = await new SmartIdPhone(server).init();
  const t = performance.now();
  const r = await phone.register();
  const ms = performance.now() - t;
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.auth, undefined);
  assert.equal(r.body.sign, undefined);
  // The keygen hook holds any key generation HOLD_MS: a start that made
  // keys could not answer sooner.
  assert.ok(ms < HOLD_MS, `POST /register took ${ms} ms`);
  assert.deepEqual(await stored(phone), { status: 'code', share: 1, sealed: 0 });
  const s = await phone.status();
  assert.deepEqual([s.status, s.body.status, s.body.auth, s.body.sign], [200, 'code', undefined, undefined]);
});

test('keygen_max 1: of two confirmations at once one gets 503 "try again", then succeeds', async () => {
  const a = await upToConfirm(JAN);
  const b = await upToConfirm(ELS);
  const post = (x, form = x.form) => freshPost(x.agent, `${server.base}${PORTAL}/confirm`, form)
    .then((res) => ({ x, ...res }));
  const first = post(a);
  await new Promise((res) => setTimeout(res, HOLD_MS / 3)); // a is making its keys now
  const busy = await post(b);
  assert.equal(busy.status, 503, busy.body);
  const won = await first;
  assert.equal(won.status, 200, won.body);
  assert.equal(h1(won.body), nl('Continue on your phone'));

  // The busy page: readable, in the person's language, the same form to
  // press again; nothing of the registration changed.
  assert.equal(h1(busy.body), nl('Confirm your Smart-ID account'));
  assert.match(busy.body, /id="confirm-error" role="alert"/);
  assert.ok(busy.body.includes(nl('The server is busy making keys for other registrations. Try again in a moment: press Confirm again.')));
  assert.deepEqual(await stored(busy.x.phone), { status: 'code', share: 1, sealed: 0 });
  assert.deepEqual(await stored(won.x.phone), { status: 'confirmed', share: 0, sealed: 1 });
  const audit = await sql("SELECT count(*) AS n FROM audit WHERE event = 'smartid.portal' AND result = 'busy'");
  assert.equal(audit[0].n, 1);

  // Pressed again (the slot is free): confirmed, with the moduli.
  const again = await post(b, hiddenInputs(busy.body));
  assert.equal(again.status, 200, again.body);
  assert.equal(h1(again.body), nl('Continue on your phone'));
  for (const { phone } of [a, b]) {
    const s = await phone.status();
    assert.equal(s.body.status, 'confirmed');
    assert.equal(phone.keys.auth.n % phone.keys.auth.n1, 0n);
    assert.notEqual(phone.keys.auth.n, phone.keys.sign.n);
    const f = await phone.finish();
    assert.equal(f.status, 201, JSON.stringify(f.body));
  }
});

test('Confirm pressed twice while the keys are made: both answers say to go on on the phone', async () => {
  const srv = await startServer({ demo: true, config: { smartid: { key_bits: 1024, keygen_max: 2 } },
    env: { SLEUTEL_TEST_KEYGEN_DELAY_MS: String(HOLD_MS) } });
  try {
    const x = await upToConfirm(JAN, srv);
    const press = () => freshPost(x.agent, `${srv.base}${PORTAL}/confirm`, x.form);
    const first = press();
    await new Promise((res) => setTimeout(res, HOLD_MS / 3));
    const second = await press(); // the one the browser shows
    assert.equal(second.status, 200, second.body);
    assert.equal(h1(second.body), nl('Continue on your phone'));
    assert.equal((await first).status, 200);
    const s = await x.phone.status();
    assert.equal(s.body.status, 'confirmed');
    assert.equal((await x.phone.finish()).status, 201);
  } finally {
    await srv.stop();
  }
});
