// app-enrol-eid.test.mjs — a whole enrolment with the eID card, then a
// login with the new phone, and the push webhook that wakes phones:
//   phone (JS, tests/integration/lib/phone.mjs) → start → SMS code →
//   the eID choice's URL opened with a virtual card on the eID origin →
//   the app's long-poll wakes with the card's person → finish → a login
//   through an openid-client RP (the same person, by national number) →
//   the push webhook is told which devices to wake, with no content.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { rmSync } from 'node:fs';
import { startServer, Agent, hiddenInputs, answerConsent } from './lib/harness.mjs';
import { Phone, proofCodeOf, smsGateway } from './lib/phone.mjs';
import { issueCard, proofWithCard, tmp } from './lib/eid.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';

let server;
let gw;
let dir;
let push;
const pushed = [];

before(async () => {
  gw = await smsGateway();
  push = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      pushed.push({ type: req.headers['content-type'], body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => push.listen(0, '127.0.0.1', r));
  server = await startServer({
    demo: true,
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { poll_timeout: 5, push_url: `http://127.0.0.1:${push.address().port}/wake` },
    },
  });
  dir = tmp();
});

after(async () => {
  await server?.stop();
  await gw?.close();
  await new Promise((r) => push.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('enrolment with the eID card through the device API, then a login with the new phone', async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Lotte Janssens', rrn: '85073003328' });
  const phone = await new Phone(server).init();
  let r = await phone.start('0470 55 66 77');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await phone.call('POST', '/enroll/sms', { code: gw.code('+32470556677') });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const eid = r.body.proofing.find((c) => c.method === 'eid');
  assert.ok(eid, 'the eID card is offered');

  // The app waits; the card on the eID origin wakes it.
  const waiting = phone.call('GET', '/enroll');
  await new Promise((res) => setTimeout(res, 300));
  const t0 = Date.now();
  const page = await proofWithCard(eid.url, card.args, { redeem: false });
  assert.equal(page.status, 200, page.curlError || page.body);
  assert.match(page.body, /Lotte Janssens/);
  const polled = await waiting;
  assert.equal(polled.body.status, 'proof_code');
  assert.ok(Date.now() - t0 < 3000, 'woken by the card, not by the poll timeout');
  // The app types the code the page shows.
  r = await phone.proofCode(proofCodeOf(page.body));
  assert.equal(r.body.status, 'proofed');
  assert.deepEqual(r.body.person, { given_name: 'Lotte', family_name: 'Janssens' });
  r = await phone.finish();
  assert.equal(r.status, 201, JSON.stringify(r.body));
  phone.deviceId = r.body.device_id;
  phone.number = r.body.phone;

  // A login with the new phone: the browser's code, approve, the RP's code.
  const rp = await registerRp(server, { name: 'Mijn gezondheid' });
  const agent = new Agent();
  const { url } = await authRequest(rp.config, { scope: 'openid profile eid' });
  let res = await agent.get(String(url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const form = hiddenInputs(await (await agent.get(`${server.base}/key/app?req=${req}&lang=nl`)).text());
  res = await agent.post(`${server.base}/key/app/login`, { ...form, phone: '0470556677' });
  assert.equal(res.status, 303);
  const wait = await (await agent.get(new URL(res.headers.get('location'), server.base).href)).text();
  const code = wait.match(/id="vcode"[^>]*>(\d{4})</)[1];
  const channel = await phone.call('GET', '/requests');
  const rq = channel.body.requests[0];
  assert.ok(rq.codes.includes(code));
  assert.equal(rq.display_text, 'Inloggen bij Mijn gezondheid');
  r = await phone.answer(rq, { code });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  res = await agent.get(`${server.base}/login/finish?req=${req}&csrf=${encodeURIComponent(form.csrf)}`);
  assert.equal(res.status, 303);
  const back = await answerConsent(server, agent, res.headers.get('location'));
  assert.ok(back.searchParams.get('code'), 'the RP gets a code');

  // The push webhook was told to wake this device, and nothing more.
  for (let i = 0; i < 50 && pushed.length === 0; i++) await new Promise((s) => setTimeout(s, 50));
  assert.ok(pushed.length >= 1, 'the push webhook was called');
  assert.deepEqual(pushed[0].body, { event: 'request', device_id: phone.deviceId });
  assert.match(pushed[0].type, /^application\/json/);
});
