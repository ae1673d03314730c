// applogin.mjs — complete sleutel-app logins per second against a real
// sleuteld, and the latency from the phone's confirmation to the waiting
// browser being resumed.  Each login is the whole thing a person does:
//
//   browser: authorize → key choice → "sleutel app" → phone number → wait
//            page (verification code) → long-poll suspended on the server
//   phone:   GET /device/v1/requests → pick the code the browser shows →
//            signed, sealed confirmation (device proof on every call)
//   browser: long-poll answers → /login/finish → code → RP token exchange
//
// W workers, each with its own enrolled phone (the JS phone of the tests:
// node crypto, not the C library) and a fresh browser agent per login, for
// D seconds, bounded by MAX logins.  The load generator runs on the same
// machine as the server.
//
//   eval "$(sh scripts/test-env.sh)"; node bench/applogin.mjs [--seconds 10] [--workers 8]
import { createHash, randomBytes } from 'node:crypto';
import { startServer, Agent, hiddenInputs, answerConsent } from '../tests/integration/lib/harness.mjs';
import { smsGateway, enrolPhone } from '../tests/integration/lib/phone.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 10);
const WORKERS = arg('workers', 8);
const MAX = arg('max', 100000);

const b64url = (b) => b.toString('base64url');
const attr = (html, name) => {
  const m = html.match(new RegExp(`${name}="([^"]*)"`));
  return m ? m[1].replace(/&amp;/g, '&') : null;
};
const gateway = await smsGateway();
const server = await startServer({ config: {
  app: { rate_phone: 1000000, rate_ip: 1000000, rate_rp: 100000000, max_pending: 20 },
  sms: { driver: 'webhook', webhook_url: gateway.url },
} });
try {
  const c = await server.client({});
  const redirect = 'https://rp.example/cb';
  const basic = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
  const phones = [];
  for (let i = 0; i < WORKERS; i++) {
    const number = `+3247${String(1000000 + i).padStart(7, '0')}`;
    phones.push(await enrolPhone(server, gateway, number,
      { rrn: '85073003328', given_name: 'Bench', family_name: `Worker${i}`, birthdate: '1985-07-30' }));
  }

  let done = 0, failed = 0;
  const total = [], resume = [];
  const until = Date.now() + SECONDS * 1000;
  async function login(phone) {
    const agent = new Agent();
    const verifier = b64url(randomBytes(32));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    let res = await agent.get(`${server.base}/authorize?` + new URLSearchParams({
      client_id: c.client_id, redirect_uri: redirect, response_type: 'code', scope: 'openid profile',
      state: 's', code_challenge: challenge, code_challenge_method: 'S256' }));
    const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    const form = hiddenInputs(await (await agent.get(`${server.base}/key/app?req=${req}&lang=nl`)).text());
    res = await agent.post(`${server.base}/key/app/login`, { ...form, phone: phone.number });
    const wait = await (await agent.get(new URL(res.headers.get('location'), server.base).href)).text();
    const code = wait.match(/id="vcode"[^>]*>(\d{4})</)[1];
    const poll = agent.get(new URL(attr(wait, 'data-poll'), server.base).href).then((r) => {
      const t = performance.now();
      return r.text().then(() => t);
    });
    const rq = (await phone.call('GET', '/requests')).body.requests.find((r) => r.codes.includes(code));
    const tConfirm = performance.now();
    const answer = await phone.answer(rq, { code });
    if (answer.status !== 200) throw new Error(`confirm ${answer.status}`);
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
  async function worker(phone) {
    while (Date.now() < until && done + failed < MAX) {
      const t0 = performance.now();
      try {
        if (await login(phone)) done++; else failed++;
      } catch (e) {
        failed++;
        if (failed < 5) console.error(e.message);
      }
      total.push(performance.now() - t0);
    }
  }
  const start = Date.now();
  await Promise.all(phones.map(worker));
  const secs = (Date.now() - start) / 1000;
  const pct = (a, p) => {
    a.sort((x, y) => x - y);
    return a.length ? Number(a[Math.min(a.length - 1, Math.floor(a.length * p))].toFixed(1)) : null;
  };
  console.log(JSON.stringify({ logins: done, failed, seconds: Number(secs.toFixed(2)),
    per_second: Number((done / secs).toFixed(1)), workers: WORKERS,
    login_p50_ms: pct(total, 0.5), login_p99_ms: pct(total, 0.99),
    confirm_to_browser_p50_ms: pct(resume, 0.5), confirm_to_browser_p99_ms: pct(resume, 0.99) }));
} finally {
  await server.stop();
  await gateway.close();
}
