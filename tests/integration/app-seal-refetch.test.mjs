// app-seal-refetch.test.mjs — libsleutel-app keeps the server's seal key
// for 10 minutes (docs/app.md "Approve and refuse"); when the server no
// longer opens an answer sealed to the kept key (its seal key was rotated
// and the old one dropped) it answers invalid_signature before any attempt
// is counted, and the library fetches the current key and answers once
// more.  One library handle (tests/app/answer_loop.c) approves a login,
// sleuteld restarts with a new seal key and without the old one, and the
// same handle approves the next login: without the refetch that second
// answer fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { initServer, launchServer, Agent, hiddenInputs, DEMO_PERSON, BUILD, trackProcess } from './lib/harness.mjs';
import { sqlAsync } from './lib/db.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';
import { runApp } from './lib/app.mjs';

const APP_CODE = '31415';
const LOOP = path.join(BUILD, 'tests', 'app', 'app_answer_loop');

let inst;
let server;
let rp;
let dir;
let state;
let ca;
let loop;

const app = (args, input = '') => runApp({ server, ca, state }, args, input);

async function enrol(number) {
  let r = await app(['--json', 'enroll', 'start', '--phone', number]);
  assert.equal(r.code, 0, r.stderr);
  const { phone, enrollment_id: id } = r.json;
  const text = await sqlAsync(server, `SELECT text FROM sms_outbox WHERE phone = '${phone}' ORDER BY seq DESC LIMIT 1`);
  r = await app(['--json', 'enroll', 'sms', text.match(/(\d{5})\s*$/)[1]]);
  assert.equal(r.code, 0, r.stderr);
  const pr = await fetch(`${server.base}/device/v1/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: id, ...DEMO_PERSON }),
  });
  assert.equal(pr.status, 200);
  r = await app(['--json', 'enroll', 'finish'], `${APP_CODE}\n`);
  assert.equal(r.code, 0, r.stderr);
  return phone;
}

// The answer loop: one handle for the whole test; answer(vcode) resolves
// to its line for that code.
function startLoop() {
  const p = trackProcess(spawn(LOOP, [state, ca, APP_CODE], { stdio: ['pipe', 'pipe', 'inherit'] }), path.basename(LOOP));
  const lines = createInterface({ input: p.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  return {
    proc: p,
    answer(vcode) {
      return new Promise((resolve) => { waiting.push(resolve); p.stdin.write(`${vcode}\n`); });
    },
  };
}

// A browser at the phone form: the wait page's code and the long-poll URL.
async function browserLogin(phone) {
  const agent = new Agent();
  const req = await authRequest(rp.config);
  let res = await agent.get(String(req.url));
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${reqId}&lang=en`);
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(await res.text()), phone });
  assert.equal(res.status, 303);
  const wait = new URL(res.headers.get('location'), server.base);
  const html = await (await agent.get(String(wait))).text();
  const poll = `${server.base}/key/app/poll?req=${reqId}&aq=${wait.searchParams.get('aq')}`;
  return { agent, code: html.match(/id="vcode"[^>]*>(\d{4})</)[1], poll };
}

const sealKids = async () => (await (await fetch(`${server.base}/device/v1/keys`)).json()).seal_keys.map((k) => k.kid);

before(async () => {
  ca = path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem');
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-seal-'));
  state = path.join(dir, 'phone.json');
  inst = await initServer({ config: { sms: { driver: 'outbox' }, app: { poll_timeout: 1 } } });
  server = await launchServer(inst);
  rp = await registerRp(server, { name: 'Mijn gezondheid' });
});

after(async () => {
  loop?.proc.stdin.end();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a kept seal key the server dropped: the app fetches the current one and its answer goes through', async () => {
  const phone = await enrol('0470 31 41 59');
  loop = startLoop();

  // First login: the handle fetches the seal key and keeps it.
  let b = await browserLogin(phone);
  assert.equal(await loop.answer(b.code), 'approved');
  assert.deepEqual(await (await b.agent.get(b.poll)).json(), { status: 'done' });
  const [before1] = await sealKids();

  // The server's seal key is rotated and the old one dropped: sleuteld
  // makes a new current key at start, the kept one no longer opens.
  await server.stop({ keep: true });
  const keysDir = path.join(inst.dir, 'keys');
  for (const f of readdirSync(keysDir).filter((n) => n.startsWith('device-seal'))) unlinkSync(path.join(keysDir, f));
  server = await launchServer(inst);
  const after1 = await sealKids();
  assert.equal(after1.length, 1);
  assert.notEqual(after1[0], before1, 'a new seal key');

  // Second login, same handle: its first answer is sealed to the kept
  // key and refused as invalid_signature (no attempt counted); the
  // library fetches the new key and answers again.
  b = await browserLogin(phone);
  assert.equal(await loop.answer(b.code), 'approved');
  assert.deepEqual(await (await b.agent.get(b.poll)).json(), { status: 'done' });
  // Nothing was counted against the person's code.
  assert.equal(await sqlAsync(server, `SELECT failures FROM accounts WHERE phone = '${phone}'`), '0');
});
