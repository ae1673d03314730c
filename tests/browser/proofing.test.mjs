// proofing.test.mjs — bank proofing in a real browser (Debian's Chromium
// through playwright-core): the page before the bank,
// the demo bank's login, and the final page with the proofing code the
// person types in the app — in the enrolment's language and in English,
// each checked with axe-core (WCAG 2.0/2.1 A and AA: zero violations) and
// without CSP violations or console errors.  The phone of the enrolment
// then types the code and the enrolment is proofed; before that it is not.
//
// Screenshots go to tests/artifacts/browser/6N-name.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../integration/lib/harness.mjs';
import { startTestBank, makeEnrollment, getEnrollment } from '../integration/lib/bank.mjs';
import { launchBrowser, Watch, clearArtifacts, screenshot, axe, formatViolations, shots, newContext, pageText }
  from './lib/browser.mjs';
import { proofWithDemoBank } from './lib/flows.mjs';

let server;
let bank;
let chrome;
const watch = new Watch();

before(async () => {
  clearArtifacts(/^6\d-/);
  bank = await startTestBank();
  server = await startServer({ config: { 'bank.demo': bank.config() } });
  bank.attach(server);
  chrome = await launchBrowser(server);
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  await bank?.close();
  if (shots.length) console.log(`screenshots: ${shots.length} in tests/artifacts/browser/`);
});

async function assertAccessible(page, label) {
  const v = await axe(page, label);
  assert.deepEqual(v.map((x) => x.id), [], `axe on ${label}:\n${formatViolations(v)}`);
}

for (const [i, lang] of ['nl', 'en'].entries()) {
  test(`the bank, then the page with the proofing code (${lang})`, async () => {
    const e = await makeEnrollment(server, { lang, phone: '+32470123456' });
    const ctx = await newContext(chrome.browser, watch, `proofing-${lang}`);
    const page = await ctx.newPage();
    try {
      await page.goto(`${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}&lang=${lang}`);
      await assertAccessible(page, `bank warning page (${lang})`);
      await proofWithDemoBank(page, server.base, bank);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      const code = await pageText(page, '#proof-code');
      assert.match(code, /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
      assert.match(await pageText(page, 'main'), /…34 56/);
      await screenshot(page, `6${i}-proofing-code-${lang}`);
      await assertAccessible(page, `proofing code page (${lang})`);
      // Only the phone that enrols, typing the code, binds the identity.
      assert.equal((await getEnrollment(server, e.id)).person, null);
      const r = await e.app.proofCode(code);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await getEnrollment(server, e.id)).status, 'proofed');
      assert.deepEqual(watch.cspProblems(server.base), [], 'no CSP violations');
      assert.deepEqual(watch.otherProblems(server.base), [], 'no console errors');
    } finally {
      await ctx.close();
    }
  });
}
