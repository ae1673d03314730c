// proofing-bank.test.mjs — identity proofing through a bank: sleutel as an
// OpenID Connect client of the demo bank (npm oidc-provider), end to end
// through the phone's browser: the "leaving for the bank" page, the bank's
// login, the callback; then every way it can go wrong, each with its page,
// the enrolment left in "proofing" and nothing proofed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { startTestBank, makeEnrollment, getEnrollment, proofingAudit, Browser } from './lib/bank.mjs';

let server;
let bank;

before(async () => {
  bank = await startTestBank();
  server = await startServer({ config: { 'bank.demo': bank.config() } });
  bank.attach(server);
});

after(async () => {
  await server?.stop();
  await bank?.close();
});

const urlFor = (e, lang = 'en') => `${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}&lang=${lang}`;

test('happy path: the bank confirms, the enrolment is proofed with the bank\'s person', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(urlFor(e));
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /Your identity is confirmed/);
  assert.match(r.text, /Jan Peeters/);
  const row = await getEnrollment(server, e.id);
  assert.equal(row.status, 'proofed');
  assert.equal(row.proof_method, 'bank:demo');
  assert.deepEqual(JSON.parse(row.person),
    { rrn: '85073003328', given_name: 'Jan', family_name: 'Peeters', birthdate: '1985-07-30' });
  assert.deepEqual(JSON.parse(row.proof_state), {});
});
