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
import { createHash, randomBytes } from 'node:crypto';
import { startServer, Agent, hiddenInputs, answerConsent } from '../tests/integration/lib/harness.mjs';
import { rrn } from '../tests/integration/lib/eid.mjs';
import { registerSmartId } from '../tests/integration/lib/smartid.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 10);
const WORKERS = arg('workers', 4);
const BITS = arg('bits', 3072);
const MAX = arg('max', 100000);

const b64url = (b) => b.toString('base64url');
const attr = (html, name) => {
  const m = html.match(new RegExp(`${name}="([^"]*)"`));
  return m ? m[1].replace(/&amp;/g, '&') : null;
};
const server = await startServer({ demo: true, config: {
  smartid: { key_bits: BITS, max_pending: 20, rate_ip: 1000000 },
  app: { rate_phone: 1000000, rate_ip: 1000000, rate_rp: 100000000 },
} });
try {
  const c = await server.client({});
  const redirect = 'https://rp.example/cb';
  const basic = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
  const setup = Date.now();
  const workers = [];
  for (let i = 0; i < WORKERS; i++) {
    const person = { given: 'Bench', family: `Worker${i}`, rrn: rrn('850730', 100 + 2 * i) };
    workers.push({ person, phone: await registerSmartId(server, person, { deviceName: `bench ${i}` }) });
  }
  const setupSeconds = (Date.now() - setup) / 1000;

  let done = 0, failed = 0;
  const total = [], resume = [];
  const until = Date.now() + SECONDS * 1000;
  async function login({ person, phone }) {
    const agent = new Agent();
    const verifier = b64url(randomBytes(32));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    let res = await agent.get(`${server.base}/authorize?` + new URLSearchParams({
      client_id: c.client_id, redirect_uri: redirect, response_type: 'code', scope: 'openid profile',
      state: 's', code_challenge: challenge, code_challenge_method: 'S256' }));
    const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    const form = hiddenInputs(await (await agent.get(`${server.base}/key/smartid?req=${req}&lang=nl`)).text());
    res = await agent.post(`${server.base}/key/smartid/login`, { ...form, rrn: person.rrn });
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
    const tok = await fetch(`${server.base}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code') || '',
        redirect_uri: redirect, code_verifier: verifier }) });
    return tok.status === 200 && (await tok.json()).id_token;
  }
  async function worker(w) {
    while (Date.now() < until && done + failed < MAX) {
      const t0 = performance.now();
      try {
        if (await login(w)) done++; else failed++;
      } catch (e) {
        failed++;
        if (failed < 5) console.error(e.message);
      }
      total.push(performance.now() - t0);
    }
  }
  const start = Date.now();
  await Promise.all(workers.map(worker));
  const secs = (Date.now() - start) / 1000;
  const pct = (a, p) => {
    a.sort((x, y) => x - y);
    return a.length ? Number(a[Math.min(a.length - 1, Math.floor(a.length * p))].toFixed(1)) : null;
  };
  console.log(JSON.stringify({ logins: done, failed, seconds: Number(secs.toFixed(2)),
    per_second: Number((done / secs).toFixed(1)), workers: WORKERS, key_bits: BITS,
    registration_seconds_each: Number((setupSeconds / WORKERS).toFixed(2)),
    login_p50_ms: pct(total, 0.5), login_p99_ms: pct(total, 0.99),
    confirm_to_browser_p50_ms: pct(resume, 0.5), confirm_to_browser_p99_ms: pct(resume, 0.99) }));
} finally {
  await server.stop();
}
