// smartid-rpapi-app-tty.test.mjs — RP API requests in `sleutel-app` as a
// person uses it, on a real terminal (a pty): a notification
// authentication with a verification-code choice (the site, the text,
// three codes of which one is the site's, the pick, PIN1 masked), a QR
// link opened with `smartid link` ("Bevestig?", PIN1), a "no" that refuses
// the interaction shown, and a PIN2 signature in French — no PIN ever on
// the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import { rrn } from './lib/eid.mjs';
import { appTerminal } from './lib/app.mjs';
import { addRp, rpClient } from './lib/sidrp-rp.mjs';
import {
  confirmationMessage, confirmationMessageAndVerificationCodeChoice, displayTextAndPIN, interactions,
} from './lib/sidrp-client.mjs';
import { registerApp, appRpRequest } from './lib/sidapp.mjs';

const PIN1 = '90817';
const PIN2 = '3141592';
const PERSON = { given: 'Lies', family: 'Wouters', rrn: rrn('870604', '246') };
const ETSI = `PNOBE-${PERSON.rrn}`;

let server;
let rp;
let dir;
let where;
const terminals = [];

const terminal = (args) => appTerminal(where, args, terminals);

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-sidrp-tty-'));
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rp_api: true, rate_ip: 1000 } } });
  where = { server, ca: path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem'), state: path.join(dir, 'phone.json') };
  rp = rpClient(server, await addRp(server, 'Demo Bank'));
  await registerApp(where, PERSON, { pin1: PIN1, pin2: PIN2, dir });
});

after(async () => {
  for (const p of terminals) if (p.exitCode === null) p.kill('SIGKILL');
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a verification-code choice on the terminal: three codes, the right one picked, PIN1 masked', async () => {
  const s = await rp.start('authNotificationSemanticId', { id: ETSI,
    interactions: interactions([confirmationMessageAndVerificationCodeChoice('Log in to Demo Bank, Brussels?')]) });
  const rq = await appRpRequest(where);
  const t = terminal(['smartid', 'approve', rq.id]);
  await t.expect(/Demo Bank/);
  await t.expect(/Ik log in/);
  await t.expect(/Log in to Demo Bank, Brussels\?/);
  const codes = [];
  for (let i = 1; i <= 3; i++) codes.push((await t.expect(new RegExp(`  ${i}\\. (\\d{4})`)))[1]);
  assert.equal(new Set(codes).size, 3, 'three different codes');
  assert.equal(codes.filter((c) => c === s.vc).length, 1, "one of them is the site's");
  await t.expect(/Kies de verificatiecode die Demo Bank toont \(1-3, 0 = weigeren\): /);
  t.type(`${codes.indexOf(s.vc) + 1}\r`);
  await t.expect(/Voer je PIN1 in: /);
  t.type(`${PIN1}\r`);
  await t.expect(/Bevestigd\./);
  assert.equal(await t.exited, 0, t.screen);
  assert.ok(!t.screen.includes(PIN1));
  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'OK');
  assert.equal(st.interactionTypeUsed, 'confirmationMessageAndVerificationCodeChoice');
  s.verify(st, { identity: ETSI });
});

test('a QR link on the terminal: the site and the text, "Bevestig?", PIN1', async () => {
  const s = await rp.start('authDeviceLinkAnonymous', {
    interactions: interactions([displayTextAndPIN('Log in to Demo Bank')]) });
  const t = terminal(['smartid', 'link', s.qrNow()]);
  await t.expect(/Demo Bank/);
  await t.expect(/Log in to Demo Bank/);
  await t.expect(/Bevestig\? \[j\/n\] /);
  t.type('j\r');
  await t.expect(/Voer je PIN1 in: /);
  t.type(`${PIN1}\r`);
  await t.expect(/Bevestigd\./);
  assert.equal(await t.exited, 0, t.screen);
  assert.ok(!t.screen.includes(PIN1));
  assert.ok(!/Verificatiecode/.test(t.screen), 'a device link shows no code');
  s.verify(await s.waitComplete({ timeoutMs: 5000 }));
});

test('"n" refuses the interaction shown: USER_REFUSED_INTERACTION', async () => {
  const s = await rp.start('authNotificationSemanticId', { id: ETSI,
    interactions: interactions([confirmationMessage('Transfer 900 EUR to BE71 0961 2345 6769?')]) });
  const rq = await appRpRequest(where);
  const t = terminal(['smartid', 'approve', rq.id]);
  await t.expect(/Transfer 900 EUR to BE71 0961 2345 6769\?/);
  await t.expect(new RegExp(`Verificatiecode: ${s.vc}`));
  await t.expect(/Bevestig\? \[j\/n\] /);
  t.type('n\r');
  await t.expect(/Geweigerd\./);
  assert.equal(await t.exited, 0, t.screen);
  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'USER_REFUSED_INTERACTION');
  assert.deepEqual(st.result.details, { interaction: 'confirmationMessage' });
});

test('a PIN2 signature in French: "Je signe", the code, PIN2 masked', async () => {
  const s = await rp.start('signNotificationSemanticId', { id: ETSI, data: Buffer.from('contrat 42'),
    interactions: interactions([confirmationMessage('Signer le contrat 42 ?')]) });
  const rq = await appRpRequest(where);
  const t = terminal(['--lang', 'fr', 'smartid', 'approve', rq.id]);
  await t.expect(/Je signe/);
  await t.expect(/Signer le contrat 42 \?/);
  await t.expect(new RegExp(`Code de contrôle : ${s.vc}`));
  await t.expect(/Confirmer \? \[o\/n\] /);
  t.type('o\r');
  await t.expect(/PIN2/);
  t.type(`${PIN2}\r`);
  await t.expect(/Confirmé\./);
  assert.equal(await t.exited, 0, t.screen);
  assert.ok(!t.screen.includes(PIN2));
  s.verify(await s.waitComplete({ timeoutMs: 5000 }), { identity: ETSI });
});
