// cdp.js — a Chromium to drive from Node over the DevTools protocol on a
// pipe (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), so the
// browser tests need nothing but Node and Chromium.  Shared by
// check-report.js and check-explore.js.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

function findChromium() {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

// A DevTools connection over the pipe.
class Browser {
  constructor(exe) {
    this.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-chromium-'));
    this.proc = spawn(exe, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--mute-audio', '--hide-scrollbars',
      '--allow-file-access-from-files', `--user-data-dir=${this.profile}`,
      '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.out = this.proc.stdio[3];
    this.in = this.proc.stdio[4];
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    let buf = Buffer.alloc(0);
    this.in.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let z;
      while ((z = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, z).toString('utf8'));
        buf = buf.subarray(z + 1);
        if (msg.id && this.pending.has(msg.id)) {
          const { resolve, reject } = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`));
          else resolve(msg.result);
        } else if (msg.method) {
          for (const l of this.listeners) l(msg);
        }
      }
    });
    this.exited = new Promise((res) => this.proc.on('exit', res));
  }

  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.out.write(JSON.stringify(msg) + '\0');
    });
  }

  on(fn) { this.listeners.push(fn); }

  waitFor(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      this.on((m) => { if (pred(m)) { clearTimeout(t); resolve(m); } });
    });
  }

  // A new tab (its target id and session), and the list its console
  // errors, exceptions, error log entries and failed loads are pushed to.
  async page() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId: s } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const problems = [];
    this.on((m) => {
      if (m.sessionId !== s) return;
      if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'assert'))
        problems.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value || a.description).join(' ')}`);
      else if (m.method === 'Runtime.exceptionThrown')
        problems.push(`exception: ${m.params.exceptionDetails.text} ${(m.params.exceptionDetails.exception || {}).description || ''}`);
      else if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error')
        problems.push(`${m.params.entry.source}: ${m.params.entry.text} ${m.params.entry.url || ''}`);
      else if (m.method === 'Network.loadingFailed')
        problems.push(`load failed: ${m.params.errorText}`);
    });
    for (const dom of ['Page', 'Runtime', 'Log', 'Network']) await this.send(`${dom}.enable`, {}, s);
    return { targetId, session: s, problems };
  }

  async close() {
    try { await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 2000))]); } catch (e) { /* gone */ }
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 3000))]);
    // Chromium's helper processes may still be writing into the profile for
    // a moment after the browser exits: retry, and never fail the check on it.
    for (let i = 0; i < 20; i++) {
      try { fs.rmSync(this.profile, { recursive: true, force: true }); return; } catch (e) { /* still busy */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`# could not remove the browser profile ${this.profile}`);
  }
}

async function evaluate(b, session, expr) {
  const r = await b.send('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true }, session);
  if (r.exceptionDetails) {
    const x = r.exceptionDetails;
    throw new Error(`evaluate failed: ${x.text} ${(x.exception && x.exception.description) || ''}`);
  }
  return r.result.value;
}

async function openPage(b, session, url, problems) {
  const loaded = b.waitFor((m) => m.sessionId === session && m.method === 'Page.loadEventFired', 20000, `${url} to load`);
  const nav = await b.send('Page.navigate', { url }, session);
  if (nav.errorText) throw new Error(`cannot open ${url}: ${nav.errorText}`);
  await loaded;
  // Let late image decodes and console messages arrive.
  await new Promise((r) => setTimeout(r, 150));
  return problems;
}

// Runs body(b) with a new Browser: an exception becomes one "not ok browser"
// line, no answer within `seconds` one "not ok" line and exit status 2, and
// the browser is closed whatever happens.  Resolves to the number of
// failures it reported (0 or 1).
async function withBrowser(exe, seconds, body) {
  const b = new Browser(exe);
  const watchdog = setTimeout(() => {
    console.log(`not ok browser: no answer in ${seconds} s`);
    b.proc.kill('SIGKILL');
    process.exit(2);
  }, seconds * 1000);
  try {
    await body(b);
    return 0;
  } catch (err) {
    console.log(`not ok browser: ${err.message}`);
    if (b.stderr) console.log(`# chromium stderr: ${b.stderr.split('\n').slice(-5).join(' / ')}`);
    return 1;
  } finally {
    clearTimeout(watchdog);
    await b.close();
  }
}

module.exports = { Browser, findChromium, evaluate, openPage, withBrowser };
