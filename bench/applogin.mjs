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
import { startServer, Agent, hiddenInputs, answerConsent } from '../tests/integration/lib/harness.mjs';
import { arg, attr, pct, runWorkers, startAuthorize, tokenExchange } from './lib.mjs';
import { smsGateway, enrolPhone } from '../tests/integration/lib/phone.mjs';

const SECONDS = arg('seconds', 10);
const WORKERS = arg('workers', 8);
const MAX = arg('max', 100000);

const gateway = await smsGateway();
const server = await startServer({ config: {
  app: { rate_phone: 1000000, rate_ip: 1000000, rate_rp: 100000000, max_pending: 20 },
  sms: { driver: 'webhook', webhook_url: gateway.url },
} });
try {
  const c = await server.client({});
  const redirect = 'https://rp.example/cb';
    const phones = [];
  for (let i = 0; i < WORKERS; i++) {
    const number = `+3247${String(1000000 + i).padStart(7, '0')}`;
    phones.push(await enrolPhone(server, gateway, number,
      { rrn: '85073003328', given_name: 'Bench', family_name: `Worker${i}`, birthdate: '1985-07-30' }));
  }

  const resume = [];
  async function login(phone) {
    const agent = new Agent();
    const { req, verifier } = await startAuthorize(server, agent, c, redirect);
    const form = hiddenInputs(await (await agent.get(`${server.base}/key/app?req=${req}&lang=nl`)).text());
    let res = await agent.post(`${server.base}/key/app/login`, { ...form, phone: phone.number });
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
    return tokenExchange(server, c, back, verifier, redirect);
  }
  const { done, failed, seconds: secs, total } = await runWorkers(phones, login, { seconds: SECONDS, max: MAX });
  console.log(JSON.stringify({ logins: done, failed, seconds: Number(secs.toFixed(2)),
    per_second: Number((done / secs).toFixed(1)), workers: WORKERS,
    login_p50_ms: pct(total, 0.5), login_p99_ms: pct(total, 0.99),
    confirm_to_browser_p50_ms: pct(resume, 0.5), confirm_to_browser_p99_ms: pct(resume, 0.99) }));
} finally {
  await server.stop();
  await gateway.close();
}
