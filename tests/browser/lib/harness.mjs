// Browser-test harness for veille, for Node's built-in test runner
// (`node --test tests/browser/`). Needs `scripts/install-deps.sh` first
// (Debian's Chromium, node_modules, and .venv for the SMTP sink).
//
// Exports:
//   launchBrowser()                         -> playwright-core Browser (Debian Chromium, headless)
//   newPhonePage(browser, baseURL)          -> Page, 360x740, fr-FR, Europe/Paris
//   newDesktopPage(browser, baseURL)        -> Page, 1280x800, fr-FR, Europe/Paris
//   checkAxe(page, label)                   -> axe results; throws on serious/critical violations
//   totp(secretBase32)                      -> current 6-digit TOTP code (SHA1, 30 s)
//   freePort()                              -> a free TCP port on 127.0.0.1
//   startServer({ databaseUrl, demo, env }) -> { baseURL, port, databaseUrl, logs(), stop() }
//   startSmtpSink()                         -> { host, port, messages(), waitForMessage(), stop() }
//   parseMessage(raw)                       -> { from, to, subject, text, html, headers, ... }
//
// Output of the servers and sinks started here is kept in memory and printed
// (to stderr) only after a test that failed, or live with VEILLE_TEST_LOGS=1.

import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import * as OTPAuth from 'otpauth';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Repository root (tests/browser/lib/../../..). */
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
/** Where failure screenshots go (ignored by git via tests/browser/.gitignore). */
export const OUT_DIR = path.join(REPO_ROOT, 'tests', 'browser', 'out');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium's own background connections are refused here and
  // can stall or spam the run.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LIVE_LOGS = process.env.VEILLE_TEST_LOGS === '1';

// ---------------------------------------------------------------------------
// Browser

/** Starts Debian's Chromium headless through playwright-core. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run scripts/install-deps.sh`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

async function newPage(browser, baseURL, viewport) {
  const context = await browser.newContext({
    viewport,
    baseURL,
    locale: 'fr-FR',
    timezoneId: 'Europe/Paris',
  });
  return context.newPage();
}

/** A page in a fresh context sized like a small phone (360x740). Close with page.context().close(). */
export function newPhonePage(browser, baseURL) {
  return newPage(browser, baseURL, { width: 360, height: 740 });
}

/** A page in a fresh context sized like a laptop (1280x800). Close with page.context().close(). */
export function newDesktopPage(browser, baseURL) {
  return newPage(browser, baseURL, { width: 1280, height: 800 });
}

function safeLabel(label) {
  return String(label).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'page';
}

/**
 * Runs axe (WCAG 2.0 A/AA, 2.1 AA) on the page. Throws an Error listing every
 * serious or critical violation and saves tests/browser/out/<label>.png; else
 * returns axe's results (minor/moderate violations are in results.violations).
 */
export async function checkAxe(page, label) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21aa'])
    .analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length === 0) return results;

  const lines = bad.map((v) => {
    const targets = v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)).join(', ');
    const more = v.nodes.length > 3 ? ` (+${v.nodes.length - 3} more)` : '';
    return `  - [${v.impact}] ${v.id}: ${v.help} -> ${targets}${more}`;
  });
  let shot = path.join(OUT_DIR, `${safeLabel(label)}.png`);
  try {
    await mkdir(OUT_DIR, { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
  } catch (e) {
    shot = `(screenshot failed: ${e.message})`;
  }
  const err = new Error(
    `axe: ${bad.length} serious/critical violation(s) on "${label}" (${page.url()}):\n` +
      `${lines.join('\n')}\n  screenshot: ${shot}`,
  );
  err.violations = bad;
  throw err;
}

/**
 * Runs axe on the page and checks that nothing is wider than the screen
 * (one pixel of rounding allowed): a page usable at 360 px.
 */
export async function checkOnPhone(page, label) {
  await checkAxe(page, label);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${label} overflows a 360 px screen by ${overflow}px`);
}

// ---------------------------------------------------------------------------
// The demo accounts

/** The password of every demo account (`veille serve --demo`). */
export const DEMO_PASSWORD = 'démo veille paris 2026';

/** Logs a demo account in on `page` and waits to leave the login page. */
export async function login(page, email) {
  await page.goto('/login');
  await page.fill('#email', email);
  await page.fill('#password', DEMO_PASSWORD);
  await page.click('button.primary');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

// ---------------------------------------------------------------------------
// TOTP

/** The current 6-digit TOTP code (SHA1, 30 s) for a base32 secret. */
export function totp(secretBase32) {
  const secret = OTPAuth.Secret.fromBase32(String(secretBase32).replace(/[\s=-]/g, '').toUpperCase());
  return new OTPAuth.TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret }).generate();
}

// ---------------------------------------------------------------------------
// Processes: free ports, captured output, printing on failure

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Processes started here whose output may need printing after a failed test. */
const tracked = new Set();

class Captured {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.chunks = [];
    this.printed = 0; // index in chunks up to which output was already printed
    this.exited = false;
    this.exitCode = null;
    this.exitSignal = null;
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
    child.on('error', (e) => this.chunks.push(`[spawn error] ${e.message}\n`));
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (d) => {
        this.chunks.push(d);
        if (LIVE_LOGS) process.stderr.write(`[${this.name}] ${d}`);
      });
    }
    // Don't let a forgotten process keep the test file alive; stop() re-refs.
    child.unref();
    child.stdout.unref?.();
    child.stderr.unref?.();
    tracked.add(this);
  }
  text() {
    return this.chunks.join('');
  }
  printNew(reason) {
    const fresh = this.chunks.slice(this.printed).join('');
    this.printed = this.chunks.length;
    if (!fresh.trim()) return;
    process.stderr.write(`\n----- ${this.name} output (${reason}) -----\n${fresh}\n----- end of ${this.name} output -----\n`);
  }
  async stop(timeoutMs = 10_000) {
    if (!this.exited) {
      this.child.ref();
      this.child.kill('SIGTERM');
      let timer;
      const timedOut = await Promise.race([
        this.exitPromise.then(() => false),
        new Promise((r) => {
          timer = setTimeout(() => r(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut && !this.exited) {
        this.chunks.push(`[harness] no exit ${timeoutMs} ms after SIGTERM: SIGKILL\n`);
        this.child.kill('SIGKILL');
        await this.exitPromise;
      }
    }
  }
  describeExit() {
    return this.exitSignal ? `signal ${this.exitSignal}` : `exit code ${this.exitCode}`;
  }
}

// Under `node --test`, print the output of every process that was running
// during a failed test. (Registered only there: calling node:test's hooks in
// a plain script would start an empty test run.)
if (process.env.NODE_TEST_CONTEXT) {
  afterEach((t) => {
    if (!t.passed) for (const c of tracked) c.printNew(`test failed: ${t.name}`);
    // Processes that ended (stopped in this test) are not printed again.
    for (const c of [...tracked]) if (c.exited) tracked.delete(c);
  });
}
process.on('exit', () => {
  for (const c of tracked) if (!c.exited) c.child.kill('SIGKILL');
});

// ---------------------------------------------------------------------------
// veille server

/**
 * Starts `veille serve --bind 127.0.0.1:PORT` (binary from VEILLE_BIN, default
 * target/debug/veille) and waits for GET /readyz to answer 200.
 *   databaseUrl: default a fresh SQLite file sqlite://<tmpdir>/veille.db
 *   demo:        true sets VEILLE_DEMO=1
 *   env:         extra environment variables
 *   port:        the port (default a free one; the same again keeps the browser's origin)
 *   bin:         another binary than VEILLE_BIN's
 * Returns { baseURL, port, databaseUrl, logs(), stop() }.
 */
export async function startServer({ databaseUrl, demo = false, env = {}, port: wantedPort, bin: wantedBin } = {}) {
  const bin = wantedBin || path.resolve(REPO_ROOT, process.env.VEILLE_BIN || 'target/debug/veille');
  if (!existsSync(bin)) {
    throw new Error(`veille binary not found at ${bin}: run \`cargo build\` or set VEILLE_BIN`);
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'veille-test-'));
  if (!databaseUrl) {
    const db = path.join(tmp, 'veille.db');
    // A zero-length file is a valid empty SQLite database: works whether or
    // not the app asks its driver to create a missing file.
    await writeFile(db, '');
    databaseUrl = `sqlite://${db}`;
  }
  const port = wantedPort || (await freePort());
  const childEnv = { ...process.env, DATABASE_URL: databaseUrl, ...env };
  if (demo) childEnv.VEILLE_DEMO = '1';
  const child = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new Captured(`veille:${port}`, child);
  const baseURL = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await proc.stop();
    await rm(tmp, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exited) {
      await stop();
      throw new Error(`veille exited before it was ready (${proc.describeExit()}); output:\n${proc.text()}`);
    }
    try {
      const res = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`veille not ready on ${baseURL}/readyz after 60 s; output:\n${proc.text()}`);
    }
    await sleep(100);
  }
  return { baseURL, port, databaseUrl, logs: () => proc.text(), stop };
}

// ---------------------------------------------------------------------------
// SMTP sink (aiosmtpd from .venv, delivering to a Maildir)

function waitForTcp(host, port, proc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (proc.exited) {
        reject(new Error(`SMTP sink exited (${proc.describeExit()}); output:\n${proc.text()}`));
        return;
      }
      const sock = net.connect({ host, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) {
          reject(new Error(`SMTP sink not listening on ${host}:${port} after ${timeoutMs} ms; output:\n${proc.text()}`));
        } else {
          setTimeout(attempt, 100);
        }
      });
    };
    attempt();
  });
}

/**
 * Starts an SMTP server on 127.0.0.1 that stores every mail in a Maildir.
 * Returns { host, port, maildir, messages(), waitForMessage(pred, {timeoutMs}), logs(), stop() };
 * messages() resolves to [{ from, to, subject, text, html, headers, mailFrom, rcptTo, raw, file }]
 * in delivery order.
 */
export async function startSmtpSink() {
  const python = path.resolve(REPO_ROOT, process.env.VEILLE_TEST_PYTHON || '.venv/bin/python');
  if (!existsSync(python)) {
    throw new Error(`${python} not found: run scripts/install-deps.sh`);
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'veille-smtp-'));
  const maildir = path.join(tmp, 'maildir');
  const host = '127.0.0.1';
  const port = await freePort();
  const child = spawn(
    python,
    ['-m', 'aiosmtpd', '-n', '-l', `${host}:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
    { cwd: tmp, env: { ...process.env, PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const proc = new Captured(`smtp:${port}`, child);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await proc.stop();
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    await waitForTcp(host, port, proc, 20_000);
  } catch (e) {
    await stop();
    throw e;
  }

  async function messages() {
    const files = [];
    for (const sub of ['new', 'cur']) {
      const dir = path.join(maildir, sub);
      let names = [];
      try {
        names = await readdir(dir);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
      for (const name of names) {
        const file = path.join(dir, name);
        const st = await stat(file);
        files.push({ file, mtime: st.mtimeMs, name });
      }
    }
    // Maildir names start with the delivery time (seconds); mtime breaks ties.
    files.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
    const out = [];
    for (const f of files) {
      const msg = parseMessage(await readFile(f.file));
      msg.file = f.file;
      out.push(msg);
    }
    return out;
  }

  async function waitForMessage(predicate = () => true, { timeoutMs = 10_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await messages()).find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching mail in the SMTP sink after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  return { host, port, maildir, messages, waitForMessage, logs: () => proc.text(), stop };
}

// ---------------------------------------------------------------------------
// A small RFC 5322 / MIME reader (Node only): headers with RFC 2047 words,
// multipart, quoted-printable, base64, charsets known to TextDecoder.

function decodeBytes(bytes, charset = 'utf-8') {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function qpToBytes(s, header = false) {
  if (header) s = s.replace(/_/g, ' ');
  s = s.replace(/=\r?\n/g, '');
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(s.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** Decodes RFC 2047 encoded words (=?charset?B|Q?...?=) in a header value. */
function decodeWords(value) {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (_, charset, enc, text) => {
      const cs = charset.split('*')[0];
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : qpToBytes(text, true);
      return decodeBytes(bytes, cs);
    });
}

// Parses a header block (binary string). Returns { list: [[name, value]], map: {lname: value} }.
function parseHeaders(block) {
  const list = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && list.length) {
      list[list.length - 1][1] += ' ' + line.trim();
    } else {
      const i = line.indexOf(':');
      if (i > 0) list.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
  }
  const map = {};
  for (const [name, raw] of list) {
    // Raw header bytes may be UTF-8 (RFC 6532); then decode encoded words.
    const value = decodeWords(decodeBytes(Buffer.from(raw, 'latin1'), 'utf-8'));
    const key = name.toLowerCase();
    map[key] = key in map ? `${map[key]}, ${value}` : value;
  }
  return { list, map };
}

function parseContentType(value = 'text/plain') {
  const [type, ...rest] = value.split(';');
  const params = {};
  for (const p of rest) {
    const m = /^\s*([^=\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/.exec(p);
    if (m) params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

function splitHead(bin) {
  const m = /\r?\n\r?\n/.exec(bin);
  if (!m) return [bin, ''];
  return [bin.slice(0, m.index), bin.slice(m.index + m[0].length)];
}

// Walks a MIME entity (binary string); collects text/plain and text/html leaves.
function walk(bin, acc) {
  const [head, body] = splitHead(bin);
  const { map } = parseHeaders(head);
  const ct = parseContentType(map['content-type']);
  if (ct.type.startsWith('multipart/') && ct.params.boundary) {
    const b = ct.params.boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const close = body.search(new RegExp(`^--${b}--`, 'm'));
    const inner = close >= 0 ? body.slice(0, close) : body; // drop the epilogue
    const parts = inner.split(new RegExp(`^--${b}[ \\t]*\\r?$\\n?`, 'm'));
    // parts[0] is the preamble.
    for (const part of parts.slice(1)) {
      if (part.trim() === '') continue;
      walk(part.replace(/\r?\n$/, ''), acc);
    }
    return;
  }
  if (ct.type === 'message/rfc822') return; // attached mails are not this mail's text
  const disposition = (map['content-disposition'] || '').toLowerCase();
  if (disposition.startsWith('attachment')) return;
  if (ct.type !== 'text/plain' && ct.type !== 'text/html') return;
  const cte = (map['content-transfer-encoding'] || '7bit').toLowerCase().trim();
  let bytes;
  if (cte === 'base64') bytes = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (cte === 'quoted-printable') bytes = qpToBytes(body);
  else bytes = Buffer.from(body, 'latin1');
  const text = decodeBytes(bytes, ct.params.charset || 'utf-8').replace(/\r\n/g, '\n');
  if (ct.type === 'text/plain' && acc.text === undefined) acc.text = text;
  if (ct.type === 'text/html' && acc.html === undefined) acc.html = text;
}

function htmlToText(html) {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/p>|<\/div>|<\/li>|<\/h\d>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * Parses a raw mail (Buffer or string). Returns
 * { from, to, cc, subject, date, messageId, text, html, headers, mailFrom, rcptTo, raw }:
 * header values decoded; text from the first text/plain part (else the HTML
 * stripped of tags); mailFrom/rcptTo from aiosmtpd's X-MailFrom/X-RcptTo.
 */
export function parseMessage(raw) {
  const bin = Buffer.isBuffer(raw) ? raw.toString('latin1') : Buffer.from(String(raw), 'utf8').toString('latin1');
  const [head] = splitHead(bin);
  const { map } = parseHeaders(head);
  const acc = {};
  walk(bin, acc);
  const html = acc.html ?? null;
  const text = acc.text ?? (html !== null ? htmlToText(html) : '');
  const rcpt = map['x-rcptto'] ? map['x-rcptto'].split(',').map((s) => s.trim()).filter(Boolean) : [];
  return {
    from: map.from ?? '',
    to: map.to ?? '',
    cc: map.cc ?? '',
    subject: map.subject ?? '',
    date: map.date ?? '',
    messageId: map['message-id'] ?? '',
    text,
    html,
    headers: map,
    mailFrom: map['x-mailfrom'] ?? '',
    rcptTo: rcpt,
    raw: Buffer.from(bin, 'latin1').toString('utf8'),
  };
}
