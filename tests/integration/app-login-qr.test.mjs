// app-login-qr.test.mjs — the QR code is tied to the screen that shows it
// (QRLJacking): its token carries a time slot and is taken in that slot and
// the next only; the page renews it from /key/app/qr, which answers only the
// browser that started the login; the request the phone gets says which
// browser and network asked; and only that browser can finish the login.
//
// Slots are [app] qr_rotate_seconds = 2 here (the default is 5) so that a
// token two slots old is reached in a few seconds: the test waits on the
// clock for the slot the token names, never for a fixed time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, hiddenInputs } from './lib/harness.mjs';
import { authRequest, assertCodeResponse } from './lib/flows.mjs';
import { startAppWorld, qrLink, qrSlot } from './lib/phone.mjs';

const PERSON = { rrn: '85073003328', given_name: 'Mark', family_name: 'Denblinden', birthdate: '1985-07-30' };
const ROTATE = 2;
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
let world;
let server;
let rp;
let phone;

before(async () => {
  world = await startAppWorld(PERSON, { app: { qr_rotate_seconds: ROTATE } });
  ({ server, rp, phone } = world);
});

after(async () => { await world?.stop(); });

// A browser (its own cookie jar, a Firefox User-Agent) at the app key's page.
async function openQrPage() {
  const agent = new Agent();
  const headers = { 'user-agent': UA };
  const req = await authRequest(rp.config);
  const res = await agent.get(String(req.url), { headers });
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const html = await (await agent.get(`${server.base}/key/app?req=${reqId}&lang=en&scan=1`, { headers })).text();
  return { agent, req, reqId, html, headers };
}

// Resolve once the server's clock has reached `slot`.
async function untilSlot(slot) {
  const at = slot * ROTATE * 1000 + 250;
  if (Date.now() < at) await new Promise((r) => setTimeout(r, at - Date.now()));
}

test('a QR token two slots old is refused with 410 and says why; a slot moved forward is no token', async () => {
  const { html, reqId } = await openQrPage();
  const link = qrLink(html);
  const slot = qrSlot(link);
  assert.match(new URL(link).searchParams.get('t'), new RegExp(`^${reqId}\\.${slot}\\.[A-Za-z0-9_-]{43}$`));
  await untilSlot(slot + 2);
  const r = await phone.scan(link);
  assert.equal(r.status, 410, JSON.stringify(r.body));
  assert.equal(r.body.error, 'expired');
  assert.match(r.body.error_description, /changes every few seconds/);
  // A token with its slot moved forward to now, MAC kept: not a token.
  const [id, , mac] = new URL(link).searchParams.get('t').split('.');
  const moved = await phone.scan(`${id}.${slot + 2}.${mac}`);
  assert.equal(moved.status, 400);
  assert.equal(moved.body.error, 'invalid_token');
});

test('/key/app/qr: only the starting browser gets the code, a new one each slot, never cached', async () => {
  const { agent, reqId, html } = await openQrPage();
  assert.match(html, /<div id="qr" aria-live="off" data-refresh="\/key\/app\/qr\?req=[^"]+" data-rotate="2"/);
  const url = `${server.base}/key/app/qr?req=${reqId}&lang=en`;
  // Another cookie jar, or none: 404, nothing of the code.
  const stranger = await new Agent().get(url);
  assert.equal(stranger.status, 404);
  const body404 = await stranger.text();
  assert.doesNotMatch(body404, /sleutel:\/\/|<svg/);
  let res = await agent.get(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(res.headers.get('content-type'), /application\/json/);
  const first = await res.json();
  assert.equal(first.status, 'pending');
  assert.match(first.svg, /^<svg [^>]*class="qr" role="img"/);
  assert.equal(qrSlot(first.link), first.slot);
  assert.ok(first.next_in >= 1 && first.next_in <= ROTATE, `next_in ${first.next_in}`);
  await untilSlot(first.slot + 1);
  const second = await (await agent.get(url)).json();
  assert.ok(second.slot > first.slot, `slot ${second.slot} after ${first.slot}`);
  assert.notEqual(second.link, first.link);
  assert.notEqual(second.svg, first.svg);
  // The renewed code works: the phone gets the request.
  const r = await phone.scan(second.link);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // Once the login is no longer pending the endpoint says so, without a code.
  assert.equal((await phone.answer(r.body, { code: r.body.codes[0] })).status, 200);
  res = await agent.get(url);
  assert.deepEqual(await res.json(), { status: 'done' });
});

test('the request the phone gets says which browser and network started the login', async () => {
  const { html } = await openQrPage();
  const r = await phone.scan(qrLink(html));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.context, { browser: 'Firefox', os: 'Linux', network: '127.0.0.x' });
  // The same in the request list the app polls.
  const list = await phone.call('GET', '/requests');
  const mine = list.body.requests.find((x) => x.id === r.body.id);
  assert.deepEqual(mine.context, r.body.context);
  assert.equal((await phone.answer(r.body, { decision: 'refuse', code: '' })).status, 200);
});

test('a typed phone number: the request carries the same context', async () => {
  const { agent, html } = await openQrPage();
  const res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(html), phone: '+32 470 12 34 56' },
    { headers: { 'user-agent': 'curl/8.5.0' } });
  assert.equal(res.status, 303);
  const list = await phone.call('GET', '/requests');
  assert.equal(list.status, 200);
  const [rq] = list.body.requests;
  // Recorded when the browser opened the page, not at the later form post.
  assert.deepEqual(rq.context, { browser: 'Firefox', os: 'Linux', network: '127.0.0.x' });
  assert.equal((await phone.answer(rq, { decision: 'refuse', code: '' })).status, 200);
});

// A relay that never opens the page, only /authorize and /key/app/qr for
// fresh codes, is named on the phone all the same; an X-Forwarded-For from
// a host that is not a trusted proxy changes nothing.
test('a relay fetching only /key/app/qr is named on the phone; a forged X-Forwarded-For is ignored', async () => {
  const agent = new Agent();
  const headers = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
    + 'Chrome/120.0.0.0 Safari/537.36', 'x-forwarded-for': '198.51.100.23' };
  const req = await authRequest(rp.config);
  const res = await agent.get(String(req.url), { headers });
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const qr = await (await agent.get(`${server.base}/key/app/qr?req=${reqId}&lang=en`, { headers })).json();
  const r = await phone.scan(qr.link);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.context, { browser: 'Chrome', os: 'Windows', network: '127.0.0.x' });
  assert.equal((await phone.answer(r.body, { decision: 'refuse', code: '' })).status, 200);
});

// Behind a trusted proxy the network is the person's, from the last hop
// the proxy appended to X-Forwarded-For.
test('behind a trusted proxy the context names the person\'s network, not the proxy\'s', async () => {
  const w = await startAppWorld(PERSON, { number: '0470 99 88 77', config: { server: { trusted_proxies: '127.0.0.1' } } });
  try {
    const agent = new Agent();
    const headers = { 'user-agent': UA, 'x-forwarded-for': '203.0.113.250, 198.51.100.23' };
    const req = await authRequest(w.rp.config);
    const res = await agent.get(String(req.url), { headers });
    const reqId = new URL(res.headers.get('location'), w.server.base).searchParams.get('req');
    const html = await (await agent.get(`${w.server.base}/key/app?req=${reqId}&lang=en&scan=1`, { headers })).text();
    const r = await w.phone.scan(qrLink(html));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.context, { browser: 'Firefox', os: 'Linux', network: '198.51.100.x' });
  } finally {
    await w.stop();
  }
});

test('scanned and approved: another cookie jar cannot finish the login or poll it; the starting browser can', async () => {
  const { agent, req, reqId, html } = await openQrPage();
  const r = await phone.scan(qrLink(html));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await phone.answer(r.body, { code: r.body.codes[0] })).status, 200);
  const finish = `${server.base}/login/finish?req=${reqId}&csrf=${hiddenInputs(html).csrf}&lang=en`;
  // The attacker's jar knows the request id and even the page's csrf value.
  const other = new Agent();
  let res = await other.get(finish);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('location'), null);
  assert.doesNotMatch(await res.text(), /code=/);
  res = await other.get(`${server.base}/login/poll?req=${reqId}`);
  assert.equal(res.status, 404);
  // A jar with a browser cookie of its own (it went through /authorize).
  const own = new Agent();
  await own.get(String((await authRequest(rp.config)).url));
  res = await own.get(finish);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('location'), null);
  // The browser that showed the code finishes.
  res = await agent.get(finish);
  assert.equal(res.status, 303);
  assertCodeResponse(server, new URL(res.headers.get('location')), req.state);
});
