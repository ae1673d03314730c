// review6-server-fault.test.mjs — a failure on the server's side after the
// try was charged (the stored key cannot be opened: key holder timeout,
// at-rest key of another install, out of memory) must not count as a wrong
// code or PIN.  The stored key is made unopenable here by giving the row
// another row's sealed key (its AAD names the other device / use).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';
import { smsGateway, enrolPhone } from './lib/phone.mjs';
import { rrn } from './lib/eid.mjs';
import { registerSmartId } from './lib/smartid.mjs';

let server;
let gw;
let rp;
const sql = (q) => dbSql(server, q);

before(async () => {
  gw = await smsGateway();
  server = await startServer({
    demo: true,
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { poll_timeout: 2, rate_phone: 1000, rate_ip: 1000, rate_rp: 1000, max_pending: 5 },
      smartid: { key_bits: 1024 },
    },
  });
  rp = await registerRp(server);
});

after(async () => {
  await server?.stop();
  await gw?.close();
});

async function appLogin(phone) {
  const agent = new Agent();
  const { url } = await authRequest(rp.config);
  let res = await agent.get(String(url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${req}&lang=en`);
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(await res.text()), phone: phone.number });
  assert.equal(res.status, 303);
  const aq = new URL(res.headers.get('location'), server.base).searchParams.get('aq');
  const r = await phone.call('GET', '/requests');
  return { rq: r.body.requests.find((x) => x.id === aq), code: sql(`SELECT code FROM app_requests WHERE id='${aq}'`) };
}

test('app: the right code while Q cannot be opened is not a wrong code', async () => {
  const a = await enrolPhone(server, gw, '0470 10 11 00', { rrn: '85073010001', given_name: 'A', family_name: 'A' });
  const b = await enrolPhone(server, gw, '0470 10 12 00', { rrn: '85073010002', given_name: 'B', family_name: 'B' });
  const good = sql(`SELECT confirm_key FROM devices WHERE id='${a.deviceId}'`);
  sql(`UPDATE devices SET confirm_key=(SELECT confirm_key FROM devices WHERE id='${b.deviceId}') WHERE id='${a.deviceId}'`);
  const seen = [];
  for (let i = 0; i < 3; i++) {
    const { rq, code } = await appLogin(a);
    const r = await a.answer(rq, { code });
    seen.push(`${r.status} ${r.body.error} ${r.body.failures}`);
  }
  sql(`UPDATE devices SET confirm_key='${good}' WHERE id='${a.deviceId}'`);
  const acct = sql(`SELECT failures || ' ' || locked_until FROM accounts WHERE id='${a.accountId}'`);
  const { rq } = await appLogin(a);
  seen.push(rq ? 'the next login reaches the phone' : 'the next login is a decoy: the account is locked');
  console.log('app answers:', seen, 'account failures/locked_until:', acct);
  assert.equal(acct, '0 0', seen.join(' | '));
});

test('Smart-ID: a server key that cannot be opened charges no PIN try', async () => {
  const who = { given: 'Eva', family: 'Wouters', rrn: rrn('870303', 509) };
  const phone = await registerSmartId(server, who);
  const key = (use) => sql(`SELECT sealed FROM sid_keys WHERE device_id='${phone.deviceId}' AND key_use='${use}'`);
  const good = key('auth');
  sql(`UPDATE sid_keys SET sealed='${key('sign')}' WHERE device_id='${phone.deviceId}' AND key_use='auth'`);
  const seen = [];
  for (let i = 0; i < 3; i++) {
    const agent = new Agent();
    const a = await authRequest(rp.config);
    let res = await agent.get(String(a.url));
    const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    res = await agent.get(`${server.base}/key/smartid?req=${req}&lang=en`);
    res = await agent.post(`${server.base}/key/smartid/login`, { ...hiddenInputs(await res.text()), rrn: who.rrn });
    const sq = new URL(res.headers.get('location'), server.base).searchParams.get('sq');
    const rq = (await phone.requests()).body.requests.find((x) => x.id === sq);
    const r = await phone.confirm(rq);
    seen.push(`${r.status} ${r.body.error}`);
  }
  sql(`UPDATE sid_keys SET sealed='${good}' WHERE device_id='${phone.deviceId}' AND key_use='auth'`);
  const row = sql(`SELECT failures || ' ' || locked_until FROM sid_keys WHERE device_id='${phone.deviceId}' AND key_use='auth'`);
  console.log('smartid answers:', seen, 'auth key failures/locked_until:', row);
  assert.equal(row, '0 0', seen.join(' | '));
});
