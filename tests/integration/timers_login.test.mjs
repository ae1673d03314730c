// timers_login.test.mjs — "more time" on the login request itself (WCAG
// 2.2.1 Timing Adjustable, issue 13 item 4; src/portal/timelimit.c): the
// key choice, app number, eID and consent pages carry a form (POST
// /login/more with the browser's CSRF token, no script needed) that starts
// the request's window again from now, at most 10 times, in one
// conditional UPDATE; every try is audited as "login.extend".
//
// The browser side (the warning, its announcement, the keyboard) is
// tests/browser/timers.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';

const LIFETIME = 120; // [oidc] request_lifetime: the window more time starts again
const EXTENSIONS_MAX = 10; // PORTAL_TIMELIMIT_EXTENSIONS_MAX
let server;
let rp;

const sql = (q) => dbSql(server, q);
const now = () => Math.floor(Date.now() / 1000);
const authreq = (id) =>
  sqlRows(server, `SELECT expires, extended, status FROM auth_requests WHERE id = '${id}'`)[0];
const audits = () =>
  sqlRows(server, "SELECT result, detail, client_id FROM audit WHERE event = 'login.extend' ORDER BY seq");

before(async () => {
  server = await startServer({ config: { oidc: { request_lifetime: LIFETIME } } });
  rp = await registerRp(server);
});

after(async () => { await server?.stop(); });

// A fresh login on its key choice page: { agent, req, form } (form: the
// "more time" form's fields as the page has them).
async function login(path = '/login') {
  const agent = new Agent();
  const { url } = await authRequest(rp.config);
  const res = await agent.get(String(url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const html = await (await agent.get(`${server.base}${path}?req=${req}&lang=en`)).text();
  const at = html.indexOf('action="/login/more"');
  assert.ok(at > 0, `${path} offers more time`);
  return { agent, req, html, form: hiddenInputs(html.slice(at)) };
}

const more = (l, form = l.form, agent = l.agent) => agent.post(`${server.base}/login/more`, form);

test('each page carries the form, which returns to it; the window starts again', async () => {
  for (const [path, page] of [['/login', 'login'], ['/key/app', 'app'], ['/key/eid', 'eid']]) {
    const l = await login(path);
    assert.equal(l.form.page, page);
    assert.equal(l.form.req, l.req);
    assert.match(l.html, /<button type="submit" class="secondary" id="timelimit-more">I need more time<\/button>/);
    sql(`UPDATE auth_requests SET expires = ${now() + 20} WHERE id = '${l.req}'`);
    const t = now();
    const res = await more(l);
    assert.equal(res.status, 303, path);
    const loc = new URL(res.headers.get('location'), server.base);
    assert.equal(loc.pathname, path);
    assert.equal(loc.searchParams.get('req'), l.req);
    assert.equal(loc.searchParams.get('more'), '1');
    const r = authreq(l.req);
    assert.equal(r.extended, 1);
    assert.ok(r.expires >= t + LIFETIME && r.expires <= now() + LIFETIME, `${path}: ${r.expires - t}`);
    // Without script: the page it returns to says so, focusable for wait.js.
    const html = await (await l.agent.get(loc.href)).text();
    assert.match(html, /<p id="timelimit-extended" class="notice" tabindex="-1">More time was added\.<\/p>/);
    assert.match(html, /ends in 2 minutes/);
  }
  // The consent page's form returns there (the page itself needs a login
  // done: tests/browser/timers.test.mjs walks it).
  const l = await login();
  const res = await more(l, { ...l.form, page: 'consent' });
  assert.equal(new URL(res.headers.get('location'), server.base).pathname, '/login/consent');
  // Any other page name is refused: no redirect to an address of the post's.
  const bad = await more(l, { ...l.form, page: '//evil.example' });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('location'), null);
});

test('10 extensions; then the form is gone and an 11th is refused (409), each audited', async () => {
  const l = await login();
  const seq0 = audits().length;
  for (let i = 1; i <= EXTENSIONS_MAX; i++) {
    // Near the end each time, so each post has a window to start again.
    sql(`UPDATE auth_requests SET expires = ${now() + 30} WHERE id = '${l.req}'`);
    assert.equal((await more(l)).status, 303, `extension ${i}`);
    assert.equal(authreq(l.req).extended, i);
  }
  const html = await (await l.agent.get(`${server.base}/login?req=${l.req}&lang=en&more=1`)).text();
  assert.doesNotMatch(html, /action="\/login\/more"/);
  assert.match(html, /data-warn="Less than 2 minutes left to finish logging in\. After that, go back/);
  const last = authreq(l.req);
  const res = await more(l);
  assert.equal(res.status, 409);
  assert.match(await res.text(), /No more time can be added/);
  assert.deepEqual(authreq(l.req), last, 'the 11th changes nothing');
  const rows = audits().slice(seq0);
  assert.deepEqual(rows.map((a) => `${a.result} ${a.detail}`),
    [...Array.from({ length: EXTENSIONS_MAX }, (_, i) => `ok ${i + 1}/10`), 'limit 10/10']);
  assert.equal(rows[0].client_id, rp.config.clientMetadata().client_id);
});

test('posts at once add one window, not several', async () => {
  const l = await login();
  sql(`UPDATE auth_requests SET expires = ${now() + 30} WHERE id = '${l.req}'`);
  const t = now();
  const codes = (await Promise.all(Array.from({ length: 8 }, () => more(l)))).map((r) => r.status);
  assert.ok(codes.every((c) => c === 303), `answers ${codes}`);
  const r = authreq(l.req);
  // Posts within one second: one UPDATE matches; one crossing a second
  // may start the window once more, from that second.
  assert.ok(r.extended >= 1 && r.extended <= 2, `extended ${r.extended}`);
  assert.ok(r.expires <= now() + LIFETIME && r.expires >= t + LIFETIME, `expires in ${r.expires - t}`);
  // A whole window or more left: nothing to add, no count.
  sql(`UPDATE auth_requests SET expires = ${now() + LIFETIME + 60} WHERE id = '${l.req}'`);
  const before = authreq(l.req);
  const res = await more(l);
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'), server.base);
  assert.equal(loc.searchParams.get('more'), '0');
  assert.deepEqual(authreq(l.req), before);
  // Without script the page says why nothing changed.
  const html = await (await l.agent.get(loc.href)).text();
  assert.match(html, /<p id="timelimit-extended" class="notice" tabindex="-1">This login request already has all the time it can get at once\. Ask again when less is left\.<\/p>/);
  assert.doesNotMatch(html, /More time was added/);
});

test('CSRF: a missing or wrong token, or another browser, gets no time', async () => {
  const l = await login();
  const before = authreq(l.req);
  let res = await more(l, { ...l.form, csrf: '' });
  assert.equal(res.status, 403);
  assert.match(await res.text(), /This form has expired/);
  res = await more(l, { ...l.form, csrf: l.form.csrf.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) });
  assert.equal(res.status, 403);
  res = await more(l, l.form, new Agent());
  assert.ok(res.status >= 400 && res.status < 500, `another browser: ${res.status}`);
  // Another login's request with this login's token.
  const other = await login();
  res = await more(l, { ...l.form, req: other.req });
  assert.ok(res.status >= 400 && res.status < 500, `another request: ${res.status}`);
  assert.deepEqual(authreq(l.req), before);
  assert.equal(authreq(other.req).extended, 0);
});

test('an expired or answered request gets no time', async () => {
  const l = await login();
  sql(`UPDATE auth_requests SET expires = ${now() - 1} WHERE id = '${l.req}'`);
  let res = await more(l);
  assert.ok(res.status === 404 || res.status === 410, `expired: ${res.status}`);
  assert.match(await res.text(), /This login request has expired/);
  assert.equal(authreq(l.req).extended, 0);

  const l2 = await login();
  sql(`UPDATE auth_requests SET status = 'answered' WHERE id = '${l2.req}'`);
  res = await more(l2);
  assert.ok(res.status === 404 || res.status === 410, `answered: ${res.status}`);
  assert.equal(authreq(l2.req).extended, 0);
});

test('the warning names the button, in the four languages', async () => {
  const l = await login();
  assert.match(l.html, /data-warn="Less than 2 minutes left to finish logging in\. Need more time\? Use the button below\."/);
  const nl = await (await l.agent.get(`${server.base}/login?req=${l.req}&lang=nl`)).text();
  assert.match(nl, />Ik heb meer tijd nodig</);
  assert.match(nl, /Nog minder dan 2 minuten om het inloggen af te ronden\. Meer tijd nodig\? Gebruik de knop hieronder\./);
  for (const [lang, button] of [['fr', "J'ai besoin de plus de temps"], ['de', 'Ich brauche mehr Zeit']]) {
    const html = await (await l.agent.get(`${server.base}/login?req=${l.req}&lang=${lang}`)).text();
    assert.ok(html.includes(`id="timelimit-more">${button.replace("'", '&#39;')}<`), lang);
  }
});

// Plural forms (i18n_ngettext, each catalog's Plural-Forms rule): the
// registration code's minutes from [smartid] registration_lifetime, one
// minute and fifteen, in the four languages.
test('plural forms: "1 minuut", "1 minute", "15 Minuten", never "1 minuten"', async () => {
  const one = await startServer({ config: { smartid: { registration_lifetime: 90 } } });
  try {
    const page = async (srv, lang) => (await (await new Agent().get(`${srv.base}/smartid/register?lang=${lang}`)).text());
    const want = {
      nl: ['De registratiecode is 1 minuut geldig.', 'De registratiecode is 15 minuten geldig.'],
      fr: ["Le code d&#39;enregistrement est valable 1 minute.", "Le code d&#39;enregistrement est valable 15 minutes."],
      de: ['Der Registrierungscode ist 1 Minute gültig.', 'Der Registrierungscode ist 15 Minuten gültig.'],
      en: ['The registration code is valid for 1 minute.', 'The registration code is valid for 15 minutes.'],
    };
    for (const [lang, [single, many]] of Object.entries(want)) {
      const a = await page(one, lang);
      const b = await page(server, lang);
      assert.ok(a.includes(single), `${lang}: ${single}`);
      assert.ok(b.includes(many), `${lang}: ${many}`);
    }
    assert.doesNotMatch(await page(one, 'nl'), /1 minuten/);
  } finally {
    await one.stop();
  }
});
