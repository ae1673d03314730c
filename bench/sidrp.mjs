// sidrp.mjs — Smart-ID RP API v3 authentications per second end to end,
// and the session-status long-poll's wake-up latency.  Each round is what a
// bank's backend and a person's phone do:
//
//   RP:     POST /v3/authentication/notification/etsi/PNOBE-… (fresh
//           rpChallenge) → GET /v3/session/{id}?timeoutMs=30000 (suspended)
//   phone:  GET /device/v1/smartid/requests → check the 7180-rule code →
//           ACSP_V2 payload with a fresh userChallenge, partial signature
//           with PIN1's share, sealed → POST /requests/{id}
//   server: charge the PIN try, complete the split-key signature, finish
//           the session, wake the RP's long poll
//   RP:     COMPLETE → verify as the spec says (certificate from the
//           Smart-ID CA with the PNOBE id, ACSP_V2 over the rebuilt payload)
//
// W workers, each with its own registered person and device, for D
// seconds, bounded by MAX.  "wake-up" is from the phone's answer being
// accepted (its POST returned) to the RP's suspended GET answering: the
// waiter registry's latency, not the signature's (negative when the GET
// answered before the POST's answer reached the phone).  The phone (BigInt) and
// the RP client run on the same two cores as the server, so the rate is a
// floor for the server alone.
//
//   eval "$(sh scripts/test-env.sh)"; node bench/sidrp.mjs [--seconds 10] [--workers 4] [--bits 3072]
import { arg, pct, runWorkers, smartIdWorkers } from './lib.mjs';
import { addRp, approve, pendingRpRequest, rpClient, RP_NAME } from '../tests/integration/lib/sidrp-rp.mjs';
import { startServer } from '../tests/integration/lib/harness.mjs';

const SECONDS = arg('seconds', 10);
const WORKERS = arg('workers', 4);
const BITS = arg('bits', 3072);
const MAX = arg('max', 100000);

const server = await startServer({ demo: true, config: {
  smartid: { key_bits: BITS, max_pending: 20, rate_ip: 1000000 },
} });
try {
  const rp = rpClient(server, await addRp(server, RP_NAME));
  const { workers, setupSeconds } = await smartIdWorkers(server, WORKERS, { family: 'Rp', birth: '860101' });

  const wake = [];
  async function authenticate({ person, phone }) {
    const id = `PNOBE-${person.rrn}`;
    const s = await rp.start('authNotificationSemanticId', { id });
    const poll = s.status({ timeoutMs: 30000 }).then((r) => ({ r, t: performance.now() }));
    const rq = await pendingRpRequest(phone, s, { ms: 10000 });
    const { r } = await approve(phone, rq);
    const tAnswered = performance.now();
    if (r.status !== 200) throw new Error(`confirm ${r.status} ${JSON.stringify(r.body)}`);
    let { r: st, t } = await poll;
    if (st.body?.state !== 'COMPLETE') {
      // The poll was answered RUNNING before the answer landed: poll again.
      st = await s.status({ timeoutMs: 30000 });
      t = performance.now();
    } else {
      wake.push(t - tAnswered);
    }
    return s.verify(st.body, { identity: id }).identity === id;
  }
  const { done, failed, seconds: secs, total } = await runWorkers(workers, authenticate,
    { seconds: SECONDS, max: MAX });
  console.log(JSON.stringify({ authentications: done, failed, seconds: Number(secs.toFixed(2)),
    per_second: Number((done / secs).toFixed(1)), workers: WORKERS, key_bits: BITS,
    registration_seconds_each: Number((setupSeconds / WORKERS).toFixed(2)),
    round_p50_ms: pct(total, 0.5), round_p99_ms: pct(total, 0.99),
    wakeup_p50_ms: pct(wake, 0.5), wakeup_p99_ms: pct(wake, 0.99), wakeups: wake.length }));
} finally {
  await server.stop();
}
