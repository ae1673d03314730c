// app-login-merged.test.mjs — the app login's merged requests
// (docs/performance.md, "app login, sixth round"):
//
// - the number's post answers with the wait page itself when the form's
//   script asks for it (inline=1), the page naming its own address
//   (data-self) for the script to put in the history: a reload there is a
//   GET of the wait page and makes no new request; an unknown number's
//   answer (a decoy) looks the same; without inline=1 the answer stays the
//   303 (a browser without script);
// - the wait page's long-poll with finish=1 answers a login done without
//   consent to ask with the RP's address and a code it issued (and the
//   session cookie); with consent to ask only {"status": "done"}, and the
//   wait page goes on to the consent page as before.
//
// The browser side (replaceState, the reload, the page going to the RP by
// itself) is tests/browser/app-login.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startServer, Agent, hiddenInputs, answerConsent, DEMO_PERSON } from './lib/harness.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { registerRp, authRequest, assertCodeResponse } from './lib/flows.mjs';

const PHONE = '+32470123456';
let server;
let rp;

const sql = (q) => dbSql(server, q);
const countRequests = (req) =>
  Number(sqlRows(server, `SELECT count(*) AS n FROM app_requests WHERE link_id = '${req}'`)[0].n);

before(async () => {
  server = await startServer({ config: { app: { rate_phone: 1000, rate_ip: 1000 } } });
  rp = await registerRp(server);
  const now = Math.floor(Date.now() / 1000);
  sql(`INSERT INTO persons(id, rrn, given_name, family_name, birthdate, created, updated)
       VALUES ('person1', '85073003401', 'Demo', 'Citizen', '1985-07-30', ${now}, ${now});
       INSERT INTO accounts(id, person_id, phone, status, failures, locked_until, created)
       VALUES ('account1', 'person1', '${PHONE}', 'active', 0, 0, ${now});`);
});

after(async () => { await server?.stop(); });

// Authorize → the app's number form; { agent, req, auth, hidden }.
async function toForm(params = {}) {
  const agent = new Agent();
  const auth = await authRequest(rp.config, params);
  let res = await agent.get(String(auth.url));
  assert.equal(res.status, 303);
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${req}&lang=en`);
  assert.equal(res.status, 200);
  const hidden = hiddenInputs(await res.text());
  assert.equal(hidden.inline, '0', 'the form asks for the redirect unless its script says otherwise');
  return { agent, req, auth, hidden };
}

// The number posted as the page's script posts it: the wait page itself.
async function postInline(phone = PHONE, params = {}) {
  const f = await toForm(params);
  const res = await f.agent.post(`${server.base}/key/app/login`, { ...f.hidden, inline: '1', phone });
  assert.equal(res.status, 200, 'the wait page, no redirect');
  const html = await res.text();
  const self = html.match(/data-self="([^"]+)"/)?.[1].replace(/&amp;/g, '&');
  assert.ok(self, 'the page names its own address');
  const wait = new URL(self, server.base);
  assert.equal(wait.pathname, '/key/app/wait');
  assert.equal(wait.searchParams.get('req'), f.req);
  const poll = html.match(/data-poll="([^"]+)"/)[1].replace(/&amp;/g, '&');
  return { ...f, html, wait, poll: new URL(poll, server.base), aq: wait.searchParams.get('aq') };
}

const vcodeOf = (html) => html.match(/<p class="vcode" id="vcode"[^>]*>(\d{4})<\/p>/)?.[1];

test('the number answered with the wait page: its own address to reload, and a reload posts nothing', async () => {
  const { agent, req, html, wait } = await postInline();
  const code = vcodeOf(html);
  assert.match(code, /^\d{4}$/);
  assert.equal(countRequests(req), 1);
  // The reload the history now holds: a GET of the wait page.
  const again = await agent.get(wait.href);
  assert.equal(again.status, 200);
  assert.equal(vcodeOf(await again.text()), code, 'the same request, the same code');
  assert.equal(countRequests(req), 1, 'no new request on the phone');
  sql(`UPDATE app_requests SET status = 'refused' WHERE link_id = '${req}'`);

  // Without script (no inline=1): the 303, as before.
  const f = await toForm();
  const res = await f.agent.post(`${server.base}/key/app/login`, { ...f.hidden, phone: PHONE });
  assert.equal(res.status, 303);
  assert.equal(new URL(res.headers.get('location'), server.base).pathname, '/key/app/wait');
  sql(`UPDATE app_requests SET status = 'refused' WHERE link_id = '${f.req}'`);
});

test('an unknown number gets the same inline wait page (a decoy): nothing tells the two apart', async () => {
  const known = await postInline(PHONE);
  const unknown = await postInline('+32470999998');
  assert.equal(sqlRows(server, `SELECT account_id FROM app_requests WHERE id = '${unknown.aq}'`)[0].account_id,
    '-+32470999998');
  // The same page but for the ids, codes and seconds.
  const norm = (h, r) => h.replaceAll(r.req, 'REQ').replaceAll(r.aq, 'AQ').replaceAll(r.hidden.csrf, 'CSRF')
    .replace(/value="[A-Za-z0-9_-]{40,}"/g, 'value="CSRF"').replace(/\d+/g, 'N');
  assert.equal(norm(unknown.html, unknown), norm(known.html, known));
  sql(`UPDATE app_requests SET status = 'refused' WHERE id IN ('${known.aq}', '${unknown.aq}')`);
});

test('the long-poll with finish=1: with consent to ask the page goes on as before; without, it gets the RP address and the code', async () => {
  // First login of this person at this RP: the consent page comes first.
  let l = await postInline(PHONE, { scope: 'openid profile' });
  assert.equal(l.poll.searchParams.get('finish'), '1');
  let ok = await fetch(`${server.base}/key/test/approve`, {
    method: 'POST', body: new URLSearchParams({ req: l.req, ...DEMO_PERSON }),
  });
  assert.equal(ok.status, 200);
  let res = await l.agent.get(l.poll.href);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'done' }, 'no code while consent is to be asked');
  res = await l.agent.get(l.wait.href);
  assert.equal(res.status, 303);
  const back = await answerConsent(server, l.agent, res.headers.get('location'));
  assertCodeResponse(server, back, l.auth.state);

  // Again, consent given: the poll, woken by the login's completion,
  // answers with the code.
  l = await postInline(PHONE, { scope: 'openid profile' });
  const poll = l.agent.get(l.poll.href);
  await new Promise((r) => setTimeout(r, 200));
  ok = await fetch(`${server.base}/key/test/approve`, {
    method: 'POST', body: new URLSearchParams({ req: l.req, ...DEMO_PERSON }),
  });
  assert.equal(ok.status, 200);
  res = await poll;
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'done');
  const loc = new URL(body.location);
  assertCodeResponse(server, loc, l.auth.state);
  assert.match(res.headers.get('set-cookie') ?? '', /HttpOnly/i, 'the session cookie comes with it');
  assert.equal(res.headers.get('cache-control'), 'no-store', 'an answer with a code is not kept');
  const audits = sqlRows(server, `SELECT count(*) AS n FROM audit WHERE event = 'login' AND result = 'ok'`)[0].n;
  assert.ok(Number(audits) >= 2, 'the login is audited');
  const tokens = await oidc.authorizationCodeGrant(rp.config, loc, {
    pkceCodeVerifier: l.auth.verifier, expectedState: l.auth.state, expectedNonce: l.auth.nonce,
  });
  assert.equal(tokens.claims().given_name ?? DEMO_PERSON.given_name, DEMO_PERSON.given_name);
  // One answer per request: the wait page and the poll find it answered.
  res = await l.agent.get(l.wait.href);
  assert.notEqual(res.status, 303, 'no second code');
  res = await l.agent.get(l.poll.href);
  assert.equal(res.status, 404);
});

test('the long-poll without finish=1 answers the status only, and the wait page issues the code', async () => {
  const l = await postInline(PHONE, { scope: 'openid profile' });
  const ok = await fetch(`${server.base}/key/test/approve`, {
    method: 'POST', body: new URLSearchParams({ req: l.req, ...DEMO_PERSON }),
  });
  assert.equal(ok.status, 200);
  l.poll.searchParams.delete('finish');
  let res = await l.agent.get(l.poll.href);
  assert.deepEqual(await res.json(), { status: 'done' });
  res = await l.agent.get(l.wait.href);
  assert.equal(res.status, 303);
  assertCodeResponse(server, new URL(res.headers.get('location')), l.auth.state);
});

// /authorize with login_hint → where it sends the browser.
async function authorizeHinted(hint) {
  sql(`UPDATE app_requests SET status = 'refused' WHERE status = 'pending'`); // under max_pending
  const agent = new Agent();
  const auth = await authRequest(rp.config, { login_hint: hint });
  const res = await agent.get(String(auth.url));
  assert.equal(res.status, 303);
  return { agent, auth, loc: new URL(res.headers.get('location'), server.base) };
}

// The hint page's form as its script posts it; the answer.
async function postHinted(h, phone) {
  const res = await h.agent.get(h.loc.href);
  assert.equal(res.status, 200);
  const html = await res.text();
  const form = hiddenInputs(html);
  const value = html.match(/<input id="phone"[^>]* value="([^"]*)"/)[1];
  return { html, value, res: await h.agent.post(`${server.base}/key/app/login`,
    { ...form, inline: '1', phone: phone ?? value }) };
}

test('login_hint with a +32 number: /authorize skips the key choice to the number form, filled in; nothing is sent before the person posts it', async () => {
  const h = await authorizeHinted('0470 12 34 56'.replace(/^0/, '+32 '));
  assert.equal(h.loc.pathname, '/key/app/hint');
  const req = h.loc.searchParams.get('req');
  // The GET, which any site can cause, starts nothing (no login CSRF).
  let res = await h.agent.get(h.loc.href);
  assert.equal(res.status, 200, 'the number form, no key choice');
  let html = await res.text();
  assert.match(html, /<input id="phone"[^>]* value="\+32470123456"/);
  assert.match(html, /name="csrf" value="[^"]+"/);
  res = await h.agent.get(h.loc.href);
  assert.equal(res.status, 200, 'again: the same form');
  assert.equal(countRequests(req), 0, 'no request on any phone from a GET');
  // Another browser cannot use this login's hint page.
  res = await new Agent().get(h.loc.href);
  assert.equal(res.status, 404);
  // Posted by the person (CSRF): the wait page, one request.
  const { res: posted } = await postHinted(h);
  assert.equal(posted.status, 200);
  html = await posted.text();
  assert.match(vcodeOf(html), /^\d{4}$/);
  const [row] = sqlRows(server, `SELECT account_id, status FROM app_requests WHERE link_id = '${req}'`);
  assert.deepEqual(row, { account_id: 'account1', status: 'pending' });
  // Without the form's token nothing is sent either.
  const other = await authorizeHinted(PHONE);
  const oreq = other.loc.searchParams.get('req');
  res = await other.agent.post(`${server.base}/key/app/login`, { req: oreq, lang: 'en', inline: '1', phone: PHONE });
  assert.equal(res.status, 403);
  assert.equal(countRequests(oreq), 0);
  sql(`UPDATE app_requests SET status = 'refused' WHERE link_id = '${req}'`);
});

test('login_hint: an unknown +32 number gets the same pages (a decoy); other hints change nothing', async () => {
  const known = await authorizeHinted('+32 470 12 34 56');
  const unknown = await authorizeHinted('+32470999997');
  const page = async (h) => {
    const { res } = await postHinted(h);
    assert.equal(res.status, 200);
    const html = await res.text();
    const req = h.loc.searchParams.get('req');
    const aq = html.match(/name="aq" value="([^"]+)"/)[1];
    return { html, req, aq, csrf: html.match(/name="csrf" value="([^"]+)"/)[1] };
  };
  const [a, b] = [await page(known), await page(unknown)];
  const norm = (p) => p.html.replaceAll(p.req, 'REQ').replaceAll(p.aq, 'AQ').replaceAll(p.csrf, 'CSRF')
    .replace(/\d+/g, 'N');
  assert.equal(norm(b), norm(a));
  assert.equal(sqlRows(server, `SELECT account_id FROM app_requests WHERE id = '${b.aq}'`)[0].account_id,
    '-+32470999997');
  sql(`UPDATE app_requests SET status = 'refused' WHERE id IN ('${a.aq}', '${b.aq}')`);
  // Not a phone number, or not Belgian: the key choice as without a hint.
  for (const hint of ['demo@example.com', '+31612345678', 'x']) {
    const { loc } = await authorizeHinted(hint);
    assert.equal(loc.pathname, '/login', `login_hint=${hint}`);
  }
  // A +32 hint that is no mobile number: the hint page sends on to the key choice.
  const bad = await authorizeHinted('+32 12');
  assert.equal(bad.loc.pathname, '/key/app/hint');
  const res = await bad.agent.get(bad.loc.href);
  assert.equal(res.status, 303);
  assert.equal(new URL(res.headers.get('location'), server.base).pathname, '/login');
  assert.equal(countRequests(bad.loc.searchParams.get('req')), 0);
  // The hinted numbers are never logged.
  assert.doesNotMatch(server.log(), /470\s?12\s?34\s?56|470123456|470999997/);
});

test('login_hint counts against the same limits as a typed number: per number and per address', async () => {
  const s = await startServer({ config: { app: { rate_phone: 2, rate_ip: 4, rate_rp: 1000 } } });
  try {
    const r = await registerRp(s);
    const hinted = async (hint) => {
      const agent = new Agent();
      const { url } = await authRequest(r.config, { login_hint: hint, ui_locales: 'en' });
      let res = await agent.get(String(url));
      res = await agent.get(new URL(res.headers.get('location'), s.base).href);
      assert.equal(res.status, 200);
      const form = hiddenInputs(await res.text());
      return agent.post(`${s.base}/key/app/login`, { ...form, inline: '1', phone: hint });
    };
    // A number with an account (none on this server) and one without answer alike.
    assert.equal((await hinted('+32470111111')).status, 200);
    assert.equal((await hinted('+32470111111')).status, 200);
    let res = await hinted('+32470111111');
    assert.equal(res.status, 429, 'third request for one number in the window');
    assert.match(await res.text(), /Too many attempts/);
    assert.equal((await hinted('+32470111112')).status, 200);
    assert.equal((await hinted('+32470111113')).status, 200);
    res = await hinted('+32470111114');
    assert.equal(res.status, 429, 'fifth request from one address');
  } finally {
    await s.stop();
  }
});
