#!/usr/bin/env node
// check-explore.js — opens a digitlens explorer page in headless Chromium
// and checks that it shows the same numbers as the command line:
//   - the page is self-contained (inline scripts only, no external
//     reference) and its first <canvas> is the drawing pad;
//   - digits drawn with synthetic pointer events (mouse, pen and touch,
//     through the DevTools Input domain, so they travel the browser's real
//     input path) give a state() whose 28 x 28 input, written as an IDX
//     file, makes `digitlens classify --json` print the same outputs (to
//     1e-5) and digit;
//   - the pad saved as PNG and read by `digitlens classify
//     --save-preprocessed` becomes the same 28 x 28 (to one grey level):
//     the page prepares drawings the way digitlens does; opening that PNG
//     through the page's file button gives it too;
//   - predict() on test images agrees with `classify --index` on every one;
//   - every panel changes between two drawings; clicking a hidden neuron
//     opens its panel; a lesion changes the outputs and reset restores them;
//   - no console errors; the time of each update is measured and printed.
//
//   node tests/browser/check-explore.js PAGE_DIR --digitlens BIN --model M
//        --images IDX [--count 100] [--screenshot OUT.png] [--neuron-screenshot OUT.png]
//        [--keep DIR]
//
// Prints "ok ..." / "not ok ..." lines; exits 1 when a check fails, 2 when
// the browser cannot be driven.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { execFileSync } = require('child_process');
const { pathToFileURL } = require('url');
const { findChromium, evaluate, openPage, withBrowser } = require('./cdp.js');

function parseArgs(argv) {
  const a = { dir: null, dl: null, model: null, images: null, count: 100, shot: null, neuronShot: null, keep: null };
  const flags = { '--digitlens': 'dl', '--model': 'model', '--images': 'images', '--count': 'count',
    '--screenshot': 'shot', '--neuron-screenshot': 'neuronShot', '--keep': 'keep' };
  for (let i = 2; i < argv.length; i++) {
    if (flags[argv[i]]) a[flags[argv[i]]] = argv[++i];
    else if (!a.dir) a.dir = argv[i];
    else throw new Error(`unexpected argument ${argv[i]}`);
  }
  if (!a.dir || !a.dl || !a.model || !a.images) throw new Error('usage: check-explore.js DIR --digitlens BIN --model M --images IDX');
  a.count = +a.count;
  return a;
}

let failures = 0;
function ok(cond, name, detail) {
  if (cond) console.log(`ok ${name}`);
  else { failures++; console.log(`not ok ${name}: ${detail}`); }
}

// IDX images (gzip or raw) -> {n, rows, cols, px}.
function readIdx(file) {
  let buf = fs.readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  if (buf.readUInt32BE(0) !== 0x803) throw new Error(`${file}: not an IDX image file`);
  return { n: buf.readUInt32BE(4), rows: buf.readUInt32BE(8), cols: buf.readUInt32BE(12), px: buf.subarray(16) };
}

function writeIdx(file, images, rows, cols) {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0);
  head.writeUInt32BE(images.length, 4);
  head.writeUInt32BE(rows, 8);
  head.writeUInt32BE(cols, 12);
  fs.writeFileSync(file, Buffer.concat([head, ...images.map((b) => Buffer.from(b))]));
}

const classify = (a, args) => execFileSync(a.dl, ['classify', '--model', a.model, '--json', ...args], { encoding: 'utf8' })
  .trim().split('\n').map((l) => JSON.parse(l));
const maxDiff = (u, v) => u.reduce((m, x, i) => Math.max(m, Math.abs(x - v[i])), 0);

// Shapes in the pad's 280 x 280 coordinates, as strokes of points about 4 px apart.
function curve(fn, n) { return Array.from({ length: n + 1 }, (_, i) => fn(i / n)); }
function line(p, q) {
  const n = Math.max(1, Math.round(Math.hypot(q[0] - p[0], q[1] - p[1]) / 4));
  return curve((t) => [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t], n);
}
const arc = (cx, cy, rx, ry, a0, a1, n) => curve((t) => {
  const a = a0 + (a1 - a0) * t;
  return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)];
}, n);
const DRAWINGS = {
  three: [arc(138, 95, 52, 42, -Math.PI * 0.9, Math.PI * 0.5, 40), arc(138, 182, 58, 46, -Math.PI * 0.5, Math.PI * 0.85, 44)],
  seven: [line([78, 70], [205, 70]).concat(line([205, 70], [122, 222]).slice(1))],
  zero: [arc(140, 142, 56, 82, -Math.PI / 2, Math.PI * 1.55, 70)],
  one: [line([150, 58], [128, 226])],
  four: [line([170, 58], [82, 168]).concat(line([82, 168], [212, 168]).slice(1)), line([172, 60], [172, 228])],
};

// Draws strokes on the pad through the Input domain: mouse or pen
// (dispatchMouseEvent) or touch (dispatchTouchEvent).  Returns the page's
// update times during the drawing.
async function draw(b, s, strokes, kind) {
  await evaluate(b, s, 'window.digitlens.clear(), window.digitlens.state(), 0');
  const r = await evaluate(b, s, `(() => { const q = document.getElementById('pad').getBoundingClientRect();
    return { x: q.left, y: q.top, w: q.width }; })()`);
  const k = r.w / 280, before = (await evaluate(b, s, 'window.digitlens.timings().length'));
  const at = (p) => ({ x: r.x + p[0] * k, y: r.y + p[1] * k });
  for (const st of strokes) {
    if (kind === 'touch') {
      const pt = (p) => [{ ...at(p), id: 1, radiusX: 1, radiusY: 1, force: 1 }];
      await b.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: pt(st[0]) }, s);
      for (const p of st.slice(1)) await b.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: pt(p) }, s);
      await b.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] }, s);
    } else {
      const ev = (type, p, buttons) => b.send('Input.dispatchMouseEvent', { type, ...at(p), button: 'left', buttons,
        clickCount: type === 'mouseMoved' ? 0 : 1, pointerType: kind }, s);
      await ev('mousePressed', st[0], 1);
      for (const p of st.slice(1)) await ev('mouseMoved', p, 1);
      await ev('mouseReleased', st[st.length - 1], 0);
    }
  }
  const times = await evaluate(b, s, 'window.digitlens.timings()');
  return times.slice(before);
}

// A short fingerprint of every panel, to see which ones changed.
const PANELS = `(() => {
  const h = (s) => { let x = 0; for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) | 0; return x; };
  const c = (id) => h(document.getElementById(id).toDataURL());
  return { seen: c('seen'), hidden: h([...document.querySelectorAll('#hidden canvas')].map((e) => e.toDataURL()).join()),
    outputs: h([...document.querySelectorAll('#bars .f')].map((e) => e.style.width).join()),
    votes: c('votes'), gradient: c('grad'), answer: h(document.getElementById('answer').textContent) };
})()`;

// A screenshot of the page from the top of element `from` to the bottom of
// element `to` (the whole width).
async function shootPage(b, s, out, from, to) {
  const r = await evaluate(b, s, `(() => { const a = document.getElementById('${from}').getBoundingClientRect(),
    z = document.getElementById('${to}').getBoundingClientRect();
    return { y: a.top + scrollY - 10, h: z.bottom - a.top + 20, w: document.documentElement.scrollWidth }; })()`);
  const shot = await b.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
    clip: { x: 0, y: Math.max(0, r.y), width: r.w, height: Math.min(3000, r.h), scale: 1 } }, s);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, Buffer.from(shot.data, 'base64'));
  console.log(`# screenshot ${out} (${Math.round(r.w)}x${Math.round(r.h)}, ${fs.statSync(out).size} bytes)`);
}

async function clickAt(b, s, x, y) {
  for (const type of ['mousePressed', 'mouseReleased'])
    await b.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', buttons: type === 'mousePressed' ? 1 : 0, clickCount: 1 }, s);
}

async function checkDrawings(a, b, s, tmp) {
  const names = Object.keys(DRAWINGS), kinds = ['mouse', 'pen', 'touch', 'mouse', 'mouse'];
  const states = [], pngs = [], prints = [], times = [];
  for (let i = 0; i < names.length; i++) {
    times.push(...await draw(b, s, DRAWINGS[names[i]], kinds[i]));
    states.push(await evaluate(b, s, 'window.digitlens.state()'));
    prints.push(await evaluate(b, s, PANELS));
    const url = await evaluate(b, s, "document.getElementById('pad').toDataURL('image/png')");
    const file = path.join(tmp, `${names[i]}.png`);
    fs.writeFileSync(file, Buffer.from(url.split(',')[1], 'base64'));
    pngs.push(file);
  }
  const drawn = states.filter((st) => st.input.some((v) => v > 0)).length;
  ok(drawn === names.length, `pointer_strokes_draw_${names.length}_digits`,
    `${drawn} of ${names.length} drawings (mouse, pen, touch) reached the input`);
  console.log(`# drawn: ${names.map((n, i) => `${n} (${kinds[i]}) -> ${states[i].digit}`).join(', ')}`);
  // The inputs are bytes (k/255), so an IDX file holds them exactly.
  const bytes = states.map((st) => st.input.map((v) => Math.round(v * 255)));
  const exact = states.every((st, i) => st.input.every((v, k) => Math.abs(v * 255 - bytes[i][k]) < 1e-4));
  ok(exact, 'state_input_is_bytes', 'an input pixel is not k/255');
  const idx = path.join(tmp, 'drawn-idx3-ubyte');
  writeIdx(idx, bytes, 28, 28);
  const cl = classify(a, ['--images', idx, '--index', `0-${names.length - 1}`]);
  const worst = Math.max(...cl.map((c, i) => maxDiff(c.outputs, states[i].outputs)));
  const sameDigit = cl.every((c, i) => c.digit === states[i].digit);
  ok(worst <= 1e-5 && sameDigit, `state_matches_classify_json_${names.length}_drawings`,
    `largest output difference ${worst.toExponential(2)}; digits page ${states.map((x) => x.digit)} vs cli ${cl.map((c) => c.digit)}`);
  console.log(`# state() vs classify --json: largest output difference ${worst.toExponential(2)} over ${names.length} drawings`);

  // The pad as a picture file, prepared by digitlens itself.
  const pre = path.join(tmp, 'pre');
  execFileSync(a.dl, ['classify', '--model', a.model, '--save-preprocessed', pre, ...pngs], { encoding: 'utf8' });
  let prepWorst = 0;
  const pngCl = classify(a, pngs);
  for (let i = 0; i < pngs.length; i++) {
    const g = await evaluate(b, s, `new Promise((res) => { const im = new Image(); im.onload = () => {
      const c = document.createElement('canvas'); c.width = im.width; c.height = im.height; const x = c.getContext('2d');
      x.drawImage(im, 0, 0); res(Array.from(x.getImageData(0, 0, im.width, im.height).data.filter((_, k) => k % 4 === 0))); };
      im.src = 'data:image/png;base64,${fs.readFileSync(path.join(pre, path.basename(pngs[i]) + '.28x28.png')).toString('base64')}'; })`);
    prepWorst = Math.max(prepWorst, maxDiff(g, bytes[i]));
  }
  ok(prepWorst <= 1, 'pad_prepared_like_digitlens_classify',
    `the page's 28x28 and classify --save-preprocessed differ by ${prepWorst} grey levels`);
  console.log(`# page vs classify --save-preprocessed on the pad's PNG: at most ${prepWorst} grey level(s) apart; ` +
    `classify on the PNGs says ${pngCl.map((c) => c.digit)}`);

  // Every panel changed from one drawing to the next.
  for (const p of Object.keys(prints[0])) {
    const changed = prints.slice(1).every((q, i) => q[p] !== prints[i][p]);
    ok(changed, `panel_${p}_updates`, `the ${p} panel did not change between two drawings`);
  }
  times.sort((x, y) => x - y);
  const med = times[times.length >> 1], p95 = times[Math.floor(times.length * 0.95)], max = times[times.length - 1];
  console.log(`# update per pointer move: median ${med.toFixed(2)} ms, 95th percentile ${p95.toFixed(2)} ms, ` +
    `max ${max.toFixed(2)} ms over ${times.length} updates (${os.cpus()[0].model.trim()})`);
  fs.writeFileSync(path.join(tmp, 'timings.json'), JSON.stringify(times));
  return { pngs, bytes };
}

async function checkFile(b, s, png, want) {
  const { root } = await b.send('DOM.getDocument', {}, s);
  const { nodeId } = await b.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#file' }, s);
  await b.send('DOM.setFileInputFiles', { files: [path.resolve(png)], nodeId }, s);
  let st = null;
  for (let i = 0; i < 50 && !(st && st.source === 'file'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    st = await evaluate(b, s, 'window.digitlens.state()');
  }
  const d = st && st.source === 'file' ? maxDiff(st.input.map((v) => v * 255), want) : Infinity;
  ok(d <= 1, 'open_image_file_prepares_it', st && st.source === 'file' ? `differs from the drawing by ${d.toFixed(2)} grey levels`
    : 'the page never showed the file');
}

async function checkPredict(a, b, s) {
  const t = readIdx(a.images), n = Math.min(a.count, t.n), npix = t.rows * t.cols;
  const cl = classify(a, ['--images', a.images, '--index', `0-${n - 1}`]);
  const px = [];
  for (let i = 0; i < n; i++) px.push(Array.from(t.px.subarray(i * npix, (i + 1) * npix), (v) => v / 255));
  const got = await evaluate(b, s, `${JSON.stringify(px)}.map((p) => window.digitlens.predict(p))`);
  let worst = 0, agree = 0;
  got.forEach((g, i) => {
    worst = Math.max(worst, maxDiff(g.outputs, cl[i].outputs));
    agree += g.digit === cl[i].digit;
  });
  ok(agree === n && worst <= 1e-5, `predict_matches_classify_index_on_${n}_test_images`,
    `${agree} of ${n} digits agree, largest output difference ${worst.toExponential(2)}`);
  console.log(`# predict() vs classify --index on ${n} test images: ${agree} agree, largest difference ${worst.toExponential(2)}`);
  // The embedded test digits: each one click away, answers as the command line gave them.
  const emb = await evaluate(b, s, `(() => { const m = JSON.parse(document.getElementById('dl-meta').textContent);
    const b = [...document.querySelectorAll('#samples button')]; if (!b.length) return null;
    b[0].click(); const st = window.digitlens.state();
    return { n: b.length, wrong: b.filter((x) => x.classList.contains('wrong')).length, mis: m.misclassified,
      first: { index: m.index[0], label: m.labels[0], input: st.input, digit: st.digit, source: st.source } }; })()`);
  if (emb) {
    const c0 = classify(a, ['--images', a.images, '--index', String(emb.first.index)])[0];
    const firstWrong = emb.mis > 0 ? emb.first.digit !== emb.first.label : true;
    ok(emb.wrong === emb.mis && firstWrong && emb.first.source === 'sample' && c0.digit === emb.first.digit,
      `test_digits_embedded_misclassified_first_${emb.n}`,
      `${emb.wrong} marked wrong of ${emb.mis}; first is test image ${emb.first.index}: page ${emb.first.digit}, cli ${c0.digit}`);
  }
}

async function checkNeuron(b, s, shot) {
  await evaluate(b, s, 'window.digitlens.state(), 0');
  const before = await evaluate(b, s, 'window.digitlens.state()');
  const first = before.layers[0], j = first.indexOf(Math.max(...first)); // in the first hidden layer's grid
  // Click the cell of the most active neuron in the grid (30 px cells, as the page lays them out).
  const at = await evaluate(b, s, `(() => { const c = document.querySelector('#hidden canvas');
    c.scrollIntoView(); const r = c.getBoundingClientRect(); const cols = Math.round(c.width / 30);
    return { x: r.left + (${j} % cols) * 30 * r.width / c.width + 15, y: r.top + Math.floor(${j} / cols) * 30 * r.height / c.height + 15 }; })()`);
  await clickAt(b, s, at.x, at.y);
  const panel = await evaluate(b, s, `({ shown: !document.getElementById('neuron-body').hidden,
    title: document.getElementById('neuron-title').textContent, act: document.getElementById('nact').textContent })`);
  ok(panel.shown && panel.title.includes(String(j)), 'click_a_hidden_neuron_opens_it', `panel ${JSON.stringify(panel)}`);
  const box = await evaluate(b, s, `(() => { const e = document.getElementById('lesion'); e.scrollIntoView();
    const r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
  await clickAt(b, s, box.x, box.y);
  const les = await evaluate(b, s, 'window.digitlens.state()');
  const moved = maxDiff(les.outputs, before.outputs);
  ok(les.lesioned.length === 1 && les.layers[0][j] === 0 && moved > 0, 'lesion_changes_the_outputs',
    `lesioned ${les.lesioned}, a_${j} = ${les.layers[0][j]}, outputs moved by ${moved}`);
  if (shot) await shootPage(b, s, shot, 'hidden-panel', 'neuron-panel');
  await evaluate(b, s, "document.getElementById('reset').click(), 0");
  const back = await evaluate(b, s, 'window.digitlens.state()');
  ok(back.lesioned.length === 0 && maxDiff(back.outputs, before.outputs) === 0, 'reset_restores_the_network',
    `after reset: lesioned ${back.lesioned}, outputs differ by ${maxDiff(back.outputs, before.outputs)}`);
}

async function main() {
  const a = parseArgs(process.argv);
  const page = path.resolve(a.dir, 'explore.html');
  if (!fs.existsSync(page)) { console.log(`not ok explore_page_exists: ${page} is missing`); process.exit(1); }
  const exe = findChromium();
  if (!exe) { console.log('# chromium not found'); process.exit(2); }
  const tmp = a.keep || fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-explore-'));
  fs.mkdirSync(tmp, { recursive: true });
  failures += await withBrowser(exe, 150, async (b) => {
    const { session: s, problems } = await b.page();
    await b.send('DOM.enable', {}, s);
    await b.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 1000, deviceScaleFactor: 1, mobile: false }, s);
    await b.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 }, s);
    await openPage(b, s, pathToFileURL(page).href, problems);
    const f = await evaluate(b, s, `({ first: document.querySelector('canvas').id, api: typeof window.digitlens,
      inline: [...document.scripts].every((x) => !x.src),
      external: [...document.querySelectorAll('[src],[href]')].map((e) => e.getAttribute('src') || e.getAttribute('href'))
        .filter((u) => /^(https?:)?\\/\\//.test(u)).length,
      css: [...document.styleSheets].every((x) => !x.href), links: document.querySelectorAll('link').length,
      charset: document.characterSet })`);
    ok(f.inline && f.external === 0 && f.css && f.links === 0, 'page_is_self_contained', JSON.stringify(f));
    ok(f.first === 'pad' && f.api === 'object', 'first_canvas_is_the_pad_and_api_exists', JSON.stringify(f));
    ok(f.charset === 'UTF-8', 'page_is_utf8', `document.characterSet is ${f.charset}`);
    const { pngs, bytes } = await checkDrawings(a, b, s, tmp);
    await checkFile(b, s, pngs[0], bytes[0]);
    await checkPredict(a, b, s);
    // Back to a hand-drawn 3 for the pictures and the neuron checks.
    await draw(b, s, DRAWINGS.three, 'mouse');
    if (a.shot) await shootPage(b, s, a.shot, 'pad-panel', 'grad-panel');
    await checkNeuron(b, s, a.neuronShot);
    // On a phone (390 px wide): the page fits, nothing scrolls sideways.
    await b.send('Emulation.setDeviceMetricsOverride', { width: 390, height: 844, deviceScaleFactor: 2, mobile: true }, s);
    await openPage(b, s, pathToFileURL(page).href, problems);
    const w = await evaluate(b, s, '({ inner: innerWidth, scroll: document.documentElement.scrollWidth })');
    ok(w.inner === 390 && w.scroll <= 390, 'page_fits_a_phone', `laid out ${w.inner} px wide, scrolls to ${w.scroll} px`);
    ok(problems.length === 0, 'no_console_errors', problems.slice(0, 3).join(' | '));
  });
  if (!a.keep) fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failures ? 1 : 0);
}

main();
