// app-cli-tty.test.mjs — sleutel-app as a person uses it, on a real
// terminal (util-linux `script` gives it a pty): the interactive
// enrolment in Dutch (terms, phone without the leading 0, SMS code, the
// 5-digit code asked twice), then a login where the app shows the RP, "Ik
// log in", the text and three codes, the person picks one, "Bevestig", and
// types the code — masked: the digits never reach the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer, Agent, hiddenInputs, DEMO_PERSON } from './lib/harness.mjs';
import { sqlAsync } from './lib/db.mjs';
import { registerRp, authRequest, assertCodeResponse } from './lib/flows.mjs';
import { startTestBank } from './lib/bank.mjs';
import { proofCodeOf } from './lib/phone.mjs';
import { appTerminal } from './lib/app.mjs';

const execFileP = promisify(execFile);
const APP_CODE = '86420';

let server;
let rp;
let dir;
let state;
let bank;
// Every terminal started, so that a failed test leaves no app waiting on
// its pty (which would keep this file's process alive).
const terminals = [];

// sleutel-app on a pty (lib/app.mjs).
const terminal = (args, st = state) =>
  appTerminal({ server, ca: path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem'), state: st }, args, terminals);

// The last steps of an enrolment: the 5-digit code twice, and ready.
async function chooseAppCode(t) {
  await t.expect(/Kies een nieuwe 5-cijferige code: /);
  t.type(`${APP_CODE}\r`);
  await t.expect(/Voer deze code opnieuw in: /);
  t.type(`${APP_CODE}\r`);
  await t.expect(/Je bent nu klaar om de app te gebruiken/);
  assert.equal(await t.exited, 0, t.screen);
}

const sql = (query) => sqlAsync(server, query);

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-app-tty-'));
  state = path.join(dir, 'phone.json');
  bank = await startTestBank();
  server = await startServer({ config: { sms: { driver: 'outbox' }, 'bank.demo': bank.config() } });
  bank.attach(server);
  rp = await registerRp(server, { name: 'Mijn gezondheid' });
});

after(async () => {
  for (const p of terminals) if (p.exitCode === null) p.kill('SIGKILL');
  await server?.stop();
  await bank?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('interactive enrolment in Dutch, the code asked twice and never shown', async () => {
  const t = terminal(['enroll']);
  await t.expect(/Aanvaard je de voorwaarden \(versie [^)]+\)\? \[j\/n\] /);
  t.type('j\r');
  await t.expect(/zonder de 0 vooraan: BE \(\+32\) /);
  t.type('470987654\r');
  await t.expect(/per sms op \+32470987654\./);
  await t.expect(/Activatiecode: /);
  const sms = (await sql("SELECT text FROM sms_outbox WHERE phone = '+32470987654'")).match(/(\d{5})\s*$/)[1];
  t.type(`${sms}\r`);
  await t.expect(/Koppel je identiteit/);
  const id = JSON.parse(readFileSync(state, 'utf8')).enrollment_id;
  const r = await fetch(`${server.base}/device/v1/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: id, ...DEMO_PERSON }),
  });
  assert.equal(r.status, 200);
  await t.expect(new RegExp(`Je identiteit is gekoppeld: ${DEMO_PERSON.given_name} ${DEMO_PERSON.family_name}`));
  // Two different codes: asked again.
  await t.expect(/Kies een nieuwe 5-cijferige code: /);
  t.type(`${APP_CODE}\r`);
  await t.expect(/Voer deze code opnieuw in: /);
  t.type('13579\r');
  await t.expect(/De codes zijn niet gelijk/);
  await chooseAppCode(t);
  assert.doesNotMatch(t.screen, /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/);
  assert.match(t.screen, /\*\*\*\*\*/);
  assert.ok(!t.screen.includes(APP_CODE), 'the app code is never on the screen');
  assert.ok(!t.screen.includes('13579'));
  assert.ok(JSON.parse(readFileSync(state, 'utf8')).device_id);
});

test('interactive enrolment with the bank: the app asks for the code the page shows, again after a wrong one', async () => {
  const st = path.join(dir, 'bank-phone.json');
  const t = terminal(['enroll'], st);
  await t.expect(/\[j\/n\] /);
  t.type('j\r');
  await t.expect(/BE \(\+32\) /);
  t.type('470987655\r');
  await t.expect(/Activatiecode: /);
  const sms = (await sql("SELECT text FROM sms_outbox WHERE phone = '+32470987655'")).match(/(\d{5})\s*$/)[1];
  t.type(`${sms}\r`);
  const url = (await t.expect(/(https:\/\/\S+\/proofing\/bank\/demo\?t=\S+)/))[1];
  const page = await bank.login(url, { redeem: false });
  assert.equal(page.status, 200, page.text);
  await t.expect(/Vul hier de code in die de webpagina toont\./);
  await t.expect(/Code van de webpagina \(XXXX-XXXX\): /);
  t.type('ABCD-EFGH\r');
  await t.expect(/Foute code\. Nog 4 poging\(en\)\./);
  await t.expect(/Code van de webpagina \(XXXX-XXXX\): /);
  t.type(`${proofCodeOf(page.text)}\r`);
  await t.expect(/Je identiteit is gekoppeld: Jan Peeters/);
  await chooseAppCode(t);
  assert.ok(JSON.parse(readFileSync(st, 'utf8')).device_id);
});

test('login as a person: "Ik log in", pick the code the browser shows, "Bevestig", the masked code', async () => {
  const agent = new Agent();
  const req = await authRequest(rp.config);
  let res = await agent.get(String(req.url));
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${reqId}&lang=nl`);
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(await res.text()), phone: '0470 98 76 54' });
  assert.equal(res.status, 303);
  const wait = new URL(res.headers.get('location'), server.base);
  const code = (await (await agent.get(String(wait))).text()).match(/id="vcode"[^>]*>(\d{4})</)[1];

  const t = terminal([]); // no command: wait for requests
  try {
    await t.expect(/Wachten op een verzoek/);
    await t.expect(/Mijn gezondheid\r?\nIk log in\r?\n/);
    const m = await t.expect(/1\) (\d{4})\r?\n\s+2\) (\d{4})\r?\n\s+3\) (\d{4})/);
    const pick = [m[1], m[2], m[3]].indexOf(code) + 1;
    assert.ok(pick > 0, `the browser's code ${code} is one of the three`);
    await t.expect(/Kies de code die je scherm toont \(1-3, 0 = weigeren\): /);
    t.type(`${pick}\r`);
    await t.expect(/Bevestig\? \[j\/n\] /);
    t.type('j\r');
    await t.expect(/Voer je 5-cijferige code in: /);
    t.type(`${APP_CODE}\r`);
    await t.expect(/Bevestigd\./);
    assert.ok(!t.screen.includes(APP_CODE), 'the app code is never on the screen');
    assert.doesNotMatch(t.screen, /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/);
  } finally {
    t.kill();
    await t.exited;
  }
  res = await agent.get(String(wait));
  assert.equal(res.status, 303);
  assertCodeResponse(server, new URL(res.headers.get('location')), req.state);
});
