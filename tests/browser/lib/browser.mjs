// browser.mjs — Debian's Chromium driven by playwright-core for the portal's
// browser tests.
//
// The machine has no network, so the browser is /usr/bin/chromium, never a
// downloaded one. TLS is real: the server's certificate comes from the run's
// test CA, and Chromium is told to accept exactly that certificate's key
// (--ignore-certificate-errors-spki-list, which only works with an explicit
// user data directory, hence launchPersistentContext on a fresh one). Every
// test then opens its own isolated context on that browser.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { ROOT, BUILD } from '../../integration/lib/harness.mjs';

export const CHROMIUM = process.env.SLEUTEL_CHROMIUM || '/usr/bin/chromium';
// Each test file's screenshots go to a folder of its own,
// tests/artifacts/browser/FILE/ (FILE: the test file's name without
// .test.mjs): check.sh runs browser files side by side, and one file's
// clearArtifacts() must not remove what another is writing.
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts', 'browser',
  path.basename(process.argv[1] || 'browser', '.mjs').replace(/\.test$/, ''));
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// base64(SHA-256(SubjectPublicKeyInfo)) of the first certificate in a PEM
// file: the same as
//   openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
//   openssl dgst -sha256 -binary | base64
export function spkiHash(pemPath) {
  const cert = new X509Certificate(readFileSync(pemPath));
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

// The CN of a certificate's subject and issuer, and whether the test CA
// (SLEUTEL_TEST_CA/ca.pem) issued it.
export function certInfo(pemPath) {
  const cert = new X509Certificate(readFileSync(pemPath));
  const cn = (dn) => (dn.split('\n').find((l) => l.startsWith('CN=')) || '').slice(3);
  const ca = new X509Certificate(readFileSync(path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem')));
  return { subjectCN: cn(cert.subject), issuerCN: cn(cert.issuer), fromTestCa: cert.checkIssued(ca) && cert.verify(ca.publicKey) };
}

// Launch Chromium trusting the server's certificate (server.dir/tls/server.pem).
export async function launchBrowser(server) {
  const spki = spkiHash(path.join(server.dir, 'tls', 'server.pem'));
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'sleutel-chromium-'));
  const persistent = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`],
  });
  const browser = persistent.browser();
  // Every context made on this browser, by the lib's newContext or a test
  // file's own browser.newContext, closes through closeContext (below).
  const plainNewContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const ctx = await plainNewContext(...args);
    const plainClose = ctx.close.bind(ctx);
    ctx.close = (opts) => closeContext(browser, ctx, () => plainClose(opts));
    return ctx;
  };
  return {
    browser,
    spki,
    // Bounded: a Chromium that does not close (seen once, a file then
    // timing out with its server still up) is killed by its profile path,
    // which is on each of its processes' command lines.
    async close() {
      let timer;
      const closed = await Promise.race([
        persistent.close().then(() => true, () => true),
        new Promise((r) => { timer = setTimeout(() => r(false), 15000); }),
      ]);
      clearTimeout(timer);
      if (!closed) {
        try { execFileSync('pkill', ['-KILL', '-f', `user-data-dir=${userDataDir}`]); } catch { /* none left */ }
      }
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// Closing a context while one of its pages navigates by itself (a wait
// page's long-poll answered, the page moving on) can leave ctx.close()
// pending for ever: Chromium answers the close of a page whose new
// document commits at that moment but drops it (crbug.com/536385539;
// playwright issues 41900, 42068, 42366), and Target.disposeBrowserContext,
// which ctx.close() sends, then never answers.  Seen as smartid-login's
// test 2 holding its file to the 180 s timeout: the context closed at
// the instant the phone's refusal turned the wait page.  So each page is
// first taken to about:blank, which ends its scripts and whatever
// navigation they started, and only then closed.  Should a close still be
// dropped, the pages' targets are closed again over the browser's own CDP
// session (what the proposed Playwright fixes do), at most CLOSE_TRIES
// times, and a context that still does not close fails the test that
// closes it with a message, not the file by its timeout.
const CLOSE_WAIT_MS = 5000;
const CLOSE_TRIES = 3;

const settlesWithin = (promise, ms) => {
  let timer;
  return Promise.race([promise.then(() => true, () => true),
    new Promise((r) => { timer = setTimeout(() => r(false), ms); })]).finally(() => clearTimeout(timer));
};

export async function closeContext(browser, ctx, close = () => ctx.close()) {
  const pages = ctx.pages();
  await Promise.all(pages.map((page) => page.goto('about:blank', { timeout: CLOSE_WAIT_MS }).catch(() => {})));
  const targets = (await Promise.all(pages.map(async (page) => {
    try {
      const cdp = await ctx.newCDPSession(page);
      const { targetInfo } = await cdp.send('Target.getTargetInfo');
      await cdp.detach();
      return targetInfo.targetId;
    } catch {
      return null; // closed meanwhile
    }
  }))).filter(Boolean);
  const closing = close();
  for (let i = 0; i < CLOSE_TRIES; i++) {
    if (await settlesWithin(closing, CLOSE_WAIT_MS)) return closing;
    const cdp = await browser.newBrowserCDPSession();
    for (const targetId of targets) await cdp.send('Target.closeTarget', { targetId }).catch(() => {});
    await cdp.detach().catch(() => {});
    console.log(`browser: a context did not close within ${CLOSE_WAIT_MS} ms; its ${targets.length} page(s) closed again`);
  }
  if (await settlesWithin(closing, CLOSE_WAIT_MS)) return closing;
  throw new Error(`a browser context did not close in ${(CLOSE_TRIES + 1) * CLOSE_WAIT_MS / 1000} s, ` +
    `its pages closed again ${CLOSE_TRIES} times (crbug.com/536385539?)`);
}

// Records what a page tells the console, uncaught errors, and every
// securitypolicyviolation event, for all pages of the contexts it watches.
export class Watch {
  constructor() { this.events = []; }

  async attach(context, label) {
    await context.exposeBinding('__sleutelCspViolation', (_source, v) => {
      this.events.push({ kind: 'csp', context: label, ...v });
    });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__sleutelCspViolation({
          documentURI: e.documentURI, directive: e.violatedDirective, effectiveDirective: e.effectiveDirective,
          blockedURI: e.blockedURI, sourceFile: e.sourceFile, line: e.lineNumber, sample: e.sample,
        });
      });
    });
    context.on('console', (m) => {
      this.events.push({ kind: 'console', context: label, type: m.type(), text: m.text(),
        url: m.location()?.url || '', pageUrl: m.page()?.url() || '' });
    });
    context.on('weberror', (e) => {
      this.events.push({ kind: 'pageerror', context: label, text: String(e.error()), pageUrl: e.page()?.url() || '' });
    });
  }

  // CSP violations (events, or the console's "Refused to …" lines) on an origin.
  cspProblems(origin) {
    return this.events.filter((e) => {
      if (e.kind === 'csp') return (e.documentURI || '').startsWith(origin);
      if (e.kind === 'console') {
        return /Content Security Policy|Refused to (load|execute|apply|connect|frame|evaluate|create)/i.test(e.text) &&
          (e.pageUrl.startsWith(origin) || e.url.startsWith(origin));
      }
      return false;
    });
  }

  // Other console errors/warnings and uncaught errors on an origin. A
  // resource that failed with an HTTP status is listed separately by the
  // caller's filter (error pages answer 4xx on purpose).
  otherProblems(origin) {
    return this.events.filter((e) => (e.kind === 'pageerror' && e.pageUrl.startsWith(origin)) ||
      (e.kind === 'console' && (e.type === 'error' || e.type === 'warning') &&
        (e.pageUrl.startsWith(origin) || e.url.startsWith(origin)) && !this.cspProblems(origin).includes(e)));
  }
}

export function resetArtifacts() {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
}

// Remove only the screenshots whose names start with `prefix` (a string, or
// a RegExp tested against the file name) from this file's folder.
export function clearArtifacts(prefix) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const match = typeof prefix === 'string' ? (f) => f.startsWith(prefix) : (f) => prefix.test(f);
  for (const f of readdirSync(ARTIFACTS)) if (match(f)) rmSync(path.join(ARTIFACTS, f), { recursive: true, force: true });
}

export const shots = [];
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
  return file;
}

export function formatViolations(violations) {
  return violations.map((v) => `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
    v.nodes.map((n) => `      ${JSON.stringify(n.target)} ${n.failureSummary?.replace(/\n\s*/g, ' | ') || ''}\n` +
      `        ${n.html}`).join('\n')).join('\n');
}

// axe-core on the page with the WCAG 2.0/2.1 A and AA rules; the violations
// are printed when there are any. The portal's pages have no frames, so the
// single-frame (legacy) run is complete, and it spares the extra blank page
// the default mode opens for every analysis (a second per page on a busy
// two-core machine).
export function axeBuilder(page) {
  return new AxeBuilder({ page }).withTags(AXE_TAGS).options({ resultTypes: ['violations'] }).setLegacyMode(true);
}

export async function axe(page, label) {
  assert.equal(page.frames().length, 1, `${label}: the page has frames, run axe without legacy mode`);
  const res = await axeBuilder(page).analyze();
  if (res.violations.length) {
    console.log(`axe: ${res.violations.length} violation(s) on ${label} (${page.url()}):\n${formatViolations(res.violations)}`);
  }
  return res.violations;
}

// Visible text, titles and ARIA labels on the page that are still exactly an
// English message id (with %1 standing for anything).
export async function untranslated(page, msgids) {
  const texts = await page.evaluate(() => {
    const out = [document.title.replace(/\s*·\s*sleutel$/, '')];
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest('script,style')) continue;
      const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').replace(/\s+/g, ' ').trim();
      if (own) out.push(own);
      const full = el.textContent.replace(/\s+/g, ' ').trim();
      if (full && full !== own) out.push(full);
      for (const a of ['aria-label', 'title', 'placeholder', 'alt']) if (el.getAttribute(a)) out.push(el.getAttribute(a).trim());
    }
    return out;
  });
  const pats = msgids.filter((id) => id.length > 3).map((id) => ({
    id, re: new RegExp(`^${id.split('%1').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`),
  }));
  const hits = new Set();
  for (const t of texts) for (const p of pats) if (p.re.test(t)) hits.add(p.id);
  return [...hits];
}

// Chromium always sends an Accept-Language. A context in Spanish asks for
// no language the portal has, so the server's default_language (nl) applies.
export const NO_PORTAL_LANGUAGE = 'es-ES';

// The consent page (/login/consent) appears wherever a login releases data
// the person has not agreed to share with the site yet. In a context given
// to autoConsent every page answers it "Share" by itself, so a flow that
// waits for the RP's callback goes on as before; the consent page's own
// tests make their context with { consent: false }.
export function autoConsent(ctx) {
  const hook = (page) => page.on('load', () => {
    if (new URL(page.url()).pathname !== '/login/consent') return;
    page.locator('button[name="decision"][value="share"]').click().catch(() => {});
  });
  ctx.pages().forEach(hook);
  ctx.on('page', hook);
  return ctx;
}

// A fresh browser context in that language, watched for CSP violations and
// script errors under `label`; it shares on the consent page unless
// opts.consent is false.
export async function newContext(browser, watch, label, { consent = true, ...opts } = {}) {
  const ctx = await browser.newContext({ locale: NO_PORTAL_LANGUAGE, viewport: { width: 1024, height: 800 }, ...opts });
  ctx.setDefaultTimeout(10000);
  await watch.attach(ctx, label);
  if (consent) autoConsent(ctx);
  return ctx;
}

// A predicate for page.waitForURL: this origin and path.
export const at = (origin, pathname) => (u) => u.origin === origin && u.pathname === pathname;

// The visible text of the first match of `sel` on `page`, spaces folded.
export const pageText = async (page, sel) => (await page.locator(sel).first().innerText()).replace(/\s+/g, ' ').trim();

// A server's [portal] data_dir: the source tree's templates and static
// files with the catalogs compiled in the build under test, the same ones
// the tests read (whatever data_dir the build was configured with).
// Remove it with rmSync(dir, { recursive: true }) after the server stops.
export function shareDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-share-'));
  for (const d of ['templates', 'static', 'trust']) symlinkSync(path.join(ROOT, 'data', d), path.join(dir, d));
  symlinkSync(path.join(BUILD, 'po'), path.join(dir, 'locale'));
  return dir;
}

// axe finds nothing on `page` (WCAG 2.0/2.1 A and AA); `label` names it.
export async function assertAxe(page, label) {
  const v = await axe(page, label);
  assert.deepEqual(v.map((x) => x.id), [], `axe on ${label}:\n${formatViolations(v)}`);
}

// The RP's home (with `query`, e.g. ?ui_locales=en) → its login link →
// the key choice → the button of the key at `keyPath` ("/key/app") → that
// key's first page.
export async function toKeyPage(page, rpBase, serverBase, keyPath, query = '') {
  await page.goto(`${rpBase}/${query}`);
  await page.click('#login');
  await page.waitForURL(at(serverBase, '/login'));
  const key = page.locator(`a.key[href^="${keyPath}?"]`);
  assert.equal(await key.count(), 1, `the key choice offers ${keyPath}`);
  await key.click();
  await page.waitForURL(at(serverBase, keyPath));
}
