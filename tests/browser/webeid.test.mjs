// webeid.test.mjs — the eID page's Web eID alternative in a real browser
// (Debian's Chromium through playwright-core).
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/webeid.test.mjs
//
// The Web eID extension's content script is stood in for by an init script
// that speaks its window-message protocol (web-eid:authenticate → -ack →
// -success with the token, or -failure with a code); the token is signed
// in this process by a demo PKI card's key (tests/integration/lib/webeid.mjs),
// over the origin and challenge the page handed over, as the extension's
// app has the card do. What is checked: the whole login from the RP with
// the card's identity arriving there; a browser without the extension (the
// fallback text, the TLS button still there); a cancel in the extension;
// a revoked card refused with the portal's message in the person's
// language; axe on the page with its Web eID section; no CSP violation.
// Screenshots go to tests/artifacts/browser/45-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, SLEUTEL } from '../integration/lib/harness.mjs';
import { issueCard, rrn, run, tmp } from '../integration/lib/eid.mjs';
import { cardKey, makeToken } from '../integration/lib/webeid.mjs';
import { launchBrowser, Watch, newContext, at, pageText, assertAxe, toKeyPage, screenshot, clearArtifacts } from './lib/browser.mjs';
import { startRp } from './lib/rp.mjs';
import { loadCatalogs, staleCatalogs, translator } from './lib/i18n.mjs';

let server;
let chrome;
let rp;
let T;
let dir;
let good;
let revoked;
const watch = new Watch();

before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`build/po/${stale.join(', ')} older than po/*.po: run ninja -C build first`);
  T = translator(loadCatalogs());
  clearArtifacts('45-');
  dir = tmp('sleutel-webeid-browser-');
  server = await startServer({ demo: true });
  [chrome, rp] = await Promise.all([launchBrowser(server), startRp(server)]);
  good = await cardKey(await issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: '85073003328' }), dir);
  const r = await issueCard(server.pkiDir, dir, { name: 'Bart Maes', rrn: rrn('790612', 151, false) });
  await run(SLEUTEL, ['pki', 'revoke', server.pkiDir, r.auth_serial]);
  revoked = await cardKey(r, dir);
});

after(async () => {
  await chrome?.close();
  await rp?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A context with a stand-in Web eID extension: `answer(nonce, origin)`
// gives the token, or { failure: code } for an authenticate-failure.
async function extensionContext(label, answer) {
  const ctx = await newContext(chrome.browser, watch, label);
  const seen = [];
  await ctx.exposeBinding('__webeidCard', (source, msg) => {
    seen.push({ msg, origin: new URL(source.frame.url()).origin });
    return answer(msg.challengeNonce, new URL(source.frame.url()).origin);
  });
  await ctx.addInitScript(() => {
    window.addEventListener('message', async (ev) => {
      const m = ev.data;
      if (ev.source !== window || !m || m.action !== 'web-eid:authenticate') return;
      window.postMessage({ action: 'web-eid:authenticate-ack' }, window.location.origin);
      const out = await window.__webeidCard(m);
      if (out.failure) {
        window.postMessage({ action: 'web-eid:authenticate-failure', error: { code: out.failure } }, window.location.origin);
      } else {
        window.postMessage({ action: 'web-eid:authenticate-success', ...out }, window.location.origin);
      }
    });
  });
  return { ctx, seen };
}

async function toEidPage(page, query = '?prompt=login') {
  await toKeyPage(page, rp.base, server.base, '/key/eid', query);
}

test('Web eID in the browser: the extension signs, the RP gets the card\'s identity; axe, no CSP violation', async () => {
  const { ctx, seen } = await extensionContext('webeid-ok', (nonce, origin) => makeToken(good, { origin, nonce }));
  const page = await ctx.newPage();
  await toEidPage(page);
  // the TLS link stays first: the Web eID section comes after it
  const order = await page.evaluate(() => {
    const a = document.querySelector('a.button');
    const s = document.getElementById('webeid');
    return a.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING;
  });
  assert.ok(order, 'the Web eID section follows the TLS log-in link');
  assert.equal(await pageText(page, '#webeid-start'), T.t('nl', 'Log in with Web eID'));
  assert.equal(await page.locator('#webeid-missing').isHidden(), true);
  await assertAxe(page, 'eID page with Web eID (nl)');
  await screenshot(page, '45-1-webeid-page');
  const n = rp.callbacks.length;
  await page.click('#webeid-start');
  await page.waitForURL(at(rp.base, '/cb'));
  await page.locator('#claims').waitFor();
  assert.equal(rp.callbacks.length, n + 1);
  const cb = rp.callbacks.at(-1);
  assert.equal(cb.userinfo.national_register_number, '85073003328');
  assert.equal(cb.userinfo.family_name, 'Peeters');
  assert.deepEqual(cb.claims.amr, ['eid']);
  // the page handed the extension a 32-byte challenge, on the portal's origin
  assert.equal(seen.length, 1);
  assert.equal(seen[0].origin, server.base);
  assert.equal(Buffer.from(seen[0].msg.challengeNonce, 'base64').length, 32);
  assert.deepEqual(watch.cspProblems(server.base), []);
  assert.deepEqual(watch.otherProblems(server.base).filter((e) => !/status of 4\d\d/.test(e.text)), []);
  await ctx.close();
});

test('without the extension: the page says so and the TLS link stays', async () => {
  const ctx = await newContext(chrome.browser, watch, 'webeid-missing');
  const page = await ctx.newPage();
  await toEidPage(page, '?prompt=login&ui_locales=fr');
  await page.click('#webeid-start');
  await page.locator('#webeid-missing').waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await pageText(page, '#webeid-missing'),
    T.t('fr', 'The Web eID extension was not found in this browser. Install it from web-eid.eu, or use the Log in button above.'));
  assert.equal(await page.locator('#webeid-start').isEnabled(), true, 'the button can be tried again');
  await screenshot(page, '45-2-webeid-missing');
  assert.equal(await pageText(page, 'a.button'), T.t('fr', 'Log in'));
  assert.equal(new URL(page.url()).pathname, '/key/eid');
  await ctx.close();
});

test('a cancel in the extension, and a revoked card, are shown on the page', async () => {
  let mode = 'cancel';
  const { ctx } = await extensionContext('webeid-refused', (nonce, origin) => (mode === 'cancel'
    ? { failure: 'ERR_WEBEID_USER_CANCELLED' } : makeToken(revoked, { origin, nonce })));
  const page = await ctx.newPage();
  await toEidPage(page, '?prompt=login&ui_locales=de');
  await page.click('#webeid-start');
  const status = page.locator('#webeid-status');
  await assert.doesNotReject(status.filter({ hasText: 'ERR_WEBEID_USER_CANCELLED' }).waitFor());
  assert.equal(await pageText(page, '#webeid-status'),
    `${T.t('de', 'You cancelled the Web eID login.')} (ERR_WEBEID_USER_CANCELLED)`);
  mode = 'revoked';
  await page.click('#webeid-start');
  await status.filter({ hasText: '(revoked)' }).waitFor();
  assert.equal(await pageText(page, '#webeid-status'), `${T.t('de', 'Your eID card has been revoked')} (revoked)`);
  await screenshot(page, '45-3-webeid-revoked');
  assert.equal(new URL(page.url()).pathname, '/key/eid', 'a refusal stays on the eID page');
  await ctx.close();
});
