// faulty-holder.mjs — run as its own process (faults-conn.test.mjs starts
// it under `ulimit -n` raised to the hard limit, which node cannot do for
// itself): holds idle and slowloris connections to a sleuteld.
//   node faulty-holder.mjs PORT IDLE SOURCES SLOW SLOW_EVERY_MS
// IDLE plain TCP connections that never send a byte, spread over SOURCES
// loopback addresses 127.0.1.1 … (the per-address limit counts each), and
// SLOW TLS connections from 127.0.2.1 that send a request's headers one
// byte every SLOW_EVERY_MS and never end them.  Reports JSON lines on
// stdout: {"open":n} once all are connected, then {"closed":k,"kind",
// "age"} as the server closes them (age: ms the connection was open).
import net from 'node:net';
import tls from 'node:tls';

const [port, idle, sources, slow, every] = process.argv.slice(2).map(Number);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const closed = { idle: 0, slow: 0, error: 0 };
const conns = [];

function watch(s, kind) {
  let at = 0;
  s.on('connect', () => { at = Date.now(); });
  s.resume(); // reading: the server's FIN is seen
  s.on('error', () => { closed.error++; });
  s.on('close', () => {
    closed[kind]++;
    out({ closed: closed[kind], kind, age: at ? Date.now() - at : -1 });
  });
}

const opening = [];
// The slow ones first: their headers trickle while the flood comes in.
for (let i = 0; i < slow; i++) {
  opening.push(new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, localAddress: '127.0.2.1', rejectUnauthorized: false }, () => {
      const text = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'x'.repeat(100000);
      let k = 0;
      const t = setInterval(() => { if (s.destroyed) clearInterval(t); else s.write(text[k++]); }, every);
      resolve();
    });
    s.once('error', resolve);
    watch(s, 'slow');
    conns.push(s);
  }));
}
await Promise.all(opening);
for (let i = 0; i < idle; i++) {
  const localAddress = `127.0.1.${1 + (i % sources)}`;
  opening.push(new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, resolve);
    s.once('error', resolve);
    watch(s, 'idle');
    conns.push(s);
  }));
  if (opening.length % 500 === 0) await Promise.all(opening.slice(-500));
}
await Promise.all(opening);
out({ open: conns.filter((s) => !s.destroyed).length, errors: closed.error });
process.stdin.on('data', () => {}); // ends when the test closes stdin
process.stdin.on('end', () => process.exit(0));
