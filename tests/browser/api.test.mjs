// The JSON API from outside: schemathesis (PyPI, in .venv) generates requests
// from /api/v1/openapi.json and reports server errors, answers that break the
// document, accepted invalid input and ignored authentication — on the demo
// instance, on SQLite and on PostgreSQL. The API tokens are made the way a user
// makes one: on the account page. Two organisations' coordinators are peers
// (tests/browser/schemathesis.toml): each one's reads are replayed as the other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT, launchBrowser, newDesktopPage, startServer } from './lib/harness.mjs';

const DEMO_PASSWORD = 'démo veille paris 2026';
const PG = process.env.VEILLE_TEST_PG_URL || 'postgres://root@127.0.0.1:5432/test';
const SCHEMATHESIS = path.join(REPO_ROOT, '.venv/bin/schemathesis');

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** Logs in as a demo account and creates a read + write API token on the account page. */
async function tokenFor(baseURL, email) {
  const page = await newDesktopPage(browser, baseURL);
  try {
    await page.goto('/login');
    await page.fill('#email', email);
    await page.fill('#password', DEMO_PASSWORD);
    await page.click('button.primary');
    await page.goto('/account');
    await page.fill('#name', 'schemathesis');
    await page.selectOption('#scope', 'write');
    await page.fill('#days', '1');
    await page.click('form[action="/account/tokens"] button.primary');
    const token = (await page.textContent('#new-token')).trim();
    assert.ok(token.length >= 32, 'a token is shown once');
    return token;
  } finally {
    await page.context().close();
  }
}

/**
 * Runs a command without blocking the event loop (a synchronous spawn would
 * stop this process from reading the server's output pipes: the server would
 * then block on its own logging and seem to hang).
 */
function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function psql(sql) {
  const admin = new URL(PG);
  execFileSync('psql', ['-h', admin.hostname, '-p', admin.port || '5432', '-U', admin.username, '-d', admin.pathname.slice(1), '-v', 'ON_ERROR_STOP=1', '-qc', sql]);
}

async function fuzz(label, databaseUrl) {
  const server = await startServer({ databaseUrl, demo: true });
  try {
    const identities = {
      coordination: 'coordination@demo.veille.invalid',
      maraude_nord: 'coordination-nord@demo.veille.invalid',
      sante: 'coordination-sante@demo.veille.invalid',
    };
    const tokens = {};
    for (const [name, email] of Object.entries(identities)) tokens[name] = await tokenFor(server.baseURL, email);
    const reportDir = await mkdtemp(path.join(os.tmpdir(), `veille-schemathesis-${label}-`));
    // The Web Fuzzing Commons auth document schemathesis reads the identities from.
    const wfc = path.join(reportDir, 'auth.json');
    await writeFile(wfc, JSON.stringify({
      auth: Object.entries(tokens).map(([name, token]) => ({ name, fixedHeaders: [{ name: 'Authorization', value: `Bearer ${token}` }] })),
    }));
    const result = await run(SCHEMATHESIS, [
      '--config-file', path.join(REPO_ROOT, 'tests/browser/schemathesis.toml'),
      'run', `${server.baseURL}/api/v1/openapi.json`,
      '--url', `${server.baseURL}/api/v1`,
      '--checks', 'all',
      '--max-examples', '40',
      '--max-time', '150',
      '--seed', '20261201',
      '--workers', '2',
      '--request-timeout', '10',
      '--report', 'junit', '--report-dir', reportDir,
      '--output-sanitize', 'true',
    ], { ...process.env, NO_COLOR: '1', VEILLE_WFC_AUTH: wfc });
    const out = `${result.stdout}\n${result.stderr}`;
    if (result.status !== 0) {
      console.error(out.slice(out.indexOf('FAILURES') >= 0 ? out.indexOf('FAILURES') : -20000));
    }
    assert.equal(result.status, 0, `schemathesis on ${label} found failures (report in ${reportDir})`);
    assert.match(out, /passed/i, 'schemathesis ran test cases');
    // Privacy: the fuzzed server never logged the token.
    for (const token of Object.values(tokens)) assert.ok(!server.logs().includes(token), 'no API token in the logs');
    // The peers' check ran (it needs both identities loaded).
    assert.doesNotMatch(out, /object_level_authorization` will not run/, 'the object-level authorization check ran');
    console.log(out.split('\n').filter((l) => /object_level_authorization|passed|Test cases|API probing|Stateful/i.test(l)).join('\n'));
  } finally {
    await server.stop();
  }
}

test('schemathesis finds no failure in the JSON API on SQLite', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veille-api-'));
  await fuzz('sqlite', `sqlite://${dir}/veille.db`);
});

test('schemathesis finds no failure in the JSON API on PostgreSQL', async () => {
  const name = `veille_api_${process.pid}_${Date.now()}`;
  psql(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(PG);
    url.pathname = `/${name}`;
    await fuzz('postgres', url.toString());
  } finally {
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
});
