// site.test.mjs — the public site (src/site) against a real sleuteld: the
// Partners page follows `sleutel client ... --partner-url URL|--no-partner`
// (an opted-in client appears with its name and link, an opted-out one does
// not, a hostile name is escaped, bad links are refused before anything is
// written, at most SITE_PARTNERS_MAX are listed); pages are cacheable with
// an ETag and carry the portal's security headers; unknown pages and
// languages are a 404 page in the right language (for a browser; an API
// client keeps the JSON 404); odd paths never crash it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from './lib/harness.mjs';
import { operatorCli } from './lib/cli.mjs';
import { sqlAsync } from './lib/db.mjs';
import { portalTexts } from '../browser/lib/i18n.mjs';

const SITE_PARTNERS_MAX = 100; // src/site/site.h
const SITE_MAX_AGE = 300;
const HTML_ACCEPT = 'text/html,application/xhtml+xml,*/*;q=0.8';
const HOSTILE = '<script>alert("x")</script> & Zoë\'s "portal"';

let server;
let cli;
let cliJson;
let sql;
let T;

before(async () => {
  ({ T } = portalTexts());
  server = await startServer();
  ({ cli, cliJson, sql } = operatorCli(server, { USER: 'operator-site' }));
});
after(async () => {
  await server?.stop();
});

const get = (p, headers = {}) => fetch(`${server.base}${p}`, { headers, redirect: 'manual' });

// The html-escaped form of a text, as the templates write it.
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

async function addClient(name, ...extra) {
  const c = await cliJson('client', 'add', '--name', name, '--redirect-uri', 'https://rp.example/cb', ...extra);
  return c;
}

// The <li> items of the Partners page in `lang`: [{ href, name, keys }].
async function partners(lang = 'nl') {
  const res = await get(`/${lang}/partners`);
  assert.equal(res.status, 200);
  const html = await res.text();
  return [...html.matchAll(/<li><h2><a href="([^"]*)">(.*?)<\/a><\/h2><p>(.*?)<\/p><\/li>/g)]
    .map((m) => ({ href: m[1], name: m[2], keys: m[3], html }));
}

test('partners: an opted-in client is listed with its name, link and keys; an opted-out one is not', async () => {
  const empty = await (await get('/en/partners')).text();
  assert.match(empty, new RegExp(esc(T.t('en', 'No site has asked to be listed here yet.'))));

  const listed = await addClient('Mijn gezondheid', '--partner-url', 'https://www.mijngezondheid.example/start');
  assert.equal(listed.partner_url, 'https://www.mijngezondheid.example/start');
  const quiet = await addClient('Stille dienst');
  assert.equal(quiet.partner_url, null);

  let list = await partners('nl');
  assert.deepEqual(list.map((p) => [p.name, p.href]), [['Mijn gezondheid', 'https://www.mijngezondheid.example/start']]);
  // Every key the portal offers ([portal] keys = eid,app,smartid by default), in the page's language.
  const keysNl = `${T.t('nl', 'Log in there with:')} ${['eID card reader', 'sleutel app', 'Smart-ID'].map((k) => T.t('nl', k)).join(', ')}`;
  assert.equal(list[0].keys, esc(keysNl));
  assert.doesNotMatch(list[0].html, /Stille dienst/);
  assert.doesNotMatch(list[0].html, new RegExp(esc(T.t('nl', 'No site has asked to be listed here yet.'))));

  // Opting in later, and out again; both audited.
  let r = await cli('client', 'update', quiet.client_id, '--partner-url', 'https://stil.example/');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /partner_url\s+https:\/\/stil\.example\//);
  list = await partners('fr');
  assert.deepEqual(list.map((p) => p.name).sort(), ['Mijn gezondheid', 'Stille dienst'], 'added in one second: any order');
  r = await cli('client', 'update', listed.client_id, '--no-partner');
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /partner_url/);
  list = await partners('de');
  assert.deepEqual(list.map((p) => p.name), ['Stille dienst']);
  const shown = await cliJson('client', 'show', listed.client_id);
  assert.equal(shown.partner_url, null);
  const audit = await sql("SELECT client_id, detail FROM audit WHERE event = 'client.partner' ORDER BY seq");
  assert.deepEqual(audit.map((a) => [a.client_id, a.detail.replace(/^operator operator-site: /, '')]), [
    [listed.client_id, 'https://www.mijngezondheid.example/start'],
    [quiet.client_id, 'https://stil.example/'],
    [listed.client_id, 'not listed'],
  ]);
  // A client removed is off the list.
  assert.equal((await cli('client', 'remove', quiet.client_id)).code, 0);
  assert.deepEqual(await partners('en'), []);
});

test('partners: a hostile name is escaped; bad links are refused before anything is written', async () => {
  const c = await addClient(HOSTILE, '--partner-url', 'https://evil.example/?a=1&b=2');
  const list = await partners('en');
  const mine = list.find((p) => p.href === 'https://evil.example/?a=1&amp;b=2');
  assert.ok(mine, `listed: ${JSON.stringify(list.map((p) => p.href))}`);
  assert.equal(mine.name, esc(HOSTILE));
  assert.doesNotMatch(mine.html, /<script>alert/);

  const before = await sql('SELECT count(*) AS n FROM clients');
  for (const bad of ['javascript:alert(1)', 'http://example.com/', 'https://a.example/"onmouseover=x',
    'https://a.example/<b>', 'https://user@evil.example/', 'https://a.example/#top', 'https://a.example/ x',
    `https://a.example/${'a'.repeat(256 - 17)}`, 'https://a.example/é', 'https://']) {
    const add = await cli('client', 'add', '--name', 'Bad', '--redirect-uri', 'https://rp.example/cb', '--partner-url', bad);
    assert.equal(add.code, 1, `add accepted ${bad}`);
    assert.match(add.stderr, /--partner-url/, `add ${bad}: ${add.stderr}`);
    const upd = await cli('client', 'update', c.client_id, '--partner-url', bad);
    assert.equal(upd.code, 1, `update accepted ${bad}`);
  }
  assert.deepEqual(await sql('SELECT count(*) AS n FROM clients'), before);
  assert.equal((await cliJson('client', 'show', c.client_id)).partner_url, 'https://evil.example/?a=1&b=2');
  // 256 characters is the limit, and is allowed.
  const longest = `https://a.example/${'a'.repeat(256 - 18)}`;
  assert.equal(longest.length, 256);
  assert.equal((await cli('client', 'update', c.client_id, '--partner-url', longest)).code, 0);
  // Usage: an unknown client, --no-partner with --partner-url, nothing to change.
  assert.equal((await cli('client', 'update', 'nobody', '--no-partner')).code, 1);
  const twice = await cli('client', 'update', c.client_id, '--no-partner', '--partner-url', 'https://x.example/');
  assert.notEqual(twice.code, 0);
  assert.match(twice.stderr, /once/);
  assert.equal((await cli('client', 'remove', c.client_id)).code, 0);
});

test(`partners: at most ${SITE_PARTNERS_MAX} listed, the oldest first, the longest entries fit the page`, async () => {
  // Written behind the CLI's back: 101 clients with the longest name (100
  // characters) and link (256) the CLI lets through, made of the characters
  // that grow most when escaped (" is &quot;, & is &amp;).
  const rows = [];
  for (let i = 1; i <= SITE_PARTNERS_MAX + 1; i++) {
    const name = `Bulk ${i} `.padEnd(100, '"');
    const url = `https://bulk.example/${i}?`.padEnd(256, '&');
    rows.push(`('bulk${i}', '${name}', 'client_secret_basic', '[]', '[]', 'ES256', 'bulk.example', 0, ${1000 + i}, '${url}')`);
  }
  await sqlAsync(server, 'INSERT INTO clients (client_id, name, auth_method, redirect_uris, post_logout_uris, ' +
    `id_token_alg, sector, require_par, created, partner_url) VALUES ${rows.join(', ')}`);
  const list = await partners('en');
  assert.equal(list.length, SITE_PARTNERS_MAX);
  assert.ok(list[0].name.startsWith('Bulk 1 &quot;'), list[0].name.slice(0, 20));
  assert.ok(list.at(-1).name.startsWith(`Bulk ${SITE_PARTNERS_MAX} &quot;`));
  assert.ok(list[0].href.endsWith('&amp;'.repeat(10)));
  assert.ok(list[0].html.length > 150000 && list[0].html.length < 256 * 1024, `the page is ${list[0].html.length} bytes`);
  await sqlAsync(server, "DELETE FROM clients WHERE client_id LIKE 'bulk%'");
});

test('pages: cacheable with an ETag (304 on If-None-Match), the security headers, no cookie', async () => {
  for (const lang of ['nl', 'fr', 'de', 'en']) {
    for (const page of ['', 'safety', 'get-started', 'partners', 'faq']) {
      const res = await get(`/${lang}/${page}`);
      assert.equal(res.status, 200, `/${lang}/${page}`);
      assert.equal(res.headers.get('content-language'), lang);
      assert.equal(res.headers.get('cache-control'), `public, max-age=${SITE_MAX_AGE}`);
      assert.match(res.headers.get('etag'), /^"[0-9a-f]{32}"$/);
      assert.match(res.headers.get('content-security-policy'), /default-src 'none'.*frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('strict-transport-security'), /max-age=\d+/);
      assert.equal(res.headers.get('set-cookie'), null);
      const html = await res.text();
      assert.match(html, new RegExp(`<html lang="${lang}">`));
    }
  }
  const first = await get('/fr/faq');
  const etag = first.headers.get('etag');
  for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
    const again = await get('/fr/faq', { 'if-none-match': inm });
    assert.equal(again.status, 304, `If-None-Match: ${inm}`);
    assert.equal(again.headers.get('etag'), etag);
    assert.equal(again.headers.get('cache-control'), `public, max-age=${SITE_MAX_AGE}`);
    assert.equal(await again.text(), '');
  }
  assert.equal((await get('/fr/faq', { 'if-none-match': '"other"' })).status, 200);
  assert.equal((await get('/de/faq', { 'if-none-match': etag })).status, 200, 'another language, another tag');
  // The Partners page's tag follows the list.
  const p1 = (await get('/en/partners')).headers.get('etag');
  const c = await addClient('Tag test', '--partner-url', 'https://tag.example/');
  const p2 = await get('/en/partners', { 'if-none-match': p1 });
  assert.equal(p2.status, 200);
  assert.notEqual(p2.headers.get('etag'), p1);
  await cli('client', 'remove', c.client_id);
  // HEAD: the headers, no body.
  const head = await fetch(`${server.base}/nl/`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('etag'), (await get('/nl/')).headers.get('etag'));
});

test('"/" and "/xx" send the browser to its language; unknown pages and languages are a 404 page in the right language', async () => {
  let res = await get('/', { 'accept-language': 'de-BE,de;q=0.9' });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/de/');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  res = await get('/', { 'accept-language': 'es' });
  assert.equal(res.headers.get('location'), '/nl/', 'the default language');
  res = await get('/?lang=en', { 'accept-language': 'fr' });
  assert.equal(res.headers.get('location'), '/en/');
  assert.match(res.headers.get('set-cookie'), /^__Host-sl_lang=en;/);
  res = await get('/', { cookie: '__Host-sl_lang=fr', 'accept-language': 'de' });
  assert.equal(res.headers.get('location'), '/fr/', 'the cookie beats Accept-Language');
  res = await get('/fr');
  assert.equal(res.status, 301);
  assert.equal(res.headers.get('location'), '/fr/');

  const HTML = { accept: HTML_ACCEPT };
  const notFound = async (p, lang, headers = {}, site = true) => {
    const r = await get(p, { ...HTML, ...headers });
    assert.equal(r.status, 404, p);
    assert.equal(r.headers.get('content-language'), lang, p);
    assert.equal(r.headers.get('cache-control'), 'no-store', p);
    const html = await r.text();
    assert.match(html, new RegExp(`<html lang="${lang}">`), p);
    assert.match(html, new RegExp(`<h1>${esc(T.t(lang, 'Page not found'))}</h1>`), p);
    if (site) assert.match(html, new RegExp(`<a href="/${lang}/">${esc(T.t(lang, 'Discover sleutel'))}</a>`), p);
    return html;
  };
  // An unknown page: the site's 404 page in the path's language.
  await notFound('/nl/bestaat-niet', 'nl');
  await notFound('/fr/faq/', 'fr');
  await notFound('/de/FAQ', 'de');
  await notFound('/en/partners/x', 'en', { 'accept-language': 'nl' });
  // An unknown language matches no route: a browser is shown the 404 page
  // in its own language.
  await notFound('/xx/faq', 'fr', { 'accept-language': 'fr-BE' }, false);
  await notFound('/NL/', 'de', { 'accept-language': 'de' }, false);
  await notFound('/zz', 'nl', { 'accept-language': 'es' }, false);
  await notFound('/nlx/faq', 'en', { cookie: '__Host-sl_lang=en' }, false);

  // An API client (no text/html in Accept) gets the JSON 404, as before.
  for (const p of ['/nothing/here', '/xx/faq']) {
    res = await get(p);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'invalid_request', error_description: 'no such endpoint' });
  }
  res = await fetch(`${server.base}/nothing-here`, { method: 'POST', body: 'a=b' });
  assert.equal(res.status, 404);
  // A POST to a page: 405 with Allow.
  res = await fetch(`${server.base}/nl/faq`, { method: 'POST', body: 'a=b' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
});

test('odd paths never crash the server', async () => {
  const odd = ['/nl/%00', '/nl/%2e%2e/%2e%2e/etc/passwd', '/nl/..', `/nl/${'a'.repeat(4000)}`, '/n', '/%6e%6c/',
    '/nl//', '/nl/%ff%fe', '/nl/faq%00', '/%00/', '/é/', '/nl/<script>', '/a/', '/ab', '/abc/'];
  for (const p of odd) {
    const r = await fetch(`${server.base}${p}`, { redirect: 'manual', headers: { accept: HTML_ACCEPT } });
    assert.ok([200, 301, 302, 400, 404, 414, 431].includes(r.status), `${p}: ${r.status}`);
    const body = await r.text();
    assert.doesNotMatch(body, /<script>/, `${p}: a path is never echoed unescaped`);
  }
  assert.equal((await get('/healthz')).status, 200);
});

test('"Get started" names the limits this server is configured with', async () => {
  const say = async (base, lang) => (await (await fetch(`${base}/${lang}/get-started`)).text());
  const expect = (html, lang, n) => {
    const t = (id, v) => esc(T.t(lang, id).replace('%1', v));
    assert.ok(html.includes(t('You receive a 5-digit activation code by text message: type it in the app within %1 minutes.', n.sms)), `${lang}: SMS minutes ${n.sms}`);
    assert.ok(html.includes(t('You have %1 tries.', n.tries)), `${lang}: tries ${n.tries}`);
    assert.ok(html.includes(t('Finish within %1 minutes of starting; otherwise start again.', n.enrol)), `${lang}: enrolment ${n.enrol}`);
    assert.ok(html.includes(t('The page shows a verification code and a countdown: you have %1 minutes.', n.login)), `${lang}: login ${n.login}`);
    assert.ok(html.includes(t('Follow the link in the app on your computer: log in with your eID card, answer a few questions and type the registration code the app shows. It is valid for %1 minutes.', n.sid)), `${lang}: Smart-ID ${n.sid}`);
  };
  // The defaults: the manuals' numbers.
  expect(await say(server.base, 'nl'), 'nl', { sms: 10, tries: 3, enrol: 30, login: 3, sid: 15 });
  const other = await startServer({ config: {
    app: { sms_code_lifetime: 300, sms_attempts: 5, enrollment_lifetime: 1200, request_lifetime: 90 },
    smartid: { registration_lifetime: 600 },
  } });
  try {
    expect(await say(other.base, 'fr'), 'fr', { sms: 5, tries: 5, enrol: 20, login: 2, sid: 10 });
  } finally {
    await other.stop();
  }
});
