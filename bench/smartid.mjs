// smartid.mjs — complete Smart-ID logins per second against a real
// sleuteld, and the latency from the phone's answer to the waiting browser
// being resumed.  Each login is the whole thing a person does:
//
//   browser: authorize → key choice → "Smart-ID" → national register number
//            → wait page (verification code) → long-poll suspended
//   phone:   GET /device/v1/smartid/requests → check the binding and the
//            code → partial signature with PIN1's share, sealed → POST
//   server:  charge the PIN try, open the sealed server key, complete the
//            split-key signature (CRT with its own key, check with (n, e)),
//            advance and store the key, finish the login
//   browser: long-poll answers → /login/finish → code → RP token exchange
//
// W workers, each with its own registered device (the JS phone of the
// tests: BigInt and node:crypto, not the C library) and a fresh browser
// agent per login, for D seconds, bounded by MAX logins.  --bits sets
// [smartid] key_bits (3072, production: n of 6144 bits).  The phone's
// 3072-bit modular exponentiation in BigInt runs on the same two cores as
// the server, so the figure is a floor for the server alone; the rows of
// `build/bench/bench_splitkey` give each side's cost on its own.
//
//   eval "$(sh scripts/test-env.sh)"; node bench/smartid.mjs [--seconds 10] [--workers 4] [--bits 3072]
import { startServer, Agent, hiddenInputs, answerConsent } from '../tests/integration/lib/harness.mjs';
import { arg, attr, pct, runWorkers, smartIdWorkers, startAuthorize, tokenExchange } from './lib.mjs';

const SECONDS = arg('seconds', 10);
const WORKERS = arg('workers', 4);
const BITS = arg('bits', 3072);
const MAX = arg('max', 100000);

const server = await startServer({ demo: true, config: {
  smartid: { key_bits: BITS, max_pending: 20, rate_ip: 1000000 },
  app: { rate_phone: 1000000, rate_ip: 1000000, rate_rp: 100000000 },
} });
try {
  const c = await server.client({});
  const redirect = 'https://rp.example/cb';
  const { workers, setupSeconds } = await smartIdWorkers(server, WORKERS, { family: 'Worker', birth: '850730' });

  const resume = [];
  async function login({ person, phone }) {
    const agent = new Agent();
    const { req, verifier } = await startAuthorize(server, agent, c, redirect);
    const form = hiddenInputs(await (await agent.get(`${server.base}/key/smartid?req=${req}&lang=nl`)).text());
    let res = await agent.post(`${server.base}/key/smartid/login`, { ...form, rrn: person.rrn });
    const waitUrl = new URL(res.headers.get('location'), server.base);
    const wait = await (await agent.get(waitUrl.href)).text();
    const poll = agent.get(new URL(attr(wait, 'data-poll'), server.base).href).then((r) => {
      const t = performance.now();
      return r.text().then(() => t);
    });
    const rq = (await phone.requests()).body.requests.find((r) => r.id === waitUrl.searchParams.get('sq'));
    const tConfirm = performance.now();
    const answer = await phone.confirm(rq);
    if (answer.status !== 200) throw new Error(`confirm ${answer.status} ${JSON.stringify(answer.body)}`);
    const tResumed = await poll;
    resume.push(tResumed - tConfirm);
    res = await agent.get(new URL(attr(wait, 'data-next'), server.base).href);
    const back = await answerConsent(server, agent, res.headers.get('location') || 'x:/');
    return tokenExchange(server, c, back, verifier, redirect);
  }
  const { done, failed, seconds: secs, total } = await runWorkers(workers, login, { seconds: SECONDS, max: MAX });
  console.log(JSON.stringify({ logins: done, failed, seconds: Number(secs.toFixed(2)),
    per_second: Number((done / secs).toFixed(1)), workers: WORKERS, key_bits: BITS,
    registration_seconds_each: Number((setupSeconds / WORKERS).toFixed(2)),
    login_p50_ms: pct(total, 0.5), login_p99_ms: pct(total, 0.99),
    confirm_to_browser_p50_ms: pct(resume, 0.5), confirm_to_browser_p99_ms: pct(resume, 0.99) }));
} finally {
  await server.stop();
}
