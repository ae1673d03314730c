// eid.mjs — building blocks for the eID card tests: virtual cards from a
// demo PKI (`sleutel pki card`) or made by hand with the openssl CLI, the
// TLS client-certificate step with curl, the browser's walk from the RP
// through the key choice to the eID origin and back, the Dutch texts of the
// refusal pages (po/nl.po), the audit table (lib/db.mjs), and small local
// HTTP servers that stand in for OCSP responders and CRL distribution points.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { sqlJson } from './db.mjs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { Agent, ROOT, SLEUTEL, answerConsent, freePort, trackProcess } from './harness.mjs';
import { RP_CB, authRequest } from './flows.mjs';
import { redeemFromPage } from './phone.mjs';

const execFileP = promisify(execFile);

export const ACR_HIGH = 'http://eidas.europa.eu/LoA/high';
export const PIN = '1234';

export function tmp(prefix = 'sleutel-eid-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function run(cmd, args, opts = {}) {
  return execFileP(cmd, args, { encoding: 'utf8', maxBuffer: 16 << 20, ...opts });
}

// The server TLS CA that curl must trust (the harness's test CA).
export function serverCa() {
  return path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem');
}

// ---- national register numbers ----

// A valid number for a birth date (YYMMDD) and a 3-digit sequence number
// (odd: male, even: female); births from 2000 on use the "2" prefix rule.
export function rrn(yymmdd, seq, from2000 = Number(yymmdd.slice(0, 2)) < 30) {
  const nine = `${yymmdd}${String(seq).padStart(3, '0')}`;
  const base = from2000 ? BigInt(`2${nine}`) : BigInt(nine);
  const check = 97n - (base % 97n);
  return nine + String(check).padStart(2, '0');
}

// ---- cards ----

// Issue a virtual card with `sleutel pki card`. opts: name (or given and
// family), rrn, foreigner, kids, rsa, expired, notYetValid,
// pkcs11 { token, soPin, env }. Returns { p12, pin, auth_serial,
// sign_serial, token, rrn, name, certPem, certFile, args (for curl) }.
export async function issueCard(pkiDir, outDir, opts = {}) {
  const name = opts.name || 'Jan Peeters';
  const number = opts.rrn || '85073003328';
  const p12 = path.join(outDir, `card-${Math.random().toString(36).slice(2)}.p12`);
  const certOut = p12.replace(/\.p12$/, '.pem');
  const args = ['pki', 'card', pkiDir];
  if (opts.given) args.push('--given', opts.given, '--family', opts.family);
  else args.push('--name', name);
  args.push('--rrn', number, '--out', p12, '--pin', PIN, '--cert-out', certOut, '--json');
  if (opts.foreigner) args.push('--foreigner');
  if (opts.kids) args.push('--kids');
  if (opts.rsa) args.push('--rsa');
  if (opts.expired) args.push('--expired');
  if (opts.notYetValid) args.push('--not-yet-valid');
  let env = process.env;
  if (opts.pkcs11) {
    args.push('--pkcs11', '--token', opts.pkcs11.token, '--so-pin', opts.pkcs11.soPin || '5678');
    env = { ...process.env, ...opts.pkcs11.env };
  }
  const { stdout } = await run(SLEUTEL, args, { env });
  const info = JSON.parse(stdout);
  return {
    ...info, p12, pin: PIN, rrn: number, name, certPem: readFileSync(certOut, 'utf8'), certFile: certOut,
    args: ['--cert-type', 'P12', '--cert', `${p12}:${PIN}`],
  };
}

// The signing ("(Signature)") or authentication certificate and key of a
// card's PKCS#12, written as PEM files: { cert, key, args } for curl.
export async function p12Part(p12, outDir, which = 'Signature') {
  const { stdout } = await run('openssl', ['pkcs12', '-in', p12, '-info', '-nodes', '-passin', `pass:${PIN}`]);
  let friendly = null;
  const found = {};
  for (const line of stdout.split('\n')) {
    const fm = line.match(/^\s*friendlyName:\s*(.*)$/);
    if (fm) { friendly = fm[1].trim(); continue; }
    const bm = line.match(/^-----BEGIN (CERTIFICATE|PRIVATE KEY)-----$/);
    if (bm) { found.current = { kind: bm[1], friendly, lines: [line] }; continue; }
    if (found.current) {
      found.current.lines.push(line);
      if (/^-----END /.test(line)) {
        const c = found.current;
        found.current = null;
        if (c.friendly && c.friendly.endsWith(`(${which})`)) found[c.kind] = c.lines.join('\n') + '\n';
        friendly = null;
      }
    }
  }
  assert.ok(found.CERTIFICATE && found['PRIVATE KEY'], `no (${which}) certificate and key in ${p12}`);
  const base = path.join(outDir, `${which.toLowerCase()}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(`${base}.pem`, found.CERTIFICATE);
  writeFileSync(`${base}.key`, found['PRIVATE KEY'], { mode: 0o600 });
  return { cert: `${base}.pem`, key: `${base}.key`, args: ['--cert', `${base}.pem`, '--key', `${base}.key`] };
}

// A card certificate made by hand with the openssl CLI and signed by a CA of
// a demo PKI (so the PKI's index does not know it). opts: subject (an
// openssl -subj), ca ('citizen'), ocsp (AIA OCSP URL), crl (CDP URL),
// keyUsage, eku, newkey (openssl req arguments for the key, default EC
// P-384). Returns { cert, key, args, serial }.
export async function opensslCard(pkiDir, outDir, opts = {}) {
  const ca = opts.ca || 'citizen';
  const base = path.join(outDir, `hand-${Math.random().toString(36).slice(2)}`);
  const subject = opts.subject || '/C=BE/CN=Jan Peeters (Authentication)/SN=Peeters/GN=Jan/serialNumber=85073003328';
  const newkey = opts.newkey || ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'];
  await run('openssl', ['req', '-new', ...newkey, '-nodes',
    '-keyout', `${base}.key`, '-subj', subject, '-out', `${base}.csr`]);
  const ext = [
    `keyUsage = ${opts.keyUsage || 'critical,digitalSignature'}`,
    `extendedKeyUsage = ${opts.eku || 'clientAuth'}`,
    'basicConstraints = critical,CA:FALSE',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ];
  if (opts.ocsp) ext.push(`authorityInfoAccess = OCSP;URI:${opts.ocsp}`);
  if (opts.crl) ext.push(`crlDistributionPoints = URI:${opts.crl}`);
  writeFileSync(`${base}.ext`, ext.join('\n') + '\n');
  await run('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', path.join(pkiDir, `${ca}-ca.pem`),
    '-CAkey', path.join(pkiDir, `${ca}-ca.key`), '-set_serial', `0x${randomHex(16)}`, '-days', '365',
    '-sha384', '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
  const { stdout } = await run('openssl', ['x509', '-in', `${base}.pem`, '-noout', '-serial']);
  return {
    cert: `${base}.pem`, key: `${base}.key`, serial: stdout.trim().split('=')[1],
    args: ['--cert', `${base}.pem`, '--key', `${base}.key`],
  };
}

function randomHex(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return `4${s.slice(1)}`; // positive
}

// ---- curl: the TLS client-certificate step ----

// GET `url` with curl; `args` present the card (or nothing). Returns
// { status, headers (lower-case names; set-cookie as an array), location, body },
// or status 0 and curlError when no HTTP answer came.
// eID proofing as a browser does it: the warning page (GET), then its form
// (POST with the CSRF token, the same cookies and the same card).  Answers
// the POST's result, or the page's when the page refused (bad ticket...).
// The final page's proofing code is typed into the enrolment's phone (when
// this process has it; `redeemed` is the device API's answer) unless
// `redeem` is false.
export async function proofWithCard(url, cardArgs = [], { redeem = true } = {}) {
  const jarDir = tmp('sleutel-jar-');
  const jar = path.join(jarDir, 'cookies');
  try {
    const page = await curl(url, [...cardArgs, '-c', jar, '-b', jar]);
    if (page.status !== 200) return page;
    const form = {};
    for (const m of page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form[m[1]] = m[2];
    const res = await curl(new URL('/proofing/eid', url).href,
      [...cardArgs, '-c', jar, '-b', jar, '--data', new URLSearchParams(form).toString()]);
    const ticket = new URL(url).searchParams.get('t') || '';
    res.redeemed = res.status === 200 && redeem ? await redeemFromPage(ticket.split('.')[0], res.body) : null;
    return res;
  } finally {
    rmSync(jarDir, { recursive: true, force: true }); // one per call: none left in /tmp
  }
}

export async function curl(url, args = [], { headers = {}, env } = {}) {
  const a = ['-sS', '-i', '--max-time', '30', '--cacert', serverCa()];
  // curl drops "Name:" with no value; "Name;" sends it empty.
  for (const [k, v] of Object.entries(headers)) a.push('-H', v === '' ? `${k};` : `${k}: ${v}`);
  a.push(...args, url);
  try {
    const { stdout } = await run('curl', a, env ? { env: { ...process.env, ...env } } : {});
    return parseHttp(stdout);
  } catch (e) {
    // No HTTP answer at all (the TLS handshake failed, the connection was
    // closed): status 0 and curl's message, for the assertion to show.
    if (typeof e.code !== 'number') throw e;
    return { status: 0, headers: { 'set-cookie': [] }, location: null, body: '', curlError: `curl exit ${e.code}: ${e.stderr.trim()}` };
  }
}

function parseHttp(raw) {
  // With -i curl prints every response's head; a proxy CONNECT or a 100
  // could precede the real one: take the last head.
  let rest = raw;
  let head;
  for (;;) {
    const i = rest.indexOf('\r\n\r\n');
    head = rest.slice(0, i);
    rest = rest.slice(i + 4);
    if (!/^HTTP\/\S+ 1\d\d/.test(head)) break;
  }
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = { 'set-cookie': [] };
  for (const l of lines) {
    const c = l.indexOf(':');
    const k = l.slice(0, c).trim().toLowerCase();
    const v = l.slice(c + 1).trim();
    if (k === 'set-cookie') headers[k].push(v);
    else headers[k] = v;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, location: headers.location || null, body: rest };
}

// ---- the browser's walk ----

export function decodeEntities(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

export function h1(html) {
  const m = html.match(/<h1[^>]*>([\s\S]*?)<\/h1>/);
  return m ? decodeEntities(m[1].replace(/<[^>]*>/g, '').trim()) : null;
}

// An openid-client configuration for a fresh client of `server`, allowed
// the eid scope (the national register number) the eID flows ask for.
export async function eidRp(server) {
  const c = await server.client({ auth: 'client_secret_basic', redirectUris: [RP_CB], scopes: 'openid profile eid' });
  const config = await oidc.discovery(new URL(server.issuer), c.client_id, c.client_secret,
    oidc.ClientSecretBasic(c.client_secret));
  return { c, config };
}

// From the RP's authorization request to the eID origin's link:
// authorize → key choice (the "eID kaartlezer" button) → /key/eid → the
// "Aanmelden" link. Returns the request and { req, eidUrl, agent, keyPage }.
export async function toEidOrigin(server, config, { agent = new Agent(), params = {} } = {}) {
  const r = await authRequest(config, { scope: 'openid profile eid', ...params });
  let res = await agent.get(r.url.href);
  assert.equal(res.status, 303, `authorize answered ${res.status}`);
  const login = new URL(res.headers.get('location'), server.base);
  assert.equal(login.pathname, '/login', `authorize went to ${login}`);
  const req = login.searchParams.get('req');
  res = await agent.get(login.href);
  assert.equal(res.status, 200, 'key choice page');
  const choose = await res.text();
  const button = [...choose.matchAll(/<a class="key" href="([^"]+)"><span class="key-label">([^<]*)<\/span>/g)]
    .find((m) => decodeEntities(m[1]).startsWith('/key/eid?'));
  assert.ok(button, 'the key choice has an eID button');
  assert.equal(decodeEntities(button[2]), nl('eID card reader')); // "eID kaartlezer"
  res = await agent.get(new URL(decodeEntities(button[1]), server.base).href);
  assert.equal(res.status, 200, '/key/eid page');
  const keyPage = await res.text();
  const link = keyPage.match(/<a class="button" href="([^"]+)">([^<]*)<\/a>/);
  assert.ok(link, 'the eID page has a log-in link');
  assert.equal(decodeEntities(link[2]), nl('Log in')); // "Aanmelden"
  const eidUrl = new URL(decodeEntities(link[1]));
  return { ...r, req, eidUrl, agent, keyPage };
}

// Present `args` (a card, or nothing) at the eID origin. On success the
// eID origin sends the browser to the portal's /login/eid/return with the
// card's one-time result; the browser (agent) follows, shares the data on
// the consent page if it appears (or answers it opts.consent), and goes on
// to the RP: returns { eid (curl's answer), ret (that URL), back (URL at
// the RP) }; on a refusal { eid }.
export async function presentCard(server, flow, args, opts = {}) {
  // A plain eID listener ([eid] tls = false, server.eidPlain) is reached as
  // a TLS-terminating proxy reaches it: the same URL over plain HTTP.
  const url = new URL(flow.eidUrl);
  if (server.eidPlain) url.protocol = 'http:';
  const eid = await curl(url.href, args, opts);
  if (eid.status !== 303) return { eid };
  const ret = eidReturnUrl(server, eid);
  const res = await flow.agent.get(ret.href);
  assert.equal(res.status, 303, `/login/eid/return answered ${res.status}`);
  const back = await answerConsent(server, flow.agent, res.headers.get('location'), opts.consent);
  return { eid, ret, back };
}

// Where the eID origin sent the browser after accepting a card: the
// portal's /login/eid/return?req=…&r=…&lang=….
export function eidReturnUrl(server, eid) {
  assert.equal(eid.status, 303, `the eID origin answered ${eid.status}: ${eid.curlError || h1(eid.body)}`);
  const ret = new URL(eid.location);
  assert.equal(ret.origin, server.base, `eID origin redirected to ${eid.location}`);
  assert.equal(ret.pathname, '/login/eid/return');
  assert.match(ret.searchParams.get('r') || '', /^[A-Za-z0-9_-]{43}$/, 'R: 256 bits, base64url');
  return ret;
}

// A whole OIDC code flow with a card; the RP is openid-client. Returns
// { tokens, claims, userinfo, flow }.
export async function eidCodeFlow(server, rp, args, opts = {}) {
  const flow = await toEidOrigin(server, rp.config, opts);
  const since = await auditMax(server);
  const { eid, back } = await presentCard(server, flow, args, opts);
  if (eid.status !== 303) {
    const rec = (await auditSince(server, since)).find((r) => r.key === 'eid');
    assert.fail(`the eID origin refused the card: ${eid.status} ${eid.curlError || h1(eid.body)} ` +
      `(${(eid.body.match(/<code>([^<]*)<\/code>/) || [])[1]}; audit: ${rec ? `${rec.result}: ${rec.detail}` : 'none'})`);
  }
  assert.equal(back.origin + back.pathname, RP_CB);
  assert.equal(back.searchParams.get('iss'), server.issuer);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
    pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce,
  });
  const claims = tokens.claims();
  const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
  return { tokens, claims, userinfo, flow, eid };
}

// A refused card: status, Dutch <h1>, the verdict code on the page, no
// redirect and no session cookie from the eID origin, no session afterwards.
export async function assertRefused(server, rp, args, { status = 403, heading, code, agent, opts = {} } = {}) {
  const flow = await toEidOrigin(server, rp.config, { agent });
  const since = await auditMax(server);
  const { eid } = await presentCard(server, flow, args, opts);
  assert.equal(eid.status, status, `expected ${status}, got ${eid.status}: ${eid.curlError || h1(eid.body)}`);
  assert.equal(eid.location, null, 'a refusal must not redirect');
  assert.match(eid.headers['content-type'] || '', /^text\/html/);
  // At most the language preference: no session, no browser binding.
  const cookies = eid.headers['set-cookie'].map((c) => c.split('=')[0]);
  assert.deepEqual(cookies.filter((c) => c !== '__Host-sl_lang'), [], 'a refusal sets no session cookie');
  if (heading) assert.equal(h1(eid.body), nl(heading));
  if (code) assert.match(eid.body, new RegExp(`<code>${code}</code>`));
  // What you can do: the steps and the way back to the key choice.
  assert.match(eid.body, new RegExp(escapeRe(nl('What you can do'))));
  assert.match(eid.body, new RegExp(`href="${escapeRe(server.base)}/login\\?req=${flow.req}&amp;lang=nl"`));
  await assertNoSession(server, rp, flow.agent);
  const rows = await auditSince(server, since);
  return { eid, flow, rows };
}

// prompt=none with the browser's cookies: login_required, i.e. no session.
export async function assertNoSession(server, rp, agent) {
  const r = await authRequest(rp.config, { prompt: 'none' });
  const res = await agent.get(r.url.href);
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, RP_CB);
  assert.equal(loc.searchParams.get('error'), 'login_required', `prompt=none gave ${loc}`);
}

// prompt=none after a login: a code at once (the session exists).
export async function assertSession(server, rp, agent) {
  const r = await authRequest(rp.config, { prompt: 'none' });
  const res = await agent.get(r.url.href);
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.searchParams.get('error'), null, `prompt=none gave ${loc}`);
  assert.ok(loc.searchParams.get('code'));
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

// ---- page texts: what gettext shows for a msgid with po/<lang>.po ----

const catalogues = new Map();
export function catalogue(lang) {
  if (catalogues.has(lang)) return catalogues.get(lang);
  const cat = new Map();
  catalogues.set(lang, cat);
  const text = readFileSync(path.join(ROOT, 'po', `${lang}.po`), 'utf8');
  const unq = (s) => JSON.parse(s.replace(/\\(?!["\\nt])/g, '\\\\'));
  // msgfmt leaves fuzzy entries out: gettext then shows the msgid.
  let cur = null;
  let field = null;
  let fuzzy = false;
  const flush = () => { if (cur && cur.id) cat.set(cur.id, cur.fuzzy ? '' : cur.str); cur = null; field = null; };
  for (const line of text.split('\n')) {
    if (line.trim() === '') { flush(); continue; }
    if (/^#/.test(line)) { if (field) flush(); if (/^#,.*\bfuzzy\b/.test(line)) fuzzy = true; continue; }
    let m;
    if ((m = line.match(/^msgid (".*")$/))) { flush(); cur = { id: unq(m[1]), str: '', fuzzy }; field = 'id'; fuzzy = false; }
    else if ((m = line.match(/^msgstr (".*")$/)) && cur) { cur.str = unq(m[1]); field = 'str'; }
    else if (/^(msgid_plural|msgstr\[|msgctxt)/.test(line)) { field = null; if (cur) cur.id = null; }
    else if ((m = line.match(/^(".*")$/)) && cur && field) cur[field] += unq(m[1]);
  }
  flush();
  return cat;
}

// gettext: the translation, or the msgid itself when it has none.
export function nl(msgid) { return po('nl', msgid); }
export function po(lang, msgid) {
  const cat = catalogue(lang);
  assert.ok(cat.has(msgid), `po/${lang}.po has no msgid "${msgid}"`);
  return cat.get(msgid) || msgid;
}

// ---- audit ----

const sql = (server, query) => sqlJson(server, query);

export async function auditMax(server) {
  const rows = await sql(server, 'SELECT COALESCE(MAX(seq), 0) AS m FROM audit');
  return rows[0].m;
}

export async function auditSince(server, seq) {
  return sql(server, `SELECT seq, event, result, key, client_id, ip, detail FROM audit WHERE seq > ${Number(seq)} ORDER BY seq`);
}

// The one eID login record written since `seq`.
export function eidLoginRecord(rows) {
  const eid = rows.filter((r) => r.event === 'login' && r.key === 'eid');
  assert.equal(eid.length, 1, `expected one eID login audit record, got ${JSON.stringify(rows)}`);
  return eid[0];
}

// ---- local HTTP stand-ins: OCSP responders, CRL points, proxies ----

// A small HTTP server on a loopback port (`port`, or a free one).
// handler(req, body, res). Counts requests per path in `hits`.
export async function httpServer(handler, { port: want = 0 } = {}) {
  const hits = new Map();
  const errors = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const p = new URL(req.url, 'http://x').pathname;
      hits.set(p, (hits.get(p) || 0) + 1);
      Promise.resolve(handler(req, Buffer.concat(chunks), res)).catch((e) => {
        errors.push(e);
        process.stderr.write(`test HTTP server ${req.method} ${req.url}: ${e.stack || e}\n`);
        res.writeHead(500);
        res.end(String(e));
      });
    });
  });
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(want, '127.0.0.1', () => { srv.off('error', reject); resolve(); });
  });
  const port = srv.address().port;
  return {
    port, url: `http://127.0.0.1:${port}`, hits, errors,
    count: (p) => hits.get(p) || 0,
    close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(() => r()); }),
  };
}

// Forward a request to another HTTP server and relay the answer. A new
// connection each time (agent: false): reusing a kept-alive one races with
// the other side closing it.
export function forward(target, req, body, res) {
  return new Promise((resolve, reject) => {
    const u = new URL(req.url, target);
    const headers = { ...req.headers, host: u.host, connection: 'close' };
    const out = http.request(u, { method: req.method, headers, agent: false }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => {
        res.writeHead(r.statusCode, r.headers);
        res.end(Buffer.concat(chunks));
        resolve();
      });
    });
    out.on('error', reject);
    out.end(body);
  });
}

// A port nothing listens on.
export async function closedPort() { return freePort(); }

// A long-running child (an OCSP responder), returned once its port accepts
// connections, or once it printed `readyText` (`openssl ocsp -port` spins
// on a connection closed without a request, so it must not be probed).
// stop() ends it (SIGTERM to its pid).
export async function daemon(cmd, args, port, { readyText, ...opts } = {}) {
  const proc = trackProcess(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }), path.basename(cmd));
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const deadline = Date.now() + 10000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${cmd} exited: ${out}`);
    const ok = readyText ? out.includes(readyText) : await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) break;
    if (Date.now() > deadline) { proc.kill(); throw new Error(`${cmd} did not listen on ${port}: ${out}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc, output: () => out,
    stop: () => new Promise((r) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return r();
      proc.on('exit', () => r());
      proc.kill('SIGTERM');
    }),
  };
}

// `sleutel pki init DIR` with the given URLs.
export async function pkiInit(dir, { ocspUrl, crlBase } = {}) {
  const args = ['pki', 'init', dir];
  if (ocspUrl) args.push('--ocsp-url', ocspUrl);
  if (crlBase) args.push('--crl-base', crlBase);
  await run(SLEUTEL, args);
  return dir;
}

// The [eid] keys that make sleuteld trust a demo PKI made in `dir`.
export function trustPki(dir) {
  return {
    trust_anchors: path.join(dir, 'root.pem'),
    intermediates: path.join(dir, 'trust.pem'),
    client_ca: path.join(dir, 'trust.pem'),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
