#!/usr/bin/env node
// check-report.js — opens a digitlens report in headless Chromium and checks
// what a user would notice: every image loaded (naturalWidth > 0), every link
// to a neuron card leads to a file and an anchor that exist, no console
// errors or failed loads, and that each page's load event completes.
// Optionally saves screenshots.
//
//   node tests/browser/check-report.js REPORT_DIR [--screenshot OUT.png]
//        [--card-screenshot OUT.png] [--section-screenshot ID=OUT.png ...]
//        [--expect-section ID ...] [--width 1200] [--height 1400] [--time-loads N]
//
// --expect-section ID: index.html must have a section with that id whose
// images all loaded (at least one) and whose links all resolve (checked with
// the rest); --section-screenshot saves that section alone (at most 2400 px
// tall).
//
// Load times are printed as notes, never checked: speed is make bench's
// (scripts/bench-report.sh).  --time-loads N, for it, then opens index.html
// and neurons.html N more times each, every time in a new tab with the
// cache off (so each load reads and decodes every image, as the first one
// does), and prints "# load-ms index.html: T1 T2 ..." and the same for
// neurons.html (navigation start to the end of the load event, in ms).
//
// Talks to Chromium over the DevTools protocol on a pipe (cdp.js), so it
// needs nothing but Node and Chromium.  Prints "ok ..." / "not ok ..." lines
// and exits 1 when a check fails, 2 when the browser cannot be driven.
'use strict';
const fs = require('fs');
const path = require('path');
const { pathToFileURL, fileURLToPath } = require('url');
const { findChromium, evaluate, openPage, withBrowser } = require('./cdp.js');

function parseArgs(argv) {
  const a = { dir: null, screenshot: null, cardScreenshot: null, width: 1200, height: 1400, timeLoads: 0,
    sections: [], sectionShots: [] };
  for (let i = 2; i < argv.length; i++) {
    const v = argv[i];
    if (v === '--screenshot') a.screenshot = argv[++i];
    else if (v === '--expect-section') a.sections.push(argv[++i]);
    else if (v === '--section-screenshot') {
      const [id, out] = argv[++i].split('=');
      a.sectionShots.push({ id, out });
    }
    else if (v === '--card-screenshot') a.cardScreenshot = argv[++i];
    else if (v === '--width') a.width = +argv[++i];
    else if (v === '--height') a.height = +argv[++i];
    else if (v === '--time-loads') a.timeLoads = +argv[++i];
    else if (!a.dir) a.dir = v;
    else throw new Error(`unexpected argument ${v}`);
  }
  if (!a.dir) throw new Error('usage: check-report.js REPORT_DIR [--screenshot OUT.png]');
  if (!(Number.isInteger(a.timeLoads) && a.timeLoads >= 0 && a.timeLoads <= 100))
    throw new Error(`--time-loads expects a whole number 0..100, not ${a.timeLoads}`);
  return a;
}

let failures = 0;
function ok(cond, name, detail) {
  if (cond) console.log(`ok ${name}`);
  else { failures++; console.log(`not ok ${name}: ${detail}`); }
}

const PAGE_FACTS = `(async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map((i) => i.decode().catch(() => null)));
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    images: imgs.map((i) => ({ src: i.getAttribute('src').slice(0, 80), w: i.naturalWidth, complete: i.complete })),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    ids: [...document.querySelectorAll('[id]')].map((e) => e.id),
    scripts: document.scripts.length,
    external: [...document.querySelectorAll('[src],[href]')].map((e) => e.getAttribute('src') || e.getAttribute('href'))
      .filter((u) => /^(https?:)?\\/\\//.test(u)),
    loadMs: nav ? nav.loadEventEnd - nav.startTime : -1,
    title: document.title,
  };
})()`;

async function shoot(b, session, out, width, height) {
  await b.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, session);
  await new Promise((r) => setTimeout(r, 200));
  const shot = await b.send('Page.captureScreenshot', { format: 'png', clip: { x: 0, y: 0, width, height, scale: 1 } }, session);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, Buffer.from(shot.data, 'base64'));
  console.log(`# screenshot ${out} (${width}x${height}, ${fs.statSync(out).size} bytes)`);
}

// Facts about one section of the page: its images and how many loaded.
const sectionFacts = (id) => `(async () => {
  const s = document.getElementById(${JSON.stringify(id)});
  if (!s) return null;
  const imgs = [...s.querySelectorAll('img')];
  await Promise.all(imgs.map((i) => i.decode().catch(() => null)));
  return { images: imgs.length, loaded: imgs.filter((i) => i.naturalWidth > 0).length,
           svgs: s.querySelectorAll('svg').length, links: s.querySelectorAll('a[href]').length };
})()`;

async function shootSection(b, session, id, out, width) {
  const r = await evaluate(b, session, `(() => { const e = document.getElementById(${JSON.stringify(id)});
    if (!e) return null; const q = e.getBoundingClientRect();
    return { x: q.left + scrollX, y: q.top + scrollY, w: q.width, h: q.height }; })()`);
  if (!r) { ok(false, `section_screenshot_${id}`, 'no such section'); return; }
  const clip = { x: Math.max(0, r.x - 8), y: Math.max(0, r.y - 8), width: Math.min(width, r.w + 16), height: Math.min(2400, r.h + 16), scale: 1 };
  const shot = await b.send('Page.captureScreenshot', { format: 'png', clip, captureBeyondViewport: true }, session);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, Buffer.from(shot.data, 'base64'));
  console.log(`# screenshot of #${id}: ${out} (${Math.round(clip.width)}x${Math.round(clip.height)}, ${fs.statSync(out).size} bytes)`);
}

// One load of FILE in a new tab with the cache off: navigation start to the
// end of the load event, in ms (every image decoded first, as PAGE_FACTS does).
async function timedLoad(b, file, args) {
  const { targetId, session: s, problems } = await b.page();
  await b.send('Network.setCacheDisabled', { cacheDisabled: true }, s);
  await b.send('Emulation.setDeviceMetricsOverride', { width: args.width, height: args.height, deviceScaleFactor: 1, mobile: false }, s);
  await openPage(b, s, pathToFileURL(file).href, problems);
  const f = await evaluate(b, s, PAGE_FACTS);
  if (!(f.loadMs >= 0) || problems.length) throw new Error(`${file}: load ${f.loadMs} ms, ${problems.slice(0, 2).join(' | ')}`);
  await b.send('Target.closeTarget', { targetId });
  return f.loadMs;
}

async function main() {
  const args = parseArgs(process.argv);
  const dir = path.resolve(args.dir);
  const index = path.join(dir, 'index.html');
  if (!fs.existsSync(index)) { console.log(`not ok report_exists: ${index} is missing`); process.exit(1); }
  const exe = findChromium();
  if (!exe) { console.log('# chromium not found'); process.exit(2); }
  failures += await withBrowser(exe, 90, async (b) => {
    const { session: s, problems } = await b.page();
    await b.send('Emulation.setDeviceMetricsOverride', { width: args.width, height: args.height, deviceScaleFactor: 1, mobile: false }, s);

    // index.html
    await openPage(b, s, pathToFileURL(index).href, problems);
    const f = await evaluate(b, s, PAGE_FACTS);
    const broken = f.images.filter((i) => !(i.w > 0));
    ok(f.images.length > 0 && broken.length === 0, 'index_every_image_loaded',
      `${broken.length} of ${f.images.length} images did not load: ${broken.slice(0, 3).map((i) => i.src).join(', ')}`);
    console.log(`# index.html: ${f.images.length} images, ${f.links.length} links, loaded in ${f.loadMs.toFixed(0)} ms`);
    ok(f.scripts === 0 && f.external.length === 0, 'index_is_self_contained',
      `${f.scripts} scripts, external references: ${f.external.slice(0, 3).join(', ')}`);
    ok(f.loadMs >= 0, 'index_load_event_completes', 'no completed navigation entry');

    // Every link to a neuron card: the file exists and has the anchor.
    const cardLinks = f.links.filter((u) => /neurons\.html#/.test(u));
    const anchors = new Map();
    let bad = [];
    for (const u of cardLinks) {
      const url = new URL(u);
      const file = fileURLToPath(url.href.split('#')[0]);
      if (!fs.existsSync(file)) { bad.push(`${u}: no file`); continue; }
      if (!anchors.has(file)) {
        const html = fs.readFileSync(file, 'utf8');
        anchors.set(file, new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])));
      }
      if (!anchors.get(file).has(decodeURIComponent(url.hash.slice(1)))) bad.push(`${u}: no anchor`);
    }
    ok(cardLinks.length > 0 && bad.length === 0, `every_neuron_link_resolves_${cardLinks.length}`,
      cardLinks.length ? bad.slice(0, 3).join('; ') : 'no links to neuron cards');
    // Every other local link resolves to a file (and anchor when it has one).
    bad = [];
    for (const u of f.links.filter((x) => x.startsWith('file:'))) {
      const url = new URL(u);
      const file = fileURLToPath(url.href.split('#')[0]);
      if (!fs.existsSync(file)) bad.push(`${u}: no file`);
      else if (url.hash && file === index && !f.ids.includes(decodeURIComponent(url.hash.slice(1)))) bad.push(`${u}: no anchor`);
    }
    ok(bad.length === 0, 'every_local_link_resolves', bad.slice(0, 3).join('; '));
    for (const id of args.sections) {
      const sf = await evaluate(b, s, sectionFacts(id));
      ok(sf && sf.images + sf.svgs > 0 && sf.loaded === sf.images, `section_${id}_images_loaded`,
        sf ? `${sf.loaded} of ${sf.images} images loaded, ${sf.svgs} svgs` : `no element with id ${id}`);
      if (sf) console.log(`# #${id}: ${sf.images} images, ${sf.svgs} inline svgs, ${sf.links} links`);
    }
    for (const { id, out } of args.sectionShots) await shootSection(b, s, id, out, args.width);
    if (args.screenshot) await shoot(b, s, args.screenshot, args.width, args.height);
    ok(problems.length === 0, 'index_no_console_errors', problems.slice(0, 3).join(' | '));

    // neurons.html: its images, and following a card link lands on the card.
    problems.length = 0;
    const first = cardLinks[0] || pathToFileURL(path.join(dir, 'neurons.html')).href;
    await b.send('Emulation.setDeviceMetricsOverride', { width: args.width, height: args.height, deviceScaleFactor: 1, mobile: false }, s);
    await openPage(b, s, first, problems);
    const g = await evaluate(b, s, PAGE_FACTS);
    const broken2 = g.images.filter((i) => !(i.w > 0));
    ok(g.images.length > 0 && broken2.length === 0, 'cards_every_image_loaded',
      `${broken2.length} of ${g.images.length} images did not load: ${broken2.slice(0, 3).map((i) => i.src).join(', ')}`);
    console.log(`# neurons.html: ${g.images.length} card images, loaded in ${g.loadMs.toFixed(0)} ms`);
    const target = await evaluate(b, s, `(() => { const t = document.querySelector(':target'); return t ? t.id : null; })()`);
    const want = decodeURIComponent(new URL(first).hash.slice(1));
    ok(!want || target === want, 'card_link_targets_its_card', `:target is ${target}, wanted ${want}`);
    if (args.cardScreenshot) await shoot(b, s, args.cardScreenshot, args.width, args.height);
    ok(problems.length === 0, 'cards_no_console_errors', problems.slice(0, 3).join(' | '));

    for (const page of args.timeLoads ? ['index.html', 'neurons.html'] : []) {
      const times = [];
      for (let i = 0; i < args.timeLoads; i++) times.push(await timedLoad(b, path.join(dir, page), args));
      console.log(`# load-ms ${page}: ${times.map((t) => t.toFixed(1)).join(' ')}`);
    }
  });
  process.exit(failures ? 1 : 0);
}

main();
