// smartid-app-tty.test.mjs — `sleutel-app smartid` as a person uses it,
// on a real terminal (a pty): "Registreren", country and ID card, the
// terms, "Kies je PIN1" and PIN2 each twice (a mismatch asked again),
// masked; the registration code and "Ga verder op je computer"; the app
// waits while the portal part is done with an eID card; the recall check
// with a wrong PIN1 said plainly, then right; then a login where the app
// shows the site and the verification code, "Bevestig?", PIN1 — no PIN
// ever on the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';
import { issueCard, rrn } from './lib/eid.mjs';
import { portalEidLogin, portalSteps } from './lib/smartid.mjs';
import { appTerminal, runApp } from './lib/app.mjs';

const PIN1 = '90817';
const PIN2 = '3141592';
const PERSON = { given: 'Lies', family: 'Wouters', rrn: rrn('870604', '246') };

let server;
let rp;
let dir;
let state;
let ca;
const terminals = [];

const terminal = (args) => appTerminal({ server, ca, state }, args, terminals);

before(async () => {
  ca = path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem');
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-sidapp-tty-'));
  state = path.join(dir, 'phone.json');
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024 } } });
  rp = await registerRp(server, { name: 'Mijn gezondheid' });
});

after(async () => {
  for (const p of terminals) if (p.exitCode === null) p.kill('SIGKILL');
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function portal(code) {
  const card = await issueCard(server.pkiDir, dir, PERSON);
  const agent = new Agent();
  await portalEidLogin(server, agent, card);
  return portalSteps(server, agent, code);
}

test('interactive registration in Dutch: PINs chosen twice and masked, the code, the portal, the recall check', async () => {
  const t = terminal(['smartid', 'register', '--name', 'Pixel']);
  await t.expect(/Registreren/);
  await t.expect(/Land: BE, verificatiemethode: ID-kaart/);
  await t.expect(/algemene voorwaarden voor de Smart-ID-certificaten \(versie [^)]+\)\? \[j\/n\] /);
  t.type('j\r');
  await t.expect(/pincodes kunnen niet hersteld of gereset worden/);
  await t.expect(/Kies je PIN1 \(4 tot 12 cijfers, om in te loggen\): /);
  t.type(`${PIN1}\r`);
  await t.expect(/Voer deze pincode opnieuw in: /);
  t.type('1111\r');
  await t.expect(/De pincodes zijn niet gelijk/);
  await t.expect(/Kies je PIN1/);
  t.type(`${PIN1}\r`);
  await t.expect(/Voer deze pincode opnieuw in: /);
  t.type(`${PIN1}\r`);
  await t.expect(/Kies je PIN2 \(5 tot 12 cijfers, om te ondertekenen\): /);
  t.type(`${PIN2}\r`);
  await t.expect(/Voer deze pincode opnieuw in: /);
  t.type(`${PIN2}\r`);
  const link = await t.expect(/Ga verder op je computer: open (\S+) en log in met je ID-kaart\./);
  assert.equal(link[1], `${server.base}/smartid/register`);
  const code = (await t.expect(/Je registratiecode: ([2-9A-Z]{4}-[2-9A-Z]{4}) \(15 minuten geldig\)/))[1];
  await t.expect(/Wachten tot je de registratie op je computer bevestigt/);

  const end = await portal(code);
  assert.equal(end.status, 200, end.body);
  await t.expect(new RegExp(`De registratie is bevestigd voor ${PERSON.given} ${PERSON.family}\\.`));
  await t.expect(/Toon dat je je pincodes onthouden hebt/);
  await t.expect(/Voer je PIN1 in: /);
  t.type('0000\r');
  await t.expect(/Voer je PIN2 in: /);
  t.type(`${PIN2}\r`);
  await t.expect(/Foute pincode: PIN1\. Nog 2 poging\(en\)\./);
  await t.expect(/Voer je PIN1 in: /);
  t.type(`${PIN1}\r`);
  await t.expect(/Voer je PIN2 in: /);
  t.type(`${PIN2}\r`);
  await t.expect(/Je Smart-ID-account is klaar\. Documentnummer: PNOBE-/);
  assert.equal(await t.exited, 0, t.screen);
  for (const pin of [PIN1, PIN2, '1111', '0000']) assert.ok(!t.screen.includes(pin), `${pin} is not on the screen`);
  assert.ok(JSON.parse(readFileSync(state, 'utf8')).smartid.device_id);
});

test('a login on the terminal: the site and the verification code, "Bevestig?", PIN1 masked', async () => {
  const agent = new Agent();
  const req = await authRequest(rp.config);
  let res = await agent.get(String(req.url));
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/smartid?req=${reqId}&lang=nl`);
  res = await agent.post(`${server.base}/key/smartid/login`, { ...hiddenInputs(await res.text()), rrn: PERSON.rrn });
  assert.equal(res.status, 303);
  const wait = new URL(res.headers.get('location'), server.base);
  const vcode = (await (await agent.get(String(wait))).text()).match(/id="vcode"[^>]*>(\d{4})</)[1];

  const p = await runApp({ server, ca, state }, ['--json', 'smartid', 'pending']);
  const id = p.json.requests[0].id;
  const t = terminal(['smartid', 'approve', id]);
  await t.expect(/Mijn gezondheid/);
  await t.expect(/Ik log in/);
  await t.expect(new RegExp(`Verificatiecode: ${vcode}`));
  await t.expect(/Bevestig alleen als je computer dezelfde code toont\./);
  await t.expect(/Bevestig\? \[j\/n\] /);
  t.type('j\r');
  await t.expect(/Voer je PIN1 in: /);
  t.type(`${PIN1}\r`);
  await t.expect(/Bevestigd\./);
  assert.equal(await t.exited, 0, t.screen);
  assert.ok(!t.screen.includes(PIN1));
  res = await agent.get(String(wait));
  assert.equal(res.status, 303, 'the browser moves on');
});
