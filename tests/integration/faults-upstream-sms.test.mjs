// faults-upstream-sms.test.mjs — upstreams that hang or answer garbage: the SMS gateway
// (issue 12 item 4, docs/faults.md "Upstreams").  Each outbound call of
// sleuteld meets lib/faulty.mjs's faultyUpstream in every mode: hanging,
// answering byte by byte, garbage, a reset, a truncated or a huge body,
// the wrong content type.  Asserted: the configured timeout holds
// (measured), the person or the client gets a clear answer, sleuteld does
// not crash (stop() fails on a sanitizer report), and logins by other
// people go on meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { registerRp } from './lib/flows.mjs';
import { Phone } from './lib/phone.mjs';
import { faultyUpstream, MODES, otherLogin } from './lib/faulty.mjs';


test('SMS gateway (app enrolment): every fault ends within webhook_timeout with 502 sms_failed; logins go on with threads = 2', async () => {
  const gw = await faultyUpstream();
  const server = await startServer({ config: {
    sms: { driver: 'webhook', webhook_url: `${gw.url}/sms`, webhook_timeout: 2, webhook_retries: 0 },
    server: { threads: 2 },
    app: { rate_phone: 1000, rate_ip: 1000 },
  } });
  try {
    const rp = await registerRp(server);
    const base = await otherLogin(server, rp);
    let n = 0;
    for (const mode of MODES) {
      gw.mode = mode;
      const phone = await new Phone(server).init();
      const t0 = Date.now();
      const r = await phone.start(`0470 55 00 ${String(10 + n++)}`);
      const ms = Date.now() - t0;
      process.stderr.write(`sms ${mode}: ${r.status} in ${ms} ms\n`);
      if (mode === 'wrongtype') {
        // The webhook's contract is its status: a 2xx took the message.
        assert.equal(r.status, 201, `${mode}: ${r.status} ${JSON.stringify(r.body)}`);
      } else {
        assert.equal(r.status, 502, `${mode}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error, 'sms_failed');
      }
      assert.ok(ms < 3500, `${mode}: answered in ${ms} ms (webhook_timeout 2 s)`);
    }
    // More SMS calls hanging at once than event-loop threads (2): the
    // sends run on the outbound pool while their requests wait suspended,
    // so another person's login goes on, unslowed, and is done before any
    // of them is answered.
    gw.mode = 'hang';
    let firstAnswer = 0;
    const hung = Array.from({ length: 4 }, async (_, i) => {
      const r = await (await new Phone(server).init()).start(`0470 55 01 ${10 + i}`);
      firstAnswer ||= Date.now();
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    const during = await otherLogin(server, rp);
    const doneAt = Date.now();
    process.stderr.write(`login alone ${base} ms, during 4 hung SMS calls ${during} ms\n`);
    assert.ok(during < Math.max(1500, 4 * base), `the login took ${during} ms (alone ${base} ms)`);
    for (const r of await Promise.all(hung)) assert.equal(r.status, 502);
    assert.ok(doneAt < firstAnswer, `the login (${during} ms) was done before the hung SMS calls were answered`);
  } finally {
    await server.stop();
    await gw.close();
  }
});
