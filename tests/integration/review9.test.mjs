// review9.test.mjs — security review 9: two findings that fail today.
//
// 1. POST /smart-id/v3/signature/certificate/{documentNumber} answers any
//    RP with "sign" the person's signing certificate (name, national
//    number) at once: no interaction, no audit row, no limit.  A document
//    number is PNOBE-<national number>-XXXX-Q with 20 random bits, and a
//    wrong guess is a 404 while the right one is 200 OK, so an RP holding
//    national numbers can silently find every Smart-ID holder's number and
//    certificate (2^19 tries on average each).
// 2. The 5-digit SMS activation code: sms_attempts wrong codes per
//    enrolment and rate_phone enrolments per number per rate_window, but
//    no ceiling over windows: a number takes 15 wrong codes every 10
//    minutes (defaults) for ever, ~2 % a day to pass a stranger's number.
//    NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { rrn } from './lib/eid.mjs';
import { registerSmartId } from './lib/smartid.mjs';
import { Phone, smsGateway } from './lib/phone.mjs';

const ALICE = { given: 'Alice', family: 'Peeters', rrn: rrn('850730', 101) };
const SUFFIX = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server;
let alice;

before(async () => {
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, certificate_level: 'ADVANCED' } } });
  alice = await registerSmartId(server, ALICE);
});

after(async () => { await server?.stop(); });

async function certOf(rp, doc) {
  const res = await fetch(`${server.base}/smart-id/v3/signature/certificate/${doc}`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ relyingPartyUUID: rp.uuid, relyingPartyName: rp.name, certificateLevel: 'ADVANCED' }),
  });
  return res.status;
}

test('review9: guessing document numbers on signature/certificate is limited and audited', async () => {
  const rp = JSON.parse(await server.cli('rp', 'add', '--name', 'Probe RP', '--json'));
  const mine = alice.document.slice(-6, -2);
  const statuses = [];
  for (let i = 0; statuses.length < 40; i++) {
    const s = SUFFIX[i % 32] + SUFFIX[(i >> 5) % 32] + '22';
    if (s !== mine) statuses.push(await certOf(rp, `PNOBE-${ALICE.rrn}-${s}-Q`));
  }
  assert.equal(await certOf(rp, alice.document), 200, 'the right guess: the certificate (an oracle)');
  assert.ok(statuses.includes(429), `40 wrong document numbers in a row, never slowed: ${[...new Set(statuses)]}`);
  const rows = Number(dbSql(server, `SELECT count(*) FROM audit WHERE client_id = '${rp.uuid}'`));
  assert.ok(rows > 0, 'the certificate lookups left no audit row');
});

test('review9: wrong SMS activation codes for one number have a ceiling across windows', async () => {
  const gw = await smsGateway();
  const s = await startServer({
    config: { sms: { driver: 'webhook', webhook_url: gw.url },
      app: { rate_window: 1, rate_phone: 5, rate_ip: 100000, sms_attempts: 3 } },
  });
  try {
    const typed = '0470 55 44 33';
    let wrong = 0;
    for (let round = 0; round < 60 && wrong <= 100; round++) {
      const phone = await new Phone(s).init();
      const r = await phone.start(typed);
      if (r.status === 429) { await sleep(1100); continue; }
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const code = gw.code('+32470554433');
      for (let k = 0; k < 3; k++) {
        const guess = String((Number(code) + 1 + k) % 100000).padStart(5, '0');
        const a = await phone.call('POST', '/enroll/sms', { code: guess });
        if (a.status === 400 && a.body.error === 'wrong_code') wrong++;
        else if (a.status === 403 && a.body.error === 'enrollment_ended') wrong++;
      }
    }
    assert.ok(wrong <= 100, `${wrong} wrong activation codes taken for one number`);
  } finally {
    await s.stop();
    await gw.close();
  }
});
