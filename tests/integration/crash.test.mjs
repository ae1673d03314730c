// crash.test.mjs — crash safety (issue 12 item 3).  sleuteld is killed with
// SIGKILL several times under mixed load on one store and started again on
// it; after each restart:
//   - every acknowledged write (an HTTP answer the client received) is
//     there: codes still redeemable, tokens working, rotated refresh tokens
//     refused, enrolled devices present and usable, login audit rows kept;
//   - nothing is half-written: store integrity (SQLite integrity_check and
//     foreign_key_check), no orphans, every account / device / grant / app
//     answer complete or absent;
//   - no login state comes back: a redeemed code, a rotated refresh token,
//     an answered app request and a used SMS activation code are refused.
// Writes in flight at a kill may be present or absent, never half.
//
// The load: test-key logins through the consent page (code + token
// exchange, then refreshes), refreshes of earlier grants, app enrolments
// through the device API (a JS phone, lib/phone.mjs) and app logins the
// phone approves; in the `ciba` round, CIBA requests (poll mode) the phone
// approves and the RP redeems.  Each round kills at a moment drawn from a seeded PRNG
// (one generator per round): after a random delay; after a while of
// refreshes of every free grant; when the first of a burst of code
// exchanges is answered; or in (PostgreSQL) or just after (SQLite) a stall
// of the store that holds a burst of app answers or enrolment finishes at
// their writes, or (`ciba`) the CIBA table while a burst of the phone's
// CIBA answers commit and wait to be copied to it — so that kills land
// inside requests, between the writes of one answer.  CRASH_SEED=<n> replays a run's kill moments (the seed is
// printed with a failure); CRASH_KILLS=<n> sets the number of kills (6).
// docs/crash-safety.md says what is durable when and what this found.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { initServer, launchServer, removeInstallation, Agent, hiddenInputs } from './lib/harness.mjs';
import { sqlAsync, sqlJson, storeOf, ENGINE } from './lib/db.mjs';
import { tokenRequest, RP_CB } from './lib/flows.mjs';
import { Phone, smsGateway } from './lib/phone.mjs';

const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) >>> 0 : crypto.randomInt(2 ** 31);
const KILLS = Number(process.env.CRASH_KILLS || 6);
// (`ciba` kills at a random moment of the mixed load as well, as `time` does)
const MODES = ['time', 'finish', 'refresh', 'exchange', 'answer', 'ciba'];
const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

// mulberry32: a small seeded PRNG, enough to replay the kill moments.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// The kill moments come from their own generator per round, so that a
// replay draws the same ones whatever the load did before; the test's
// other choices from another.
const killRnd = (n) => prng((SEED ^ Math.imul(n + 1, 0x9e3779b9)) >>> 0);
const rnd = prng(SEED ^ 0x5bd1e995);
const sha256hex = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let inst;
let server;
let gw;
let client;
let cibaClient; // poll mode

after(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    server.proc.kill('SIGKILL');
    await server.exited;
  }
  await gw?.close();
  if (inst) removeInstallation(inst.dir);
});

// ---- the round: load until the kill ----

class Interrupted extends Error {}

let round = null;

// Is `e` the failure of a request the kill cut off?
const cutOff = (e) => round.killed && (e instanceof Interrupted ||
  /fetch failed|other side closed|terminated|ECONNRE|socket/i.test(`${e?.message} ${e?.cause}`));

// One request of the load, of `kind`: not started once the round is over;
// counted by kind when the kill cuts it off.
async function step(kind, fn) {
  if (round.killed) throw new Interrupted(kind);
  let res;
  try {
    res = await fn();
    // the first answer of the burst's kind: the kill, the others in flight
    if (round.bursting && kind === round.mode && round.mode !== 'refresh') killNow();
  } catch (e) {
    if (cutOff(e)) L.inFlight[kind] = (L.inFlight[kind] || 0) + 1;
    throw e;
  }
  return res;
}

async function killNow() {
  if (round.killed) return;
  round.killed = true;
  server.proc.kill('SIGKILL');
}

// ---- what the clients were told (the ledger) ----

const L = {
  logins: [], // { rrn } a code reached the RP: the login's audit row must stay
  codes: [], // { code, verifier, rrn } acknowledged, not yet exchanged
  doubtCodes: [], // exchanges cut off
  grants: [], // { rt, at, rotated: [], code, verifier, state: clean|doubt|revoked, replay, busy }
  phones: [], // enrolled (finish acknowledged): usable for app logins
  enrolling: [], // SMS code accepted, not finished: { phone, sms, person, finishSent }
  answers: [], // { phone, rq, code, agent, req, acked, finished, rrn }
  ciba: [], // { phone, id, rq, acked (the phone's answer), pollSent, redeemed, at }
  counts: { logins: 0, refreshes: 0, enrolments: 0, appLogins: 0, ciba: 0, cut: 0 },
  inFlight: {}, // requests cut off by a kill, by kind
};

let seq = 0;
const uniq = () => ++seq;
const rrnOf = (n) => `85073${String(100000 + n).slice(-6)}`;
const personOf = (n) => ({ rrn: rrnOf(n), given_name: 'Crash', family_name: `P${n}` });
const e164 = (n) => `+32471${String(n).padStart(6, '0')}`;

async function authUrl(scope) {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const p = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: RP_CB, scope,
    state: crypto.randomBytes(8).toString('hex'), nonce: crypto.randomBytes(8).toString('hex'),
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  return { url: `${server.base}/authorize?${p}`, verifier };
}

const basic = () => [client.client_id, client.client_secret];
const exchange = (code, verifier) => tokenRequest(server,
  { grant_type: 'authorization_code', code, redirect_uri: RP_CB, code_verifier: verifier }, { basic: basic() });
const refresh = (rt) => tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt }, { basic: basic() });

async function userinfo(at) {
  const r = await fetch(`${server.base}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
  await r.text();
  return r.status;
}

function codeOf(res) {
  assert.equal(res.status, 303, `expected a redirect, got ${res.status}`);
  const loc = new URL(res.headers.get('location'), server.base);
  return loc;
}

// A test-key login through the consent page: the code at the RP.
async function testKeyLogin(n) {
  const agent = new Agent();
  const { url, verifier } = await authUrl('openid profile offline_access');
  let res = await step('authorize', () => agent.get(url));
  const req = codeOf(res).searchParams.get('req');
  res = await step('page', () => agent.get(`${server.base}/key/test?req=${req}`));
  assert.equal(res.status, 200);
  const hidden = hiddenInputs(await res.text());
  res = await step('login', () => agent.post(`${server.base}/key/test/login`, { ...hidden, ...personOf(n), mode: 'direct' }));
  const consent = codeOf(res);
  assert.equal(consent.pathname, '/login/consent', 'a new person is asked to consent');
  res = await step('consent', () => agent.get(consent.href));
  assert.equal(res.status, 200);
  const form = hiddenInputs(await res.text());
  res = await step('consent', () => agent.post(`${server.base}/login/consent`, { ...form, decision: 'share' }));
  const back = codeOf(res);
  const code = back.searchParams.get('code');
  assert.ok(code, `no code in ${back}`);
  return { code, verifier };
}

async function doRefresh(g) {
  let r;
  try {
    r = await step('refresh', () => refresh(g.rt));
  } catch (e) {
    if (cutOff(e) && !(e instanceof Interrupted)) g.state = 'doubt';
    throw e;
  }
  assert.equal(r.status, 200, `refresh of an acknowledged token: ${JSON.stringify(r.body)}`);
  g.rotated.push(g.rt);
  g.rt = r.body.refresh_token;
  g.at = r.body.access_token;
  L.counts.refreshes++;
}

// A code that reached the RP, exchanged: acknowledged until then, in
// doubt while the exchange is in flight.
async function exchangeTracked(c) {
  L.codes.push(c);
  let r;
  try {
    r = await step('exchange', () => exchange(c.code, c.verifier));
  } catch (e) {
    if (cutOff(e) && !(e instanceof Interrupted)) {
      L.codes.splice(L.codes.indexOf(c), 1);
      L.doubtCodes.push(c);
    }
    throw e;
  }
  L.codes.splice(L.codes.indexOf(c), 1);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r;
}

// A test-key login whose code reached the RP.
async function newLogin() {
  const n = uniq();
  const { code, verifier } = await testKeyLogin(n);
  const c = { code, verifier, rrn: rrnOf(n), consent: true };
  L.logins.push(c);
  L.counts.logins++;
  return c;
}

// Its exchange: a grant with a refresh token (busy: its caller uses it).
async function grantOf(c) {
  const r = await exchangeTracked(c);
  assert.ok(r.body.refresh_token, 'offline_access gives a refresh token');
  const g = { rt: r.body.refresh_token, at: r.body.access_token, rotated: [], code: c.code, verifier: c.verifier,
    state: 'clean', replay: rnd() < 0.4, busy: true };
  L.grants.push(g);
  return g;
}

// Logins, their exchange and a few refreshes.
async function loginWorker() {
  for (;;) {
    const g = await grantOf(await newLogin());
    for (let i = 0; i < 2; i++) await doRefresh(g);
    g.busy = false;
  }
}

// Refreshes of the grants of earlier rounds.
async function refreshWorker() {
  for (;;) {
    const g = L.grants.find((x) => x.state === 'clean' && !x.busy && x.lastRound !== round.n);
    if (!g) { await step('idle', () => sleep(20)); continue; }
    g.busy = true;
    g.lastRound = round.n;
    await doRefresh(g);
    g.busy = false;
  }
}

// An app enrolment through the device API up to its last step: started,
// the SMS code accepted (one-time from then on), identity proofed.
async function enrolPrepare() {
  const n = uniq();
  const phone = await new Phone({ base: server.base, issuer: server.issuer }).init();
  const person = personOf(n);
  let r = await step('start', () => phone.start(e164(n)));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  phone.number = r.body.phone;
  const sms = gw.code(e164(n));
  r = await step('sms', () => phone.call('POST', '/enroll/sms', { code: sms }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const en = { phone, sms, person, finishSent: false };
  L.enrolling.push(en);
  r = await step('proofed', () => fetch(`${phone.base}/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: phone.enrollmentId, ...person }),
  }));
  assert.equal(r.status, 200);
  return en;
}

async function enrolFinish(en) {
  const { phone } = en;
  const r = await step('finish', () => { en.finishSent = true; return phone.finish(); });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  phone.deviceId = r.body.device_id;
  phone.accountId = r.body.account_id;
  phone.rrn = en.person.rrn;
  L.enrolling.splice(L.enrolling.indexOf(en), 1);
  L.phones.push(phone);
  L.counts.enrolments++;
}

async function enrolWorker() {
  for (;;) await enrolFinish(await enrolPrepare());
}

// Finish a browser's app login: the wait page, /login/finish, the code.
async function browserFinish(a) {
  let res = await step('wait', () => a.agent.get(`${server.base}/login/wait?req=${a.req}`));
  assert.equal(res.status, 200, `wait page ${res.status}`);
  const { csrf } = hiddenInputs(await res.text());
  res = await step('loginfinish', () => {
    a.finishSent = true;
    return a.agent.get(`${server.base}/login/finish?req=${a.req}&csrf=${csrf}`);
  });
  const back = codeOf(res);
  assert.ok(back.searchParams.get('code'), `the app login ends with a code, not ${back}`);
  return back.searchParams.get('code');
}

// An app login up to the phone's answer: the browser asked, the phone
// has the request.
async function appPrepare(phone) {
  const agent = new Agent();
  const { url, verifier } = await authUrl('openid');
  let res = await step('authorize', () => agent.get(url));
  const req = codeOf(res).searchParams.get('req');
  res = await step('apppage', () => agent.get(`${server.base}/key/app?req=${req}&lang=en`));
  assert.equal(res.status, 200);
  const hidden = hiddenInputs(await res.text());
  res = await step('applogin', () => agent.post(`${server.base}/key/app/login`, { ...hidden, phone: phone.number }));
  const aq = codeOf(res).searchParams.get('aq');
  assert.ok(aq, 'an app request');
  const code = await sqlAsync(server, `SELECT code FROM app_requests WHERE id='${aq}'`);
  const ch = await step('channel', () => phone.call('GET', '/requests'));
  assert.equal(ch.status, 200);
  const rq = ch.body.requests.find((x) => x.id === aq);
  assert.ok(rq, 'the request is on the channel');
  const a = { phone, rq, code, agent, req, verifier, acked: false, finished: false };
  L.answers.push(a);
  return a;
}

// The phone approves; the browser finishes; the RP exchanges the code.
async function appAnswer(a) {
  const r = await step('answer', () => a.phone.answer(a.rq, { code: a.code }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  a.acked = true;
  const c = { code: await browserFinish(a), verifier: a.verifier, rrn: a.phone.rrn };
  a.finished = true;
  L.logins.push({ rrn: a.phone.rrn });
  L.counts.appLogins++;
  await exchangeTracked(c);
  a.phone.busy = false;
}

async function appWorker(slot) {
  for (;;) {
    const phone = L.phones.filter((p, i) => i % 2 === slot && !p.busy).at(-1);
    if (!phone) { await step('idle', () => sleep(20)); continue; }
    phone.busy = true;
    await appAnswer(await appPrepare(phone));
  }
}

// A CIBA request for `phone` (poll mode), up to the phone having it.
async function cibaPrepare(phone) {
  const binding = `Crash order ${uniq()}`;
  const r = await step('bcauthorize', () => tokenRequest(server, { scope: 'openid', login_hint: phone.number,
    binding_message: binding }, { basic: [cibaClient.client_id, cibaClient.client_secret], endpoint: '/bc-authorize' }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const ch = await step('channel', () => phone.call('GET', '/requests'));
  assert.equal(ch.status, 200);
  const rq = ch.body.requests.find((x) => x.display_text.includes(binding));
  assert.ok(rq, 'the CIBA request is on the channel');
  const c = { phone, id: r.body.auth_req_id, rq, acked: false, pollSent: false, redeemed: false };
  L.ciba.push(c);
  return c;
}

// The RP's token request for a CIBA request (ciba interval 1 s: a poll
// within it is told slow_down, and tries again).
async function cibaPoll(c) {
  for (let i = 0; ; i++) {
    const r = await tokenRequest(server, { grant_type: CIBA_GRANT, auth_req_id: c.id },
      { basic: [cibaClient.client_id, cibaClient.client_secret] });
    if (r.body?.error !== 'slow_down' || i === 3) return r;
    await sleep(1100);
  }
}

// The phone approves; the RP redeems the auth_req_id.
async function cibaAnswer(c) {
  const r = await step('cibaanswer', () => c.phone.answer(c.rq, { code: c.rq.codes[0] }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  c.acked = true;
  const t = await step('cibatoken', () => { c.pollSent = true; return cibaPoll(c); });
  assert.equal(t.status, 200, `the CIBA token after the phone's approval: ${JSON.stringify(t.body)}`);
  Object.assign(c, { redeemed: true, at: t.body.access_token });
  L.counts.ciba++;
  c.phone.busy = false;
}

// Another session holds a lock of the store for a while, as a long
// operator query would: under PostgreSQL on the audit table (SHARE:
// nothing is appended to it, all else goes on), under SQLite the write
// lock.  Requests in flight wait at their next write there, in the middle
// of what they do.  release() ends it.
async function stallStore(table = 'audit') {
  const st = storeOf(server);
  const pg = st.engine === 'postgresql';
  const p = spawn(pg ? 'psql' : 'sqlite3', pg ? ['-X', '-q', '-d', st.conninfo] : ['-cmd', '.timeout 5000', st.file],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((r) => p.on('close', r));
  let out = '';
  let n = 0;
  // psql keeps its standard output until it ends: \warn (stderr) does not
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const take = async () => {
    const mark = `held ${++n}`;
    p.stdin.write(pg ? `BEGIN;\nLOCK TABLE ${table} IN SHARE MODE;\n\\warn ${mark}\n`
      : `BEGIN IMMEDIATE;\nSELECT '${mark}';\n`);
    for (let i = 0; !out.includes(mark); i++) {
      assert.ok(i < 500, `the stall could not take its lock: ${out}`);
      await sleep(10);
    }
  };
  await take();
  return {
    // sessions waiting for a lock of the table (PostgreSQL)
    waiting: async () => Number(await q('SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation' +
      ` WHERE c.relname = '${table}' AND NOT l.granted`)),
    // PostgreSQL: let the waiting transactions through and take the lock
    // again at once: it is granted when they end, before the next
    // transactions of the same requests, which then wait in their turn
    async again() {
      p.stdin.write('ROLLBACK;\n');
      await take();
    },
    async release() { p.stdin.end('ROLLBACK;\n'); await exited; },
  };
}

// A burst: several requests of the round's kind prepared, then sent at
// once with a refresh of every free grant; the kill comes when the k-th
// of the round's kind answers, with the others in flight.
const BURST = 3;
async function burstWorker(mode, delay) {
  await step('idle', () => sleep(delay));
  let jobs = [];
  const free = (list, n) => list.filter((x) => !x.busy).slice(0, n).map((x) => { x.busy = true; return x; });
  if (mode === 'refresh') {
    // logins alongside: their durable commits (person, audit) hold the
    // writer while refreshes queue behind them
    jobs = Array.from({ length: BURST }, () => newLogin);
  } else if (mode === 'exchange') {
    const cs = await Promise.all(Array.from({ length: BURST }, newLogin));
    jobs = cs.map((c) => () => grantOf(c));
  } else if (mode === 'finish') {
    const ens = await Promise.all(Array.from({ length: BURST }, enrolPrepare));
    jobs = ens.map((en) => () => enrolFinish(en));
  } else if (mode === 'answer') {
    const as = await Promise.all(free(L.phones, BURST).map(appPrepare));
    jobs = as.map((a) => () => appAnswer(a));
  } else if (mode === 'ciba') {
    const cs = await Promise.all(free(L.phones, BURST).map(cibaPrepare));
    jobs = cs.map((c) => () => cibaAnswer(c));
  }
  const burst = jobs.length;
  // every free grant refreshed again and again until the kill, so that
  // the server is busy with rotations whenever it comes
  for (const g of free(L.grants.filter((x) => x.state === 'clean'), 15)) {
    jobs.push(async () => { for (;;) await doRefresh(g); });
  }
  if (mode === 'answer' || mode === 'finish' || mode === 'ciba') {
    // The store stalls while the burst arrives: the requests pile up at
    // their writes.  Under PostgreSQL the kill comes in the stall (each
    // request waits at its audit row, after what it wrote before; a CIBA
    // answer, committed with its audit row, waits at its copy to the
    // CIBA record); under SQLite once it ends, while they drain through
    // the write lock.
    const stall = await stallStore(mode === 'ciba' ? 'ciba_requests' : 'audit');
    let all;
    try {
      all = Promise.allSettled(jobs.map((j) => j()));
      if (storeOf(server).engine === 'postgresql') {
        // until the burst's requests wait at the lock (or a while)
        for (let i = 0; i < 30 && (await stall.waiting()) < burst; i++) await sleep(30);
        await sleep(100 * round.within);
        killNow();
      } else {
        await sleep(100 + 200 * round.within);
        setTimeout(killNow, 60 * round.within);
      }
    } finally {
      await stall.release();
    }
    for (const r of await all) if (r.status === 'rejected') throw r.reason;
    return;
  }
  if (mode === 'refresh' && storeOf(server).engine === 'postgresql') {
    // Under PostgreSQL the tokens table stalls while refreshes run: they
    // wait at their first write; let through, they end that transaction
    // and meet the stall again at the next one; the kill comes then.
    const all = Promise.allSettled(jobs.map((j) => j()));
    await sleep(100 * round.within);
    const stall = await stallStore('tokens');
    try {
      const loops = jobs.length - burst;
      for (let i = 0; i < 30 && (await stall.waiting()) < Math.min(3, loops); i++) await sleep(30);
      await stall.again();
      for (let i = 0; i < 30 && (await stall.waiting()) < 1; i++) await sleep(30);
      killNow();
    } finally {
      await stall.release();
    }
    for (const r of await all) if (r.status === 'rejected') throw r.reason;
    return;
  }
  round.bursting = true;
  // the kill after a while of refreshes, or when the first of the burst's
  // kind is answered (the others in flight)
  if (mode === 'refresh') setTimeout(killNow, 400 * round.within);
  await Promise.all(jobs.map((j) => j()));
}

// Run the load until the kill; every worker ends cut off (or with a real
// failure, which is thrown).
async function loadRound(n) {
  const kr = killRnd(n);
  const mode = MODES[n % MODES.length];
  const delay = 150 + Math.floor(kr() * 700);
  const within = kr();
  round = { n, mode, killed: false, bursting: false, within };
  // At the latest (a burst may have nothing to send: no phone yet).
  const deadline = setTimeout(killNow, mode === 'time' ? delay : delay + 15000);
  const workers = [loginWorker(), loginWorker(), refreshWorker(), enrolWorker(), appWorker(0), appWorker(1)];
  if (mode !== 'time') workers.push(burstWorker(mode, delay));
  const results = await Promise.allSettled(workers);
  clearTimeout(deadline);
  await server.exited;
  for (const r of results) {
    if (r.status === 'rejected' && !cutOff(r.reason)) throw r.reason;
    if (r.status === 'rejected' && !(r.reason instanceof Interrupted)) L.counts.cut++;
  }
  for (const g of L.grants) g.busy = false;
  for (const p of L.phones) p.busy = false;
  return { mode, delay, within: Number(within.toFixed(3)) };
}

// ---- after the restart: what must hold ----

const q = (query) => sqlAsync(server, query);
const rows = (query) => sqlJson(server, query);

// Nothing half-written, by the store's own records.
async function checkStore() {
  if (storeOf(server).engine === 'sqlite') {
    assert.equal(await q('PRAGMA integrity_check; PRAGMA foreign_key_check'), 'ok',
      'SQLite integrity_check and foreign_key_check');
  }
  // Each query selects the ids (x) of what would be half-written.
  const orphans = [
    ['accounts without their person', 'SELECT a.id AS x FROM accounts a LEFT JOIN persons p ON p.id = a.person_id WHERE p.id IS NULL'],
    ['devices without their account', 'SELECT d.id AS x FROM devices d LEFT JOIN accounts a ON a.id = d.account_id WHERE a.id IS NULL'],
    ['accounts without a device', 'SELECT a.id AS x FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.account_id = a.id)'],
    ['devices without keys', "SELECT id AS x FROM devices WHERE transport_jwk = '' OR confirm_key = '' OR jkt = ''"],
    ['persons without a name', 'SELECT id AS x FROM persons WHERE given_name IS NULL OR family_name IS NULL'],
    ['tokens of no person', 'SELECT t.hash AS x FROM tokens t LEFT JOIN persons p ON p.id = t.person_id WHERE p.id IS NULL'],
    ['codes of no person', 'SELECT c.hash AS x FROM codes c LEFT JOIN persons p ON p.id = c.person_id WHERE p.id IS NULL'],
    ['sessions of no person', 'SELECT s.id AS x FROM sessions s LEFT JOIN persons p ON p.id = s.person_id WHERE p.id IS NULL'],
    ['consents of no person', 'SELECT c.client_id AS x FROM consents c LEFT JOIN persons p ON p.id = c.person_id WHERE p.id IS NULL'],
    // a code's redemption and a refresh's rotation each store one access
    // and one refresh token (offline_access) in one transaction
    ['a grant with a refresh token and no access token of the same answer',
      "SELECT grant_id AS x FROM tokens WHERE scope LIKE '%offline_access%' GROUP BY grant_id" +
      " HAVING sum(CASE WHEN kind = 'access' THEN 1 ELSE 0 END) <> sum(CASE WHEN kind = 'refresh' THEN 1 ELSE 0 END)"],
    // an approved app login has completed its login request
    ['an app request approved whose login request still waits',
      "SELECT q.id AS x FROM app_requests q JOIN auth_requests r ON r.id = q.link_id WHERE q.link_kind = 'authreq'" +
      " AND q.status = 'approved' AND r.status = 'pending'"],
    // the audit trail records what took effect
    ['an account whose enrolment is not in the audit trail',
      "SELECT a.id AS x FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM audit u WHERE u.event = 'app.enroll'" +
      " AND u.result = 'ok' AND u.person_id = a.person_id)"],
    // the phone's answer is copied to its CIBA record, never ahead of it
    ['a CIBA request approved whose app request is not',
      "SELECT c.id AS x FROM ciba_requests c JOIN app_requests q ON q.id = c.apprq_id" +
      " WHERE c.status IN ('approved', 'redeemed') AND q.status <> 'approved'"],
    // /bc-authorize stores the app request and the CIBA record in one commit
    ['a CIBA app request without its CIBA record',
      "SELECT q.id AS x FROM app_requests q WHERE q.link_kind = 'ciba' AND NOT EXISTS" +
      " (SELECT 1 FROM ciba_requests c WHERE c.id = q.link_id AND c.apprq_id = q.id)"],
    // a CIBA token request redeems its auth_req_id with its audit row and
    // its tokens in one transaction (the auth_time is the approval's, on
    // the record and on the tokens alike)
    ['a CIBA request redeemed without its access token',
      "SELECT c.id AS x FROM ciba_requests c WHERE c.status = 'redeemed' AND NOT EXISTS" +
      " (SELECT 1 FROM tokens t WHERE t.kind = 'access' AND t.client_id = c.client_id" +
      " AND t.person_id = c.person_id AND t.auth_time = c.auth_time)"],
    ['a person whose CIBA redemptions and CIBA token audit rows differ in number',
      "SELECT person_id AS x FROM (SELECT person_id, 1 AS r, 0 AS a FROM ciba_requests WHERE status = 'redeemed'" +
      " UNION ALL SELECT person_id, 0 AS r, 1 AS a FROM audit WHERE event = 'token' AND detail = 'ciba') v" +
      " GROUP BY person_id HAVING sum(r) <> sum(a)"],
    ['an app answer approved that is not in the audit trail',
      "SELECT q.id AS x FROM app_requests q WHERE q.status = 'approved' AND NOT EXISTS" +
      " (SELECT 1 FROM audit u WHERE u.key = 'app' AND u.result = 'ok' AND u.detail = q.id)"],
  ];
  const found = await rows(orphans.map(([, query], i) => `SELECT ${i} AS n, CAST(x AS TEXT) AS x FROM (${query}) t${i}`)
    .join(' UNION ALL '));
  for (const r of found) assert.fail(`${orphans[r.n][0]}: ${r.x}`);
}

// revoked (0/1) of each refresh token of the clean grants, by token.
async function refreshStates() {
  const tokens = L.grants.filter((g) => g.state === 'clean').flatMap((g) => [g.rt, ...g.rotated]);
  const byHash = new Map(tokens.map((t) => [sha256hex(t), t]));
  if (!byHash.size) return new Map();
  const list = [...byHash.keys()].map((h) => `'${h}'`).join(',');
  const got = await rows(`SELECT hash, revoked FROM tokens WHERE hash IN (${list})`);
  return new Map(got.map((r) => [byHash.get(r.hash), r.revoked]));
}

// Every acknowledged write is there; no login state comes back.
async function checkLedger() {
  // logins that reached the RP: their audit rows
  const audited = new Map((await rows("SELECT p.rrn AS rrn, count(*) AS n FROM audit u JOIN persons p ON p.id = u.person_id" +
    " WHERE u.event = 'login' AND u.result = 'ok' GROUP BY p.rrn")).map((r) => [r.rrn, r.n]));
  const want = new Map();
  for (const l of L.logins) want.set(l.rrn, (want.get(l.rrn) || 0) + 1);
  for (const [rrn, n] of want) assert.ok((audited.get(rrn) || 0) >= n, `login audit rows of ${rrn}: ${audited.get(rrn)} < ${n}`);
  // consents given on the way: kept
  const consented = new Set((await rows(`SELECT p.rrn AS rrn FROM consents c JOIN persons p ON p.id = c.person_id
    WHERE c.client_id = '${client.client_id}'`)).map((r) => r.rrn));
  for (const l of L.logins) if (l.consent) assert.ok(consented.has(l.rrn), `the consent of ${l.rrn}`);

  // acknowledged codes not yet exchanged: still good, once
  for (const c of L.codes.splice(0)) {
    const r = await exchange(c.code, c.verifier);
    assert.equal(r.status, 200, `an acknowledged code after the restart: ${JSON.stringify(r.body)}`);
    if (r.body.refresh_token) L.grants.push({ rt: r.body.refresh_token, at: r.body.access_token, rotated: [], code: c.code,
      verifier: c.verifier, state: 'clean', replay: true });
  }
  // exchanges cut off: redeemed or not, never half
  for (const c of L.doubtCodes.splice(0)) {
    const r = await exchange(c.code, c.verifier);
    assert.ok(r.status === 200 || (r.status === 400 && r.body.error === 'invalid_grant'), JSON.stringify(r.body));
  }

  const revoked = await refreshStates();
  await Promise.all(L.grants.map(async (g) => {
    if (g.state === 'clean') {
      assert.equal(await userinfo(g.at), 200, 'an acknowledged access token works');
      assert.equal(revoked.get(g.rt), 0, 'the acknowledged refresh token is there, not revoked');
      for (const old of g.rotated) assert.equal(revoked.get(old), 1, 'a rotated refresh token stays revoked');
      if (g.replay) {
        // a redeemed code cannot be redeemed again; trying revokes its grant
        const r = await exchange(g.code, g.verifier);
        assert.equal(r.status, 400, 'a redeemed code after the restart');
        assert.equal(r.body.error, 'invalid_grant');
        g.state = 'revoked';
      }
    } else if (g.state === 'doubt') {
      // the cut-off refresh rotated or not: the acknowledged token works
      // (not rotated), or is a replay that revokes the grant (rotated)
      const r = await refresh(g.rt);
      if (r.status === 200) {
        g.rotated.push(g.rt);
        g.rt = r.body.refresh_token;
        g.at = r.body.access_token;
        g.state = 'clean';
      } else {
        assert.equal(r.body.error, 'invalid_grant', JSON.stringify(r.body));
        g.state = 'revoked';
      }
    }
    if (g.state === 'revoked' && !g.checked) {
      // (the newest rotated-out ones: the others are refused the same way)
      for (const t of [g.rt, ...g.rotated.slice(-2)]) {
        const r = await refresh(t);
        assert.equal(r.status, 400, 'a revoked grant cannot be refreshed');
      }
      assert.equal(await userinfo(g.at), 401, 'a revoked grant\'s access token');
      g.checked = true;
    }
  }));

  // enrolled devices: there, and usable
  await Promise.all(L.phones.map(async (p) => {
    if (p.checked) return;
    const r = await p.call('GET', '/devices');
    assert.equal(r.status, 200, `an enrolled device after the restart: ${JSON.stringify(r.body)}`);
    assert.ok(r.body.devices.some((d) => d.id === p.deviceId && d.status === 'active'));
    p.checked = true;
  }));
  // SMS codes used: never again; the enrolment goes on, or was finished
  await Promise.all(L.enrolling.splice(0).map(async (en) => {
    const { phone } = en;
    const dev = await rows(`SELECT id, account_id FROM devices WHERE jkt = '${phone.jkt}'`);
    if (dev.length) {
      assert.ok(en.finishSent, 'a device only from a finish');
      Object.assign(phone, { deviceId: dev[0].id, accountId: dev[0].account_id, rrn: en.person.rrn });
      L.phones.push(phone);
      return;
    }
    let r = await phone.call('POST', '/enroll/sms', { code: en.sms });
    assert.equal(r.status, 409, `a used SMS code after the restart: ${JSON.stringify(r.body)}`);
    r = await fetch(`${phone.base}/test/proofed`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enrollment_id: phone.enrollmentId, ...en.person }),
    });
    // proofed before the kill (409: not waiting for proofing any more) or now
    assert.ok(r.status === 200 || r.status === 409, `proofing after the restart: ${r.status} ${await r.text()}`);
    assert.equal((await phone.call('GET', '/enroll')).body.status, 'proofed');
    r = await phone.finish();
    assert.equal(r.status, 201, JSON.stringify(r.body));
    Object.assign(phone, { deviceId: r.body.device_id, accountId: r.body.account_id, rrn: en.person.rrn });
    L.phones.push(phone);
  }));
  // app answers: never answered twice; the browser's login goes on
  await Promise.all(L.answers.splice(0).map(async (a) => {
    const r = await a.phone.answer(a.rq, { code: a.code });
    if (a.acked) assert.equal(r.status, 409, `an answered request after the restart: ${JSON.stringify(r.body)}`);
    else assert.ok(r.status === 200 || r.status === 409, JSON.stringify(r.body));
    if (r.status === 409) assert.equal(r.body.error, 'already_answered');
    if (!a.finished) {
      // a finish cut off may have answered the login request already
      const page = await a.agent.get(`${server.base}/login/wait?req=${a.req}`);
      await page.text();
      if (page.status === 404 && a.finishSent) return;
      await browserFinish(a);
      L.logins.push({ rrn: a.phone.rrn });
    }
  }));
  // CIBA: an approval the phone was told of gives the RP its tokens (the
  // answer is not lost between its transaction and its copy to the CIBA
  // record); a redeemed auth_req_id stays redeemed.
  await Promise.all(L.ciba.splice(0).map(async (c) => {
    if (c.redeemed) {
      const r = await cibaPoll(c);
      assert.equal(r.body.error, 'invalid_grant', `a redeemed auth_req_id after the restart: ${JSON.stringify(r.body)}`);
      assert.equal(await userinfo(c.at), 200, 'an acknowledged CIBA access token works');
      return;
    }
    const a = await c.phone.answer(c.rq, { code: c.rq.codes[0] });
    if (c.acked) assert.equal(a.status, 409, `an answered CIBA request after the restart: ${JSON.stringify(a.body)}`);
    else assert.ok(a.status === 200 || a.status === 409, JSON.stringify(a.body));
    const r = await cibaPoll(c);
    if (c.pollSent && r.status === 400) {
      // the token request cut off may have redeemed it: then with its
      // tokens and audit row, in the same commit (checkStore's
      // 'a CIBA request redeemed without its access token')
      assert.equal(r.body.error, 'invalid_grant', JSON.stringify(r.body));
      const [cb] = await rows(`SELECT status FROM ciba_requests WHERE id = '${c.id}'`);
      assert.equal(cb?.status, 'redeemed', `a CIBA request refused after the restart: ${JSON.stringify(r.body)}`);
      return;
    }
    assert.equal(r.status, 200, `the tokens of a CIBA request the phone answered (${c.acked ? 'acknowledged' : 'in doubt'}),` +
      ` after the restart: ${JSON.stringify(r.body)}`);
    assert.equal(await userinfo(r.body.access_token), 200);
    L.counts.ciba++;
  }));
}

test(`SIGKILL ${KILLS} times under load (${ENGINE}): acknowledged writes stay, nothing half, nothing back`, async (t) => {
  const t0 = Date.now();
  gw = await smsGateway();
  inst = await initServer({
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { rate_phone: 1000, rate_ip: 1000, poll_timeout: 2, max_pending: 5 },
      ciba: { interval: 1 },
      server: { threads: 4 },
    },
  });
  const rounds = [];
  try {
    server = await launchServer(inst, { owner: false });
    client = await server.client({ redirectUris: [RP_CB], scopes: 'openid profile offline_access' });
    cibaClient = JSON.parse(await server.cli('client', 'add', '--name', 'Crash bank', '--redirect-uri', RP_CB, '--json',
      '--ciba-mode', 'poll'));
    for (let n = 0; n < KILLS; n++) {
      const t1 = Date.now();
      const r = await loadRound(n);
      const t2 = Date.now();
      server = await launchServer(inst, { owner: false });
      const t3 = Date.now();
      round = { n, killed: false };
      await checkStore();
      await checkLedger();
      rounds.push({ ...r, load: t2 - t1, restart: t3 - t2, check: Date.now() - t3 });
    }
    await checkStore();
  } catch (e) {
    if (e.cause) e.message += ` (${e.cause})`;
    e.message = `CRASH_SEED=${SEED} (replay with it), store ${inst.dir}, rounds ${JSON.stringify(rounds)}\n${e.message}`;
    throw e;
  }
  const res = await server.stop({ keep: true });
  assert.equal(res.code, 0);
  t.diagnostic(`seed ${SEED}, ${((Date.now() - t0) / 1000).toFixed(1)} s, ${JSON.stringify(L.counts)}, ` +
    `cut off in flight ${JSON.stringify(L.inFlight)}, ` +
    `grants ${L.grants.length}, phones ${L.phones.length}, rounds ${JSON.stringify(rounds)}`);
  assert.ok(L.counts.logins > 0 && L.counts.refreshes > 0 && L.counts.enrolments > 0 && L.counts.appLogins > 0 &&
    (L.counts.ciba > 0 || KILLS < MODES.length), `every kind of write was acknowledged: ${JSON.stringify(L.counts)}`);
});
