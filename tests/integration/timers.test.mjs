// timers.test.mjs — "more time" on the sleutel app's wait page (WCAG 2.2.1
// Timing Adjustable, issue 13 item 4): each extension moves the app
// request's expiry by one lifetime, at most 10 times (WCAG 2.2.1 "Extend":
// at least ten), never past 11 lifetimes from its creation nor past the
// authorization request; a form post with a
// CSRF token from the browser that started the login, which works without
// script (303 back to the wait page, which says so); an expired or answered
// request gets no more time; every try is audited.
//
// The same on the Smart-ID wait page (a national number without an account:
// its decoy request has the same pages and the same limits).
//
// The browser side (the warning, the announcements, the keyboard) is
// tests/browser/timers.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';
import { rrn } from './lib/eid.mjs';

const LIFETIME = 180; // [app] request_lifetime, the step of one extension
const EXTENSIONS_MAX = 10; // PORTAL_TIMER_EXTENSIONS_MAX
const TOTAL_MAX = (EXTENSIONS_MAX + 1) * LIFETIME; // portal_timer_cap
let server;
let rp;
let phones = 0;

const sql = (q) => dbSql(server, q);
const now = () => Math.floor(Date.now() / 1000);

function apprq(id) {
  const [row] = sqlRows(server, `SELECT status, created, expires, extended FROM app_requests WHERE id = '${id}'`);
  return row;
}

function audits() {
  return sqlRows(server, "SELECT result, detail FROM audit WHERE event = 'app.extend' ORDER BY seq");
}

before(async () => {
  server = await startServer({
    config: { app: { rate_phone: 1000, rate_ip: 1000, request_lifetime: LIFETIME }, smartid: { request_lifetime: LIFETIME } },
  });
  rp = await registerRp(server);
});

after(async () => { await server?.stop(); });

// A login waiting on a fresh account's phone: { agent, req, aq, waitUrl, form }
// (form: the "more time" form's fields, as the wait page has them).
async function waiting() {
  const n = ++phones;
  const phone = `+3247088${String(n).padStart(4, '0')}`;
  const t = now();
  sql(`INSERT INTO persons(id, rrn, given_name, family_name, birthdate, created, updated)
       VALUES ('tperson${n}', '8507301${String(n).padStart(4, '0')}', 'Demo', 'Timer${n}', '1985-07-30', ${t}, ${t});
       INSERT INTO accounts(id, person_id, phone, status, failures, locked_until, created)
       VALUES ('taccount${n}', 'tperson${n}', '${phone}', 'active', 0, 0, ${t});`);
  const agent = new Agent();
  const { url } = await authRequest(rp.config);
  let res = await agent.get(String(url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const formHtml = await (await agent.get(`${server.base}/key/app?req=${req}&lang=en`)).text();
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(formHtml), phone });
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'), server.base);
  const aq = loc.searchParams.get('aq');
  // The login request's own limit is not what these tests are about.
  sql(`UPDATE auth_requests SET expires = ${now() + 3 * TOTAL_MAX} WHERE id = '${req}'`);
  const html = await (await agent.get(loc.href)).text();
  const at = html.indexOf('action="/key/app/extend"');
  assert.ok(at > 0, 'the wait page offers more time');
  return { agent, req, aq, waitUrl: loc.href, form: hiddenInputs(html.slice(at)) };
}

const extend = (w, form = w.form, agent = w.agent) => agent.post(`${server.base}/key/app/extend`, form);

test('each extension adds one lifetime; after 10 the button is gone and an 11th is refused', async () => {
  const w = await waiting();
  const seq0 = audits().length;
  let last = apprq(w.aq);
  assert.equal(last.extended, 0);
  for (let i = 1; i <= EXTENSIONS_MAX; i++) {
    const res = await extend(w);
    assert.equal(res.status, 303, `extension ${i}`);
    const loc = new URL(res.headers.get('location'), server.base);
    assert.equal(loc.pathname, '/key/app/wait');
    assert.equal(loc.searchParams.get('aq'), w.aq);
    assert.equal(loc.searchParams.get('more'), '1');
    const r = apprq(w.aq);
    assert.equal(r.extended, i);
    assert.equal(r.expires, last.expires + LIFETIME, `extension ${i} adds ${LIFETIME} s`);
    last = r;
    // Without script: the page it returns to says so, focusable for wait.js.
    const html = await (await w.agent.get(loc.href)).text();
    assert.match(html, /<p id="wait-extended" class="notice" tabindex="-1">More time was added\.<\/p>/);
    assert.equal(html.includes('action="/key/app/extend"'), i < EXTENSIONS_MAX, `button after ${i}`);
    if (i === EXTENSIONS_MAX) assert.match(html, /No more time can be added\./);
  }
  const res = await extend(w);
  assert.equal(res.status, 409);
  assert.match(await res.text(), /No more time can be added/);
  assert.deepEqual(apprq(w.aq), last, 'the 11th changes nothing');
  const rows = audits().slice(seq0);
  assert.deepEqual(rows.map((a) => `${a.result} ${a.detail}`),
    [...Array.from({ length: EXTENSIONS_MAX }, (_, i) => `ok ${i + 1}/10`), 'limit 10/10']);
});

test('posts at once cannot pass the bound together', async () => {
  const w = await waiting();
  const start = apprq(w.aq);
  const codes = (await Promise.all(Array.from({ length: EXTENSIONS_MAX + 2 }, () => extend(w)))).map((r) => r.status);
  assert.equal(codes.filter((c) => c === 303).length >= EXTENSIONS_MAX, true, `answers ${codes}`);
  assert.ok(codes.every((c) => c === 303 || c === 409), `answers ${codes}`);
  const r = apprq(w.aq);
  assert.equal(r.extended, EXTENSIONS_MAX);
  assert.equal(r.expires, start.expires + EXTENSIONS_MAX * LIFETIME);
});

test('never past 11 lifetimes from the request, nor past the authorization request', async () => {
  const w = await waiting();
  // Made TOTAL_MAX - 100 s ago with 60 s left: the step would pass the cap.
  const t = now();
  sql(`UPDATE app_requests SET created = ${t - TOTAL_MAX + 100}, expires = ${t + 60} WHERE id = '${w.aq}'`);
  assert.equal((await extend(w)).status, 303);
  assert.equal(apprq(w.aq).expires, t + 100, 'capped at 11 lifetimes');
  assert.equal(apprq(w.aq).extended, 1);
  assert.equal((await extend(w)).status, 409, 'at the cap: no more');
  assert.equal(apprq(w.aq).extended, 1);

  // The login request at its own limit (10 extensions): the wait stops at its end.
  const w2 = await waiting();
  const r = apprq(w2.aq);
  sql(`UPDATE auth_requests SET expires = ${r.expires + 30}, extended = 10 WHERE id = '${w2.req}'`);
  assert.equal((await extend(w2)).status, 303);
  assert.equal(apprq(w2.aq).expires, r.expires + 30, 'capped at the authorization request');
  assert.equal((await extend(w2)).status, 409);
});

test('a wait that would pass the login request extends that request too, audited', async () => {
  const w = await waiting();
  const r = apprq(w.aq);
  sql(`UPDATE auth_requests SET expires = ${r.expires + 30}, extended = 4 WHERE id = '${w.req}'`);
  const seq0 = sqlRows(server, "SELECT count(*) AS n FROM audit WHERE event = 'login.extend'")[0].n;
  const t = now();
  assert.equal((await extend(w)).status, 303);
  assert.equal(apprq(w.aq).expires, r.expires + LIFETIME, 'a whole step, past the old end');
  const [ar] = sqlRows(server, `SELECT expires, extended FROM auth_requests WHERE id = '${w.req}'`);
  assert.equal(ar.extended, 5);
  assert.ok(ar.expires >= t + 900 && ar.expires <= now() + 900, 'the login request got a new window');
  const rows = sqlRows(server, "SELECT result, detail FROM audit WHERE event = 'login.extend' ORDER BY seq").slice(seq0);
  assert.deepEqual(rows.map((a) => `${a.result} ${a.detail}`), ['ok 5/10']);
  // Within the login request's window: no second extension of it.
  assert.equal((await extend(w)).status, 303);
  assert.equal(sqlRows(server, `SELECT extended FROM auth_requests WHERE id = '${w.req}'`)[0].extended, 5);
});

test('CSRF: a missing or wrong token, or another browser, gets no time', async () => {
  const w = await waiting();
  const before = apprq(w.aq);
  let res = await extend(w, { ...w.form, csrf: '' });
  assert.equal(res.status, 403);
  assert.match(await res.text(), /This form has expired/);
  res = await extend(w, { ...w.form, csrf: w.form.csrf.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) });
  assert.equal(res.status, 403);
  const { csrf, ...noCsrf } = w.form;
  void csrf;
  assert.equal((await extend(w, noCsrf)).status, 403);
  // The same form from a browser without the login's cookie.
  res = await extend(w, w.form, new Agent());
  assert.ok(res.status >= 400 && res.status < 500, `another browser: ${res.status}`);
  // Another login's app request, with this login's token.
  const other = await waiting();
  res = await extend(w, { ...w.form, aq: other.aq });
  assert.equal(res.status, 404);
  assert.deepEqual(apprq(w.aq), before);
  assert.equal(apprq(other.aq).extended, 0);
});

test('an expired or answered request cannot be extended', async () => {
  const w = await waiting();
  const gone = now() - 1;
  sql(`UPDATE app_requests SET expires = ${gone} WHERE id = '${w.aq}'`);
  const seq0 = audits().length;
  const res = await extend(w);
  assert.equal(res.status, 410);
  assert.match(await res.text(), /This login request has expired/);
  assert.deepEqual([apprq(w.aq).expires, apprq(w.aq).extended], [gone, 0]);
  assert.deepEqual(audits().slice(seq0).map((a) => a.result), ['expired']);

  const w2 = await waiting();
  sql(`UPDATE app_requests SET status = 'refused' WHERE id = '${w2.aq}'`);
  const before = apprq(w2.aq);
  const res2 = await extend(w2);
  assert.equal(res2.status, 303, 'back to the wait page, which says how it ended');
  assert.equal(new URL(res2.headers.get('location'), server.base).searchParams.get('more'), null);
  assert.deepEqual(apprq(w2.aq), before);
  const html = await (await w2.agent.get(w2.waitUrl)).text();
  assert.match(html, /You refused the request on your phone/);
});

test('the wait page carries the announcements and keeps the countdown silent', async () => {
  const w = await waiting();
  const html = await (await w.agent.get(w.waitUrl)).text();
  assert.match(html, /<p class="countdown" role="timer" aria-live="off" [^>]*id="countdown">/);
  assert.match(html, /id="wait-status" class="status" role="status" aria-live="polite"/);
  assert.match(html, /data-say-120="2 minutes left" data-say-60="1 minute left" data-say-30="30 seconds left"/);
  const nl = await (await w.agent.get(`${w.waitUrl.replace('lang=en', 'lang=nl')}`)).text();
  assert.match(nl, /data-say-120="Nog 2 minuten" data-say-60="Nog 1 minuut" data-say-30="Nog 30 seconden"/);
  assert.match(nl, />Ik heb meer tijd nodig</);
});

// Without script the server's text is all there is: one translated sentence
// with the number in it, in the plural form that number takes; the script
// gets both forms with %1 kept (data-one, data-other).
test('the countdown without script: the sentence in the plural form of its number (en, nl, fr, de)', async () => {
  const w = await waiting();
  const page = async (lang) => (await w.agent.get(w.waitUrl.replace('lang=en', `lang=${lang}`))).text();
  const forms = {
    en: ['%1 second left', '%1 seconds left'],
    nl: ['Nog %1 seconde', 'Nog %1 seconden'],
    fr: ['%1 seconde restante', '%1 secondes restantes'],
    de: ['Noch %1 Sekunde', 'Noch %1 Sekunden'],
  };
  for (const [lang, [one, many]] of Object.entries(forms)) {
    const html = await page(lang);
    const m = html.match(/data-remaining="(\d+)"[^]*<p class="countdown" role="timer" aria-live="off" data-one="([^"]*)" data-other="([^"]*)" id="countdown">([^<]*)<\/p>/);
    assert.ok(m, `${lang}: the countdown`);
    const n = Number(m[1]);
    assert.ok(n > LIFETIME - 30 && n <= LIFETIME, `${lang}: ${n} s left`);
    assert.deepEqual([m[2], m[3], m[4]], [one, many, many.replace('%1', String(n))], lang);
    assert.doesNotMatch(html, /<span id="countdown">/, `${lang}: no number split from its words`);
  }
  // One second left: the singular.  The server counts whole seconds, so a
  // second may turn between setting the expiry and the page: try again then.
  // A page that found the request past its expiry ended it and its login
  // request (denied), so each try opens both again.
  for (const [lang, [one]] of Object.entries(forms)) {
    let html = '';
    for (let i = 0; i < 10 && !/data-remaining="1"/.test(html); i++) {
      sql(`UPDATE auth_requests SET status = 'pending' WHERE id = '${w.req}';
           UPDATE app_requests SET status = 'pending', expires = ${now() + 1} WHERE id = '${w.aq}'`);
      html = await page(lang);
    }
    assert.match(html, /data-remaining="1"/, `${lang}: a page with one second left`);
    assert.ok(html.includes(`id="countdown">${one.replace('%1', '1')}</p>`), `${lang}: ${one} for 1`);
  }
});

test('Smart-ID: the same steps, limits, CSRF and audit', async () => {
  const agent = new Agent();
  const { url } = await authRequest(rp.config);
  let res = await agent.get(String(url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const formHtml = await (await agent.get(`${server.base}/key/smartid?req=${req}&lang=en`)).text();
  res = await agent.post(`${server.base}/key/smartid/login`, { ...hiddenInputs(formHtml), rrn: rrn('850730', 955) });
  assert.equal(res.status, 303, await res.text());
  const wait = new URL(res.headers.get('location'), server.base);
  const sq = wait.searchParams.get('sq');
  sql(`UPDATE auth_requests SET expires = ${now() + 3 * TOTAL_MAX} WHERE id = '${req}'`);
  const row = () => sqlRows(server, `SELECT expires, extended FROM sid_requests WHERE id = '${sq}'`)[0];
  const html = await (await agent.get(wait.href)).text();
  const at = html.indexOf('action="/key/smartid/extend"');
  assert.ok(at > 0, 'the Smart-ID wait page offers more time');
  const form = hiddenInputs(html.slice(at));
  assert.equal(form.sq, sq);
  const post = (f = form) => agent.post(`${server.base}/key/smartid/extend`, f);
  assert.equal((await post({ ...form, csrf: 'x' })).status, 403);
  assert.equal(row().extended, 0);
  const seq0 = sqlRows(server, "SELECT count(*) AS n FROM audit WHERE event = 'smartid.extend'")[0].n;
  let last = row();
  for (let i = 1; i <= EXTENSIONS_MAX; i++) {
    res = await post();
    assert.equal(res.status, 303);
    assert.equal(new URL(res.headers.get('location'), server.base).searchParams.get('more'), '1');
    assert.deepEqual(row(), { expires: last.expires + LIFETIME, extended: i });
    last = row();
  }
  const page = await (await agent.get(`${wait.href}&more=1`)).text();
  assert.match(page, /More time was added\./);
  assert.match(page, /No more time can be added\./);
  assert.doesNotMatch(page, /action="\/key\/smartid\/extend"/);
  assert.equal((await post()).status, 409);
  assert.deepEqual(row(), last);
  const rows = sqlRows(server, `SELECT result, detail, key FROM audit WHERE event = 'smartid.extend' ORDER BY seq`).slice(seq0);
  assert.deepEqual(rows.map((a) => `${a.key} ${a.result} ${a.detail}`),
    [...Array.from({ length: EXTENSIONS_MAX }, (_, i) => `smartid ok ${i + 1}/10`), 'smartid limit 10/10']);
  // Expired: no more time.
  sql(`UPDATE sid_requests SET expires = ${now() - 1}, extended = 0 WHERE id = '${sq}'`);
  assert.equal((await post()).status, 410);
  assert.equal(row().extended, 0);
});
