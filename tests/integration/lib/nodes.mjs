// nodes.mjs — several sleuteld nodes on one installation and one database,
// as an operator runs them behind a load balancer.
//
// What the nodes share is what such a deployment must share: the database
// ([store]), the keys directory (ID-token signing keys, keys/secret from
// which CSRF, pairwise and SMS keys derive, the app's sealing keys), the
// TLS certificate and every other setting, with [server] issuer the load
// balancer's URL.  Each node gets a copy of sleutel.ini in the same
// directory that differs only in its own ports.
//
// The load balancer is the client's: `lb` is an origin where a TCP
// round-robin proxy listens (per connection, for anything outside this
// process), and while the cluster runs this process's fetch() sends every
// request for `lb` to the next live node in turn (per request), counting
// what each node served.  pin(i) gives node i's own origin, for a request
// that must land on one node; kill(i) SIGKILLs a node and takes it out of
// the rotation, as a health check would.
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initServer, launchServer, removeInstallation, freePort, iniSet } from './harness.mjs';

// A node's copy of the installation's sleutel.ini: its own ports, the rest
// (and the directory that relative paths resolve against) the same.
export async function nodeInstallation(inst, i) {
  if (i === 0) return inst;
  const taken = [inst.port, inst.eidPort, inst.pkiPort, inst.metricsPort];
  const pick = async () => {
    let p;
    do p = await freePort(); while (taken.includes(p));
    taken.push(p);
    return p;
  };
  const port = await pick();
  const eidPort = await pick();
  const metricsPort = await pick();
  let ini = readFileSync(inst.configPath, 'utf8');
  ini = iniSet(ini, 'server', 'port', String(port));
  ini = iniSet(ini, 'eid', 'port', String(eidPort));
  ini = iniSet(ini, 'metrics', 'port', String(metricsPort));
  // The demo PKI's OCSP responder: each node serves it on a port of its
  // own; the certificates name node 0's.
  const pkiPort = inst.demo ? await pick() : 0;
  if (inst.demo) ini = iniSet(ini, 'pki', 'port', String(pkiPort));
  const configPath = path.join(inst.dir, `sleutel-node${i}.ini`);
  writeFileSync(configPath, ini);
  return { ...inst, configPath, port, eidPort, metricsPort, pkiPort };
}

export async function startNodes(n, { config = {}, env = {}, demo = false } = {}) {
  const lbPort = await freePort();
  const lb = `https://127.0.0.1:${lbPort}`;
  const inst = await initServer({ demo, config: { ...config, server: { ...(config.server || {}), issuer: lb } } });
  const nodes = [];
  try {
    for (let i = 0; i < n; i++) {
      const node = await launchServer(await nodeInstallation(inst, i), { env, name: `node${i}`, owner: false });
      node.index = i;
      node.alive = true;
      node.served = 0;
      nodes.push(node);
    }
  } catch (e) {
    for (const node of nodes) await node.stop({ keep: true }).catch(() => {});
    removeInstallation(inst.dir);
    throw e;
  }
  let turn = 0;
  const next = () => {
    const live = nodes.filter((x) => x.alive);
    if (live.length === 0) throw new Error('no live node');
    return live[turn++ % live.length];
  };

  const proxy = net.createServer((sock) => {
    const up = net.connect(next().port, '127.0.0.1');
    sock.on('error', () => up.destroy());
    up.on('error', () => sock.destroy());
    sock.pipe(up).pipe(sock);
  });
  await new Promise((resolve, reject) => proxy.listen(lbPort, '127.0.0.1', resolve).on('error', reject));

  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.origin !== lb) return realFetch(input, init);
    const node = next();
    node.served++;
    url.port = String(node.port);
    return input instanceof Request ? realFetch(new Request(url, input), init) : realFetch(url, init);
  };

  const first = nodes[0];
  return {
    nodes,
    base: lb,
    issuer: lb,
    dir: inst.dir,
    configPath: inst.configPath,
    pkiDir: first.pkiDir,
    eidBase: first.eidBase,
    cli: first.cli,
    client: first.client,
    log: () => nodes.map((x) => x.log()).join('\n'),
    pin: (i) => nodes[i].base,
    live: () => nodes.filter((x) => x.alive),
    async kill(i) {
      nodes[i].alive = false;
      nodes[i].proc.kill('SIGKILL');
      return nodes[i].exited;
    },
    async stop() {
      globalThis.fetch = realFetch;
      await new Promise((resolve) => proxy.close(resolve));
      const errors = [];
      for (const node of nodes) {
        if (!node.alive) continue;
        try { await node.stop({ keep: true }); } catch (e) { errors.push(e); }
      }
      if (errors.length) throw errors[0];
      removeInstallation(inst.dir);
    },
  };
}
