// app-login.test.mjs — the request side of the sleutel app key through the
// portal: the key button, the phone form and QR code, the wait page with its
// verification code and countdown (extended, timers.test.mjs), unknown numbers that are
// not revealed, the limits against push-bombing (pending requests, rate per
// number, address and RP), blocked and locked accounts, and how a request
// ends (expired, refused, wrong code) on the person's page and at the RP.
//
// Accounts are written into the server's SQLite store directly (as the
// enrolment would leave them); the phone's answers are the device side's,
// so here the app request's outcome is set in the store the way the device
// API records it, and the browser side is checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, Agent, hiddenInputs, DEMO_PERSON } from './lib/harness.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { registerRp, authRequest, assertErrorRedirect } from './lib/flows.mjs';

const PHONE = '+32470123456';
let server;
let rp;

const sql = (q) => dbSql(server, q);

let accounts = 0;
function makeAccount(phone, { status = 'active', lockedUntil = 0 } = {}) {
  const n = ++accounts;
  const now = Math.floor(Date.now() / 1000);
  sql(`INSERT INTO persons(id, rrn, given_name, family_name, birthdate, created, updated)
       VALUES ('person${n}', '8507300${String(3300 + n).padStart(4, '0')}', 'Demo', 'Citizen${n}', '1985-07-30', ${now}, ${now});
       INSERT INTO accounts(id, person_id, phone, status, failures, locked_until, created)
       VALUES ('account${n}', 'person${n}', '${phone}', '${status}', 0, ${lockedUntil}, ${now});`);
  return `account${n}`;
}

function apprq(id) {
  const [row] = sqlRows(server, `SELECT account_id, codes, code, display_text, status, expires, extended, action,
    link_kind, link_id FROM app_requests WHERE id = '${id}'`);
  return row || null;
}

before(async () => {
  server = await startServer({ config: { app: { rate_phone: 1000, rate_ip: 1000 } } });
  rp = await registerRp(server);
  makeAccount(PHONE);
});

after(async () => { await server?.stop(); });

// Authorize → key choice; returns { agent, req }.
async function toKeyChoice(params = {}) {
  const agent = new Agent();
  const { url } = await authRequest(rp.config, params);
  const res = await agent.get(String(url));
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'), server.base);
  assert.equal(loc.pathname, '/login');
  return { agent, req: loc.searchParams.get('req') };
}

async function appForm(agent, req, lang = 'en') {
  const res = await agent.get(`${server.base}/key/app?req=${req}&lang=${lang}`);
  assert.equal(res.status, 200);
  const html = await res.text();
  return { html, hidden: hiddenInputs(html) };
}

// Submit a phone number; returns the response (not followed).
async function submitPhone(agent, req, phone, lang = 'en') {
  const { hidden } = await appForm(agent, req, lang);
  return agent.post(`${server.base}/key/app/login`, { ...hidden, phone });
}

async function startAppLogin(phone = PHONE, params = {}, lang = 'en') {
  const { agent, req } = await toKeyChoice(params);
  const res = await submitPhone(agent, req, phone, lang);
  assert.equal(res.status, 303, `login answered ${res.status}: ${await res.text()}`);
  const loc = new URL(res.headers.get('location'), server.base);
  assert.equal(loc.pathname, '/key/app/wait');
  assert.equal(loc.searchParams.get('req'), req);
  return { agent, req, aq: loc.searchParams.get('aq'), waitUrl: loc.href };
}

test('the key choice offers the sleutel app; its page has a phone form, and a link to a QR code', async () => {
  const { agent, req } = await toKeyChoice();
  const choice = await (await agent.get(`${server.base}/login?req=${req}&lang=en`)).text();
  assert.match(choice, /href="\/key\/app\?req=/);
  assert.match(choice, /sleutel app/);
  const { html, hidden } = await appForm(agent, req);
  assert.ok(hidden.csrf && hidden.req === req);
  assert.match(html, /<input id="phone" name="phone" type="tel"[^>]*value="\+32 "/);
  assert.match(html, /without the leading 0/);
  // The QR code is the scan alternative: drawn only when asked for.
  assert.doesNotMatch(html, /<svg|data-qr-token|data-poll/, 'no QR code, no long-poll, until asked for');
  const scan = html.match(/<a href="([^"]+)" id="qr-show">Scan a QR code with the sleutel app instead<\/a>/);
  assert.ok(scan, 'the form page links to the QR code');
  const href = scan[1].replace(/&amp;/g, '&');
  assert.equal(href, `/key/app?req=${req}&lang=en&scan=1`);
  const qr = await (await agent.get(`${server.base}${href}`)).text();
  assert.match(qr, /<input id="phone" name="phone" type="tel"/, 'the QR page keeps the form');
  assert.match(qr, /<svg [^>]*class="qr" role="img"[^>]*aria-label="QR code[^"]*"/);
  assert.match(qr, /<path fill="#000" d="M\d+ \d+h\d+v1h-\d+z/);
  assert.doesNotMatch(qr, /id="qr-show"/);
  for (const page of [html, qr]) assert.doesNotMatch(page, /<script>/, 'no inline script');
});

test('a known number: the wait page shows one of the three codes, the RP and a countdown', async () => {
  const { agent, aq, waitUrl } = await startAppLogin(PHONE);
  const r = apprq(aq);
  assert.equal(r.account_id, 'account1');
  assert.equal(r.status, 'pending');
  assert.equal(r.action, 'login');
  assert.equal(r.link_kind, 'authreq');
  assert.equal(r.display_text, 'Log in to Mijn gezondheid');
  const codes = JSON.parse(r.codes);
  assert.equal(codes.length, 3);
  assert.equal(new Set(codes).size, 3, 'the three codes differ');
  for (const c of codes) assert.match(c, /^\d{4}$/);
  assert.ok(codes.includes(r.code), 'the browser code is one of the three');
  const left = r.expires - Math.floor(Date.now() / 1000);
  assert.ok(left > 170 && left <= 180, `3 minutes, not ${left}`);
  const html = await (await agent.get(waitUrl)).text();
  assert.match(html, new RegExp(`<p class="vcode" id="vcode"[^>]*>${r.code}</p>`));
  assert.match(html, /Mijn gezondheid/);
  assert.match(html, /role="timer"/);
  assert.match(html, /data-remaining="1[0-9]{2}"/);
  assert.match(html, /No request on your phone\? Check the number\./);
  assert.match(html, /action="\/key\/app\/extend"/);
});

test('the display text follows the page language', async () => {
  const texts = {};
  for (const lang of ['nl', 'fr', 'de', 'en']) {
    const { aq } = await startAppLogin(PHONE, {}, lang);
    texts[lang] = apprq(aq).display_text;
    sql(`UPDATE app_requests SET status = 'refused' WHERE id = '${aq}'`); // keep under max_pending
  }
  assert.deepEqual(texts, {
    nl: 'Inloggen bij Mijn gezondheid', fr: 'Se connecter à Mijn gezondheid',
    de: 'Anmelden bei Mijn gezondheid', en: 'Log in to Mijn gezondheid',
  });
});

test('the phone number is normalised: 0470 12 34 56 is the same account', async () => {
  const { aq } = await startAppLogin('0470 12 34 56');
  assert.equal(apprq(aq).account_id, 'account1');
  sql(`UPDATE app_requests SET status = 'refused' WHERE id = '${aq}'`);
});

test('an unknown number is not revealed: the same wait page for a request nobody answers', async () => {
  const { agent, aq, waitUrl } = await startAppLogin('+32470999999');
  const r = apprq(aq);
  assert.equal(r.account_id, '-+32470999999', 'a decoy, for no account');
  const html = await (await agent.get(waitUrl)).text();
  assert.match(html, /<p class="vcode" id="vcode"[^>]*>\d{4}<\/p>/);
  assert.match(html, /No request on your phone\? Check the number\./);
});

test('not a phone number: the form again, with the error and the number typed', async () => {
  const { agent, req } = await toKeyChoice();
  const res = await submitPhone(agent, req, '04x0 12');
  assert.equal(res.status, 400);
  const html = await res.text();
  assert.match(html, /role="alert">This is not a phone number/);
  assert.match(html, /aria-invalid="true"/);
  assert.match(html, /value="04x0 12"/);
});

test('a form without its CSRF token is refused', async () => {
  const { agent, req } = await toKeyChoice();
  const res = await agent.post(`${server.base}/key/app/login`, { req, phone: PHONE, csrf: 'x'.repeat(43) });
  assert.equal(res.status, 403);
});

test('another browser cannot see the wait page of a login', async () => {
  const { waitUrl } = await startAppLogin('+32470999998');
  const res = await new Agent().get(waitUrl);
  assert.equal(res.status, 404);
  assert.doesNotMatch(await res.text(), /class="vcode"/);
});

test('the countdown is extended, never past the authorization request (more in timers.test.mjs)', async () => {
  const { agent, req, aq, waitUrl } = await startAppLogin('+32470999997');
  const before = apprq(aq).expires;
  const html = await (await agent.get(waitUrl)).text();
  const hidden = hiddenInputs(html.slice(html.indexOf('action="/key/app/extend"')));
  assert.equal(hidden.aq, aq);
  const res = await agent.post(`${server.base}/key/app/extend`, hidden);
  assert.equal(res.status, 303);
  const after1 = apprq(aq);
  assert.equal(after1.extended, 1);
  assert.ok(after1.expires > before, 'more time');
  const arExpires = Number(sql(`SELECT expires FROM auth_requests WHERE id = '${req}'`));
  assert.ok(after1.expires <= arExpires, 'not past the authorization request');
});

test('at most max_pending requests wait on one phone', async () => {
  const phone = '+32470555001';
  makeAccount(phone);
  for (let i = 0; i < 3; i++) await startAppLogin(phone);
  const { agent, req } = await toKeyChoice();
  const res = await submitPhone(agent, req, phone);
  assert.equal(res.status, 429);
  assert.match(await res.text(), /Too many requests are waiting on your phone/);
});

test('blocked and locked accounts get no request, and the form does not tell them from unknown numbers', async () => {
  makeAccount('+32470555002', { status: 'blocked' });
  makeAccount('+32470555003', { lockedUntil: Math.floor(Date.now() / 1000) + 3 * 3600 });
  for (const phone of ['+32470555002', '+32470555003', '+32470555999']) {
    const { agent, req } = await toKeyChoice();
    const res = await submitPhone(agent, req, phone);
    assert.equal(res.status, 303, phone);
    assert.equal(new URL(res.headers.get('location'), server.base).pathname, '/key/app/wait');
    assert.equal(sql(`SELECT count(*) FROM app_requests WHERE account_id IN
      (SELECT id FROM accounts WHERE phone = '${phone}')`), '0', 'no phone sees a request');
  }
  // "Too many waiting" comes at the same count for a number without an
  // account as for one with.
  for (let i = 0; i < 2; i++) await startAppLogin('+32470555999');
  const { agent, req } = await toKeyChoice();
  const res = await submitPhone(agent, req, '+32470555999');
  assert.equal(res.status, 429);
  assert.match(await res.text(), /Too many requests are waiting on your phone/);
});

test('expiry while the browser waits: the poll answers, the page says time is up, the RP gets access_denied', async () => {
  const { agent, aq, waitUrl } = await startAppLogin('+32470555004');
  const wait = new URL(waitUrl);
  const poll = `${server.base}/key/app/poll?req=${wait.searchParams.get('req')}&aq=${aq}`;
  // The long-poll is woken at the expiry: move the expiry close.
  sql(`UPDATE app_requests SET expires = ${Math.floor(Date.now() / 1000)} + 1 WHERE id = '${aq}'`);
  const t0 = Date.now();
  let res = await agent.get(poll);
  if (res.status === 204) res = await agent.get(poll);
  assert.equal(res.status, 200);
  assert.ok(Date.now() - t0 < 5000, 'woken at the expiry, not at the poll timeout');
  assert.deepEqual(await res.json(), { status: 'ended' });
  res = await agent.get(waitUrl);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<h1>Time is up<\/h1>/);
  const hidden = hiddenInputs(html);
  res = await agent.get(`${server.base}/login/finish?${new URLSearchParams(hidden)}`);
  assertErrorRedirect(server, res, { error: 'access_denied', state: res.headers.get('location') &&
    new URL(res.headers.get('location')).searchParams.get('state') });
});

test('refused on the phone, or the wrong code chosen: the page says which', async () => {
  for (const [status, heading] of [['refused', /You refused the request/], ['denied', /wrong verification code/]]) {
    const { agent, aq, waitUrl } = await startAppLogin(PHONE);
    sql(`UPDATE app_requests SET status = '${status}' WHERE id = '${aq}'`);
    const res = await agent.get(waitUrl);
    assert.equal(res.status, 200);
    assert.match(await res.text(), heading);
  }
});

test('the wait page long-poll moves on at once when the login completes', async () => {
  const { agent, req, aq } = await startAppLogin('+32470999996');
  const poll = agent.get(`${server.base}/key/app/poll?req=${req}&aq=${aq}`);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  const ok = await fetch(`${server.base}/key/test/approve`, {
    method: 'POST', body: new URLSearchParams({ req, ...DEMO_PERSON }),
  });
  assert.equal(ok.status, 200);
  const res = await poll;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'done' });
  assert.ok(Date.now() - t0 < 2000);
});

test('rate limits per number, per address and per RP (fixed window)', async () => {
  const s = await startServer({ config: { app: { rate_phone: 2, rate_ip: 4, rate_rp: 1000 } } });
  const prev = server;
  server = s;
  try {
    rp = await registerRp(s);
    const one = async (phone) => {
      const { agent, req } = await toKeyChoice();
      return submitPhone(agent, req, phone);
    };
    assert.equal((await one('+32470111111')).status, 303);
    assert.equal((await one('+32470111111')).status, 303);
    let res = await one('+32470111111');
    assert.equal(res.status, 429, 'third request for one number in the window');
    assert.match(await res.text(), /Too many attempts/);
    assert.equal((await one('+32470111112')).status, 303);
    assert.equal((await one('+32470111113')).status, 303);
    res = await one('+32470111114');
    assert.equal(res.status, 429, 'fifth request from one address');
  } finally {
    server = prev;
    rp = await registerRp(server);
    await s.stop();
  }
  const s2 = await startServer({ config: { app: { rate_rp: 2 } } });
  try {
    server = s2;
    rp = await registerRp(s2);
    const { agent: a1, req: r1 } = await toKeyChoice();
    assert.equal((await submitPhone(a1, r1, '+32470111121')).status, 303);
    const { agent: a2, req: r2 } = await toKeyChoice();
    assert.equal((await submitPhone(a2, r2, '+32470111122')).status, 303);
    const { agent: a3, req: r3 } = await toKeyChoice();
    assert.equal((await submitPhone(a3, r3, '+32470111123')).status, 429, 'third request for one RP');
  } finally {
    server = prev;
    rp = await registerRp(server);
    await s2.stop();
  }
});
