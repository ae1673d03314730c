// faults-upstream-notify.test.mjs — the fire-and-forget upstreams: the
// CIBA ping to the client's notification endpoint and the app push
// webhook (issue 12 item 4, docs/faults.md "Upstreams").  Both run on the
// outbound pool (src/outbound), so an endpoint that hangs or answers
// garbage delays neither the request that triggered it (the CIBA request
// that pushes, the phone's answer that pings) nor anything else, with
// `[server] threads = 2`; each failure is logged; the client still gets
// its tokens by polling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { tokenRequest } from './lib/flows.mjs';
import { smsGateway, enrolPhone } from './lib/phone.mjs';
import { faultyUpstream } from './lib/faulty.mjs';

const GRANT = 'urn:openid:params:grant-type:ciba';
const PERSON = { rrn: '85073003328', given_name: 'Mark', family_name: 'Denblinden', birthdate: '1985-07-30' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('CIBA ping and app push endpoints that hang or answer garbage: the flows go on at once, failures logged', async () => {
  const gw = await smsGateway();
  const up = await faultyUpstream();
  let server;
  try {
    server = await startServer({ config: {
      server: { threads: 2 },
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { rate_phone: 1000, rate_ip: 1000, push_url: `${up.url}/wake`, push_timeout: 1 },
      ciba: { interval: 1, ping_timeout: 1 },
    } });
    const phone = await enrolPhone(server, gw, '0470 12 34 56', PERSON);
    const client = JSON.parse(await server.cli('client', 'add', '--name', 'Mijn bank', '--redirect-uri',
      'https://rp.example/cb', '--json', '--ciba-mode', 'ping', '--ciba-endpoint', `${up.url}/cb`));
    const basic = [client.client_id, client.client_secret];
    for (const mode of ['hang', 'slow', 'garbage', 'reset']) {
      up.mode = mode;
      const hits = up.hits;
      let t0 = Date.now();
      const r = await tokenRequest(server, { scope: 'openid', login_hint: '0470123456', binding_message: `B ${mode}`,
        client_notification_token: 'tok-123456' }, { basic, endpoint: '/bc-authorize' });
      const made = Date.now() - t0;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const list = await phone.call('GET', '/requests');
      const rq = list.body.requests.at(-1);
      t0 = Date.now();
      const ans = await phone.answer(rq, { code: rq.codes[0] });
      const answered = Date.now() - t0;
      assert.equal(ans.status, 200, JSON.stringify(ans.body));
      const tok = await tokenRequest(server, { grant_type: GRANT, auth_req_id: r.body.auth_req_id }, { basic });
      process.stderr.write(`${mode}: request made in ${made} ms (push), answered in ${answered} ms (ping)\n`);
      assert.equal(tok.status, 200, JSON.stringify(tok.body));
      assert.ok(tok.body.access_token);
      // Push (at the request) and ping (at the answer) did leave.
      for (let i = 0; i < 20 && up.hits - hits < 2; i++) await sleep(50);
      assert.equal(up.hits - hits, 2, `${mode}: push and ping reached the endpoint`);
      assert.ok(made < 1000 && answered < 1000, `${mode}: neither waited for the upstream (timeouts 1 s)`);
    }
    // Every failure is in the log, none took the server down.
    await sleep(1200);
    const log = server.log();
    assert.match(log, /CIBA ping to client [^ :]+: .*(timeout|Timeout|timed out)/i);
    assert.match(log, /push webhook: /);
    assert.ok((log.match(/CIBA ping to client/g) || []).length >= 4, 'each failed ping is logged');
    assert.ok((log.match(/push webhook/g) || []).length >= 4, 'each failed push is logged');
  } finally {
    try { await server?.stop(); } finally { await up.close(); await gw.close(); }
  }
});
