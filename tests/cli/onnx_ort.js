// onnx_ort.js — runs ONNX files in onnxruntime (npm's onnxruntime-node, CPU)
// and compares their outputs with expected ones, for tests/cli/test_onnx.sh:
//     node onnx_ort.js NODE_MODULES IMAGES.gz TOL NAME=MODEL.onnx:EXPECT.jsonl ...
// EXPECT has one JSON object per image per line, as `digitlens classify
// --json` prints them: {"index": i, "outputs": [...]} (optionally "shape",
// the input's shape per image, default [784]).  The images are IMAGES' entries
// at those indices, pixels / 255 as float32, run as one batch.  Per model it
// prints "ok NAME: ..." when every image's largest output is the expected
// one's and every |Δ| <= TOL · max(1, |expected|), else "not ok NAME: why";
// and "# onnxruntime VERSION" first.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const [modules, images, tolArg, ...jobs] = process.argv.slice(2);
const ort = require(path.join(modules, 'onnxruntime-node'));
const tol = Number(tolArg);

function idxImages(file) { // IDX3 ubyte: magic 0x00000803, count, rows, cols, pixels
  let b = fs.readFileSync(file);
  if (file.endsWith('.gz')) b = zlib.gunzipSync(b);
  if (b.readUInt32BE(0) !== 0x803) throw new Error(`${file}: not an IDX image file`);
  const n = b.readUInt32BE(4), size = b.readUInt32BE(8) * b.readUInt32BE(12);
  return { n, size, pixels: b.subarray(16, 16 + n * size) };
}

const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

async function check(name, model, expectFile, img) {
  const rows = fs.readFileSync(expectFile, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  if (!rows.length) return `${expectFile} holds no rows`;
  const shape = rows[0].shape || [img.size];
  const x = new Float32Array(rows.length * img.size);
  rows.forEach((r, k) => {
    if (!(r.index >= 0 && r.index < img.n)) throw new Error(`${expectFile}: index ${r.index} out of range`);
    for (let j = 0; j < img.size; j++) x[k * img.size + j] = img.pixels[r.index * img.size + j] / 255;
  });
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [rows.length, ...shape]) };
  const y = (await session.run(feeds))[session.outputNames[0]];
  const k = rows[0].outputs.length;
  if (y.dims.length !== 2 || y.dims[0] !== rows.length || y.dims[1] !== k) {
    return `output shape [${y.dims}], expected [${rows.length},${k}]`;
  }
  let worst = 0, worstRel = 0, same = 0;
  rows.forEach((r, i) => {
    const got = Array.from(y.data.subarray(i * k, (i + 1) * k));
    if (argmax(got) === argmax(r.outputs)) same++;
    got.forEach((v, j) => {
      const d = Math.abs(v - r.outputs[j]);
      worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
      worstRel = Math.max(worstRel, Number.isNaN(d) ? Infinity : d / Math.max(1, Math.abs(r.outputs[j])));
    });
  });
  const figures = `${same}/${rows.length} same digit, max |dy| ${worst.toExponential(2)}`;
  if (same !== rows.length || !(worstRel <= tol)) return `${figures} (tolerance ${tol})`;
  return { ok: figures };
}

(async () => {
  console.log(`# onnxruntime ${ort.env.versions.node} (onnxruntime-node, CPU)`);
  const img = idxImages(images);
  for (const job of jobs) {
    const m = /^([^=]+)=(.+):([^:]+)$/.exec(job);
    if (!m) { console.log(`not ok ${job}: expected NAME=MODEL:EXPECT`); continue; }
    let r;
    try { r = await check(m[1], m[2], m[3], img); } catch (e) { r = String(e.message || e).split('\n')[0]; }
    console.log(r.ok ? `ok ${m[1]}: ${r.ok}` : `not ok ${m[1]}: ${r}`);
  }
})();
