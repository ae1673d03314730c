// capacity.test.mjs — what decides how many long-polls a node holds
// (docs/operator.md, "100 000 waiting browsers and phones").
// [server] connection_memory at its floor (4096 bytes): both kinds of
// waiter (the phone's channel, the browser's /login/poll) wait and are
// woken there, a whole app login goes through, and a request whose headers
// leave too little of the pool is answered 431 rather than served or
// closed without an answer.  The open files limit: sleuteld raises its
// soft limit to the hard one, as each waiter holds a descriptor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import { startServer, initServer, Agent, hiddenInputs, SLEUTELD, trackProcess } from './lib/harness.mjs';
import { sql } from './lib/db.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';
import { smsGateway, enrolPhone } from './lib/phone.mjs';

const FLOOR = 4096;

// One request over its own TLS connection with an X-Filler header of
// `filler` bytes; answers the status (0: closed without an answer) and the
// answer's Content-Length.
function rawGet(port, path, filler) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'x'.repeat(filler)}\r\n` +
        'Connection: close\r\n\r\n');
    });
    let buf = '';
    s.on('data', (d) => { buf += d; });
    s.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      const len = /\r\ncontent-length: (\d+)\r\n/i.exec(buf);
      resolve({ status: m ? Number(m[1]) : 0, length: len ? Number(len[1]) : -1 });
    });
    s.on('error', () => {});
  });
}

test('connection_memory = 4096: the phone and the browser long-poll, are woken, and the login completes', async () => {
  const gw = await smsGateway();
  const server = await startServer({ config: {
    server: { connection_memory: FLOOR },
    sms: { driver: 'webhook', webhook_url: gw.url },
    app: { poll_timeout: 20, rate_phone: 1000, rate_ip: 1000 },
  } });
  try {
    const rp = await registerRp(server);
    const phone = await enrolPhone(server, gw, '0470 12 34 56',
      { rrn: '85073003328', given_name: 'Demo', family_name: 'Citizen' });
    // The phone waits on its channel (its request carries a DPoP proof).
    const channel = phone.call('GET', '/requests');
    await new Promise((r) => setTimeout(r, 300));
    // The browser starts an app login: the channel wakes with the request.
    const agent = new Agent();
    const { url } = await authRequest(rp.config);
    let res = await agent.get(String(url));
    const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    res = await agent.get(`${server.base}/key/app?req=${req}&lang=en`);
    res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(await res.text()), phone: phone.number });
    assert.equal(res.status, 303);
    const aq = new URL(res.headers.get('location'), server.base).searchParams.get('aq');
    const ch = await channel;
    assert.equal(ch.status, 200, 'the channel answered at the floor');
    const rq = ch.body.requests.find((x) => x.id === aq);
    assert.ok(rq, 'the woken channel carries the login request');
    // The browser waits; the phone's approval wakes it.  Its handler runs
    // again with the query parsed again (freed while it was suspended).
    const poll = agent.get(`${server.base}/login/poll?req=${req}`);
    await new Promise((r) => setTimeout(r, 300));
    const code = sql(server, `SELECT code FROM app_requests WHERE id='${aq}'`);
    const answered = await phone.answer(rq, { code });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    const p = await poll;
    assert.equal(p.status, 200);
    assert.equal((await p.json()).status, 'done');
    const page = await agent.get(`${server.base}/login/wait?req=${req}`);
    const fin = await agent.get(`${server.base}/login/finish?req=${req}&csrf=${hiddenInputs(await page.text()).csrf}`);
    assert.equal(fin.status, 303);
    assert.ok(new URL(fin.headers.get('location')).searchParams.get('code'), 'the RP gets its code');
  } finally {
    await server.stop();
    await gw.close();
  }
});

test('connection_memory = 4096: headers that leave no room for the answer get 431, never a closed connection', async () => {
  const server = await startServer({ config: { server: { connection_memory: FLOOR } } });
  try {
    // What a long-poll sends (< 1 KB) and more are served.
    for (const filler of [0, 1024, 2048]) {
      const r = await rawGet(server.port, '/healthz', filler);
      assert.equal(r.status, 200, `${filler} bytes of header: ${r.status}`);
    }
    // Fits MHD's read buffer but leaves too little for the answer's headers:
    // sleuteld's bare 431 (no body).  Before, 3.3-3.9 KB were closed unanswered.
    for (let filler = 3000; filler <= 3650; filler += 50) {
      const r = await rawGet(server.port, '/healthz', filler);
      assert.equal(r.status, 431, `${filler} bytes of header: ${r.status}`);
      assert.equal(r.length, 0, 'the bare 431 has no body');
    }
    // Larger than the pool: MHD's own 431.
    for (const filler of [4096, 8000, 20000]) {
      const r = await rawGet(server.port, '/healthz', filler);
      assert.equal(r.status, 431, `${filler} bytes of header: ${r.status}`);
    }
    assert.equal((await fetch(`${server.base}/healthz`)).status, 200, 'the server still serves');
  } finally {
    await server.stop();
  }
});

test('the default connection_memory serves headers the floor refuses', async () => {
  const server = await startServer();
  try {
    const r = await rawGet(server.port, '/healthz', 3500);
    assert.equal(r.status, 200);
    assert.equal((await rawGet(server.port, '/healthz', 40000)).status, 431);
  } finally {
    await server.stop();
  }
});

// The "Max open files" soft and hard limits of a process.
function nofile(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line.slice('Max open files'.length).trim().split(/\s+/);
  return { soft, hard };
}

test('sleuteld raises its open files soft limit to the hard one', async () => {
  const inst = await initServer({ engine: 'sqlite' });
  // Started with the soft limit lowered to 256 (the hard one is inherited).
  const proc = trackProcess(spawn('sh', ['-c', 'ulimit -Sn 256 && exec "$0" --config "$1"', SLEUTELD, inst.configPath],
    { stdio: 'ignore' }), 'sleuteld', inst.dir);
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      await new Promise((r) => setTimeout(r, 100));
      up = await fetch(`https://127.0.0.1:${inst.port}/healthz`).then((r) => r.ok, () => false);
    }
    assert.ok(up, 'sleuteld answered');
    const lim = nofile(proc.pid);
    assert.notEqual(lim.soft, '256', 'the soft limit was raised');
    assert.equal(lim.soft, lim.hard);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
    rmSync(inst.dir, { recursive: true, force: true });
  }
});

