// faulty.mjs — the faults tests' own tools (tests/integration/faults*.test.mjs):
// a PostgreSQL server that can be stopped and started again under a
// running sleuteld, and upstreams that misbehave on purpose.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { ROOT, SLEUTEL, freePort, iniSet } from './harness.mjs';

const PG_SCRIPT = path.join(ROOT, 'scripts/pg-test-server.sh');

function pgBindir() {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const v = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).pop();
  return `/usr/lib/postgresql/${v}/bin`;
}

// A PostgreSQL server of this test's own (scripts/pg-test-server.sh),
// with a database `faults`: { conninfo, stop(), start(), remove() }.
// stop() is the fast shutdown (sessions ended), start() the same server
// again on the same port and data.
export function ownPostgres() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-faults-pg-'));
  const admin = execFileSync('sh', [PG_SCRIPT, 'start', dir], { encoding: 'utf8' }).trim();
  const port = /port=(\d+)/.exec(admin)[1];
  execFileSync('psql', ['-X', '-q', '-d', admin, '-c', 'CREATE DATABASE faults'], { stdio: 'ignore' });
  const asOwner = (args) => {
    const [cmd, ...rest] = process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
    execFileSync(cmd, rest, { stdio: 'ignore' });
  };
  const ctl = path.join(pgBindir(), 'pg_ctl');
  return {
    conninfo: admin.replace(/dbname=\S+/, 'dbname=faults'),
    stop() { asOwner([ctl, '-D', `${dir}/data`, '-w', '-m', 'fast', 'stop']); },
    start() {
      asOwner([ctl, '-D', `${dir}/data`, '-l', `${dir}/server.log`, '-w', '-t', '60', 'start', '-o',
        `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories='${dir}' -c fsync=off`]);
      writeFileSync(`${dir}/pid`, readFileSync(`${dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
    },
    remove() { execFileSync('sh', [PG_SCRIPT, 'stop', dir], { stdio: 'ignore' }); },
  };
}

// An installation (as harness initServer) on the PostgreSQL database
// `conninfo`, whatever the run's engine.
export async function initOn(conninfo, config = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-test-'));
  const [port, eidPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  execFileSync(SLEUTEL, ['init', dir, '--port', String(port), '--eid-port', String(eidPort),
    '--ca', process.env.SLEUTEL_TEST_CA, '--postgresql', conninfo], { stdio: 'ignore' });
  const configPath = path.join(dir, 'sleutel.ini');
  let ini = iniSet(readFileSync(configPath, 'utf8'), 'metrics', 'port', String(metricsPort));
  for (const [section, kv] of Object.entries(config)) {
    for (const [k, v] of Object.entries(kv)) ini = iniSet(ini, section, k, String(v));
  }
  writeFileSync(configPath, ini);
  return { dir, configPath, port, eidPort, pkiPort: 0, metricsPort, demo: false, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
