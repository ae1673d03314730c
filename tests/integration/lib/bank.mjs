// bank.mjs — the demo bank (demo/bank.mjs, npm oidc-provider) for the
// proofing tests, in this process on a free loopback port, and a browser
// that walks the whole proofing dance: sleutel's "leaving for the bank"
// page, the bank's login form, back to sleutel's callback.
//
// Also: an enrolment in the "proofing" state with a ticket, written into
// the test server's database through lib/db.mjs (as the device API
// would leave it after the SMS code), and reading it back.
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { sqlJson } from './db.mjs';
import { startBank, ACCOUNTS } from '../../../demo/bank.mjs';
import { hiddenInputs } from './harness.mjs';
import { Phone, redeemFromPage } from './phone.mjs';

export { ACCOUNTS };
const execFileP = promisify(execFile);

// Cookies per origin, manual redirects: enough of a browser for these flows.
export class Browser {
  constructor() { this.jars = new Map(); }

  jar(url) {
    const origin = new URL(url).origin;
    if (!this.jars.has(origin)) this.jars.set(origin, new Map());
    return this.jars.get(origin);
  }

  async request(url, { method = 'GET', form } = {}) {
    const jar = this.jar(url);
    const headers = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    // Bounded: a server that does not answer fails the test, not the file.
    const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(60000) })
      .catch((e) => {
        throw e.name === 'TimeoutError' ? new Error(`${method} ${url}: no answer within 60 s`) : e;
      });
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (value === '' || gone) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }
}

// Start the bank. Options as demo/bank.mjs startBank. Adds bank.config()
// (the [bank.<id>] section for startServer), bank.attach(server) (its
// callback becomes the client's redirect URI) and bank.login(url, opts).
export async function startTestBank(opts = {}) {
  const bank = await startBank(opts);
  bank.attach = (server) => bank.setRedirectUri(`${server.issuer}/proofing/bank/callback`);
  bank.config = (extra = {}) => ({
    name: opts.name || 'Demo Bank', issuer: bank.issuer, client_id: bank.clientId,
    client_secret: bank.clientSecret, scope: 'openid profile rrn', ...extra,
  });
  // From a proofing URL to sleutel's answer at the callback. Options:
  // account, password, cancel (press Cancel at the bank), browser,
  // toBank(url) / toCallback(url) to change the URL on its way (tests of
  // nonce and state), stopAt: 'callback' returns the callback URL unsent,
  // redeem: false leaves the proofing code of the final page untyped
  // (otherwise the enrolment's phone, when this process has it, types it).
  // Returns { status, text, url, browser, steps, redeemed } (redeemed: the
  // device API's answer to the code, or null).
  bank.login = async (proofingUrl, o = {}) => {
    const browser = o.browser || new Browser();
    const steps = [];
    let res = await browser.request(proofingUrl);
    steps.push(res.status);
    if (res.status !== 200) return { status: res.status, text: await res.text(), url: proofingUrl, browser, steps };
    const html = await res.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)[1].replace(/&amp;/g, '&');
    res = await browser.request(new URL(action, proofingUrl).href, { method: 'POST', form: hiddenInputs(html) });
    steps.push(res.status);
    if (res.status !== 303) return { status: res.status, text: await res.text(), url: action, browser, steps };
    let url = res.headers.get('location');
    if (o.toBank) url = o.toBank(url);
    // At the bank: authorize → login form → resume → back to sleutel.
    for (let hops = 0; hops < 10 && url.startsWith(bank.issuer); hops++) {
      res = await browser.request(url);
      steps.push(res.status);
      if (res.status === 200 && /\/interaction\//.test(url)) {
        const uid = /\/interaction\/([^/?]+)/.exec(url)[1];
        const form = o.cancel ? { action: 'cancel' }
          : { action: 'login', account: o.account || 'jan', password: o.password || 'demo' };
        res = await browser.request(`${bank.issuer}/interaction/${uid}/login`, { method: 'POST', form });
        steps.push(res.status);
      }
      if (res.status !== 302 && res.status !== 303) {
        return { status: res.status, text: await res.text(), url, browser, steps };
      }
      url = new URL(res.headers.get('location'), url).href;
    }
    if (o.toCallback) url = o.toCallback(url);
    if (o.stopAt === 'callback') return { url, browser, steps };
    res = await browser.request(url);
    steps.push(res.status);
    const text = await res.text();
    const state = new URL(url).searchParams.get('state') || '';
    const redeemed = res.status === 200 && o.redeem !== false
      ? await redeemFromPage(state.split('.')[0], text) : null;
    return { status: res.status, text, url, browser, steps, redeemed };
  };
  return bank;
}

// ---- enrolments in the test database ----

async function sql(server, query) {
  return sqlJson(server, query);
}

const q = (s) => (s === null || s === undefined ? 'NULL' : `'${String(s).replace(/'/g, "''")}'`);

export function newTicket(enrollmentId) {
  const ticket = `${enrollmentId}.${randomBytes(16).toString('base64url')}`;
  return { ticket, hash: createHash('sha256').update(ticket).digest('hex') };
}

// An enrolment in "proofing" (as after the SMS code) with one ticket and
// the transport key of a test phone (`app`, which can type the proofing
// code); returns { id, ticket, phone, app }. opts: lang, status, expiresIn, phone.
export async function makeEnrollment(server, opts = {}) {
  const id = randomBytes(16).toString('base64url');
  const app = await new Phone(server).init();
  const { ticket, hash } = newTicket(id);
  const now = Math.floor(Date.now() / 1000);
  const expires = now + (opts.expiresIn ?? 1800);
  const phone = opts.phone || `+3247${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const state = JSON.stringify({ tickets: [{ h: hash, exp: expires }] });
  await sql(server, `INSERT INTO enrollments (id, phone, jkt, transport_jwk, device_name, lang, terms, status,
    sms_expires, proof_state, created, expires) VALUES (${q(id)}, ${q(phone)}, ${q(app.jkt)},
    ${q(JSON.stringify(app.jwk))}, 'Test phone', ${q(opts.lang || 'en')}, '2026-11', ${q(opts.status || 'proofing')}, 0, ${q(state)},
    ${now}, ${expires})`);
  app.adopt(id);
  return { id, ticket, phone, app };
}

export async function getEnrollment(server, id) {
  const rows = await sql(server, `SELECT status, proof_method, person, proof_state FROM enrollments WHERE id = ${q(id)}`);
  return rows[0];
}

export async function addTicket(server, id) {
  const row = await getEnrollment(server, id);
  const { ticket, hash } = newTicket(id);
  const state = JSON.parse(row.proof_state || '{}');
  state.tickets = [...(state.tickets || []), { h: hash, exp: Math.floor(Date.now() / 1000) + 600 }];
  await sql(server, `UPDATE enrollments SET proof_state = ${q(JSON.stringify(state))} WHERE id = ${q(id)}`);
  return ticket;
}

// Overwrite an enrolment's proofing state (tests of expiry).
export async function setProofState(server, id, state) {
  await sql(server, `UPDATE enrollments SET proof_state = ${q(JSON.stringify(state))} WHERE id = ${q(id)}`);
}

export async function proofingAudit(server) {
  return sql(server, "SELECT result, key, detail FROM audit WHERE event = 'proofing' ORDER BY seq");
}
