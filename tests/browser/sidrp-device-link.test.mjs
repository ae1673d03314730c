// sidrp-device-link.test.mjs — what a phone without the Smart-ID app sees
// when it opens a device link (GET /smart-id/device-link, the
// deviceLinkBase of RP API sessions): a readable page in the link's
// language (its ISO 639-2 lang: nld, fra, deu, eng), the same without
// JavaScript, no CSP problem, and zero axe violations (WCAG 2.0/2.1 A, AA).
//
//   ninja -C build && eval "$(sh scripts/test-env.sh)" && node --test tests/browser/sidrp-device-link.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../integration/lib/harness.mjs';
import { launchBrowser, Watch, shareDir, assertAxe, newContext as newContextIn, screenshot } from './lib/browser.mjs';
import { loadCatalogs, staleCatalogs, translator } from './lib/i18n.mjs';

let server;
let chrome;
let share;
let T;
const watch = new Watch();

before(async () => {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`po/${stale.join(', ')} older than po/*.po: run ninja first`);
  T = translator(loadCatalogs());
  share = shareDir();
  server = await startServer({ config: { portal: { data_dir: share }, smartid: { rp_api: true } } });
  chrome = await launchBrowser(server);
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  if (share) rmSync(share, { recursive: true, force: true });
});

const LANGS = [['nld', 'nl'], ['fra', 'fr'], ['deu', 'de'], ['eng', 'en']];
const LINK = 'deviceLinkType=Web2App&sessionToken=wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0';

for (const [three, two] of LANGS) {
  for (const js of [true, false]) {
    test(`the device link page in ${two}${js ? '' : ' without JavaScript'}`, async () => {
      const label = `sidrp-link-${two}${js ? '' : '-nojs'}`;
      const ctx = await newContextIn(chrome.browser, watch, label, { consent: false, javaScriptEnabled: js });
      try {
        const page = await ctx.newPage();
        const res = await page.goto(`${server.base}/smart-id/device-link?${LINK}&lang=${three}&authCode=x`);
        assert.equal(res.status(), 200);
        assert.equal(await page.getAttribute('html', 'lang'), two);
        assert.equal((await page.locator('h1').innerText()).trim(), T.t(two, 'Open this link in the Smart-ID app'));
        const button = page.locator('a.button');
        assert.equal((await button.innerText()).trim(), T.t(two, 'Register Smart-ID'));
        assert.ok(T.has(two, 'Register Smart-ID'), `${two} has the button's text`);
        assert.equal(await button.getAttribute('href'), `/smartid/register?lang=${two}`);
        if (js) await assertAxe(page, `device link page (${two})`);
        await screenshot(page, `75-${label}`);
        assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violation');
        assert.deepEqual(watch.otherProblems(server.base), [], 'no console error');
      } finally {
        await ctx.close();
      }
    });
  }
}
