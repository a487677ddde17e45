// explore_prep.js — a picture to the network's 28 x 28 input, in the page:
// the drawing pad (pointer events: mouse, touch, pen) and opened image
// files.
//
// For a drawing this is digitlens's own MNIST recipe for a clean picture
// (src/digit.c, dl_image_to_mnist on a noise-free picture): ink below
// DL_IMAGE_INK_THRESHOLD (0.15) of the strongest is dropped and the rest
// divided by the strongest; the ink's bounding box is scaled, aspect kept,
// so its longer side is round(20/28 * rows) (area averaging when
// shrinking, bilinear when growing, each axis on its own, horizontal
// first, as stb_image_resize does; ink already within a pixel of that size
// is not resampled); it is pasted so that its centre of mass lands within
// half a pixel of the centre.  What the page leaves out is what a drawing
// never needs: finding the paper under uneven light, and dropping ruled
// lines, shadows and clutter along the border.  Image files get one paper
// level (the median of the border) and then the same steps: simpler than
// the command line's photo pipeline, as the page says next to the button.
'use strict';

const DLPrep = (() => {
  const MIN_CONTRAST = 0.10, INK_THRESHOLD = 0.15;
  const f32 = Math.fround;

  const fitBox = (size) => Math.max(1, Math.floor((20 * size) / 28 + 0.5));
  const clampi = (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v);

  // The weights that resample nIn pixels to nOut along one axis: for each
  // output pixel a list [k, w, k, w, ...].  Shrinking averages the area each
  // output pixel covers; growing interpolates between pixel centres, with
  // zero (paper) beyond the edges.
  function axisWeights(nIn, nOut) {
    const out = [], s = nOut / nIn;
    for (let i = 0; i < nOut; i++) {
      const w = [];
      if (nOut < nIn) {
        const lo = i / s, hi = (i + 1) / s;
        for (let k = Math.floor(lo); k < Math.ceil(hi) && k < nIn; k++) {
          const part = Math.min(hi, k + 1) - Math.max(lo, k);
          if (part > 0) w.push(k, part * s);
        }
      } else {
        const c = (i + 0.5) / s - 0.5, k0 = Math.floor(c), t = c - k0;
        if (k0 >= 0 && k0 < nIn) w.push(k0, 1 - t);
        if (k0 + 1 >= 0 && k0 + 1 < nIn) w.push(k0 + 1, t);
      }
      out.push(w);
    }
    return out;
  }

  // src [sh x sw] (row stride `stride`, from `off`) to [nh x nw].
  function resample(src, off, stride, sw, sh, nw, nh) {
    const wx = axisWeights(sw, nw), wy = axisWeights(sh, nh);
    const tmp = new Float32Array(sh * nw), out = new Float32Array(nh * nw);
    for (let y = 0; y < sh; y++)
      for (let i = 0; i < nw; i++) {
        let s = 0;
        const w = wx[i], row = off + y * stride;
        for (let q = 0; q < w.length; q += 2) s += src[row + w[q]] * w[q + 1];
        tmp[y * nw + i] = s;
      }
    for (let j = 0; j < nh; j++) {
      const w = wy[j];
      for (let i = 0; i < nw; i++) {
        let s = 0;
        for (let q = 0; q < w.length; q += 2) s += tmp[w[q] * nw + i] * w[q + 1];
        out[j * nw + i] = s;
      }
    }
    return out;
  }

  // ink [h x w] in [0, 1] (0 paper, 1 ink) to out [rows x cols] (a new
  // Float32Array), MNIST style; null when there is no ink (less than
  // MIN_CONTRAST anywhere).  ink is overwritten.
  function toMnist(ink, w, h, rows, cols) {
    let top = 0;
    for (let i = 0; i < ink.length; i++) if (ink[i] > top) top = ink[i];
    if (top < MIN_CONTRAST) return null;
    const faint = f32(INK_THRESHOLD * top);
    let x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (ink[i] < faint) { ink[i] = 0; continue; }
        const v = f32(ink[i] / top);
        ink[i] = v > 1 ? 1 : v;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    const bw = x1 - x0 + 1, bh = y1 - y0 + 1, boxC = fitBox(cols), boxR = fitBox(rows);
    const sc = Math.min(boxC / bw, boxR / bh);
    let nw = clampi(Math.floor(bw * sc + 0.5), 1, boxC), nh = clampi(Math.floor(bh * sc + 0.5), 1, boxR);
    let patch;
    if (Math.abs(bw - nw) <= 1 && Math.abs(bh - nh) <= 1 && bw <= cols && bh <= rows) {
      nw = bw;
      nh = bh;
      patch = new Float32Array(nw * nh);
      for (let y = 0; y < nh; y++) patch.set(ink.subarray((y0 + y) * w + x0, (y0 + y) * w + x0 + nw), y * nw);
    } else {
      patch = resample(ink, y0 * w + x0, w, bw, bh, nw, nh);
    }
    let m = 0, mx = 0, my = 0;
    for (let y = 0; y < nh; y++)
      for (let x = 0; x < nw; x++) {
        const i = y * nw + x, v = patch[i] < 0 ? 0 : patch[i] > 1 ? 1 : patch[i];
        patch[i] = v;
        m += v;
        mx += v * x;
        my += v * y;
      }
    const cx = m > 0 ? mx / m : (nw - 1) / 2, cy = m > 0 ? my / m : (nh - 1) / 2;
    const ox = clampi(Math.floor(cols / 2 - cx + 0.5), 0, cols - nw);
    const oy = clampi(Math.floor(rows / 2 - cy + 0.5), 0, rows - nh);
    const out = new Float32Array(rows * cols);
    for (let y = 0; y < nh; y++) out.set(patch.subarray(y * nw, (y + 1) * nw), (oy + y) * cols + ox);
    return out;
  }

  // Each pixel as a byte, k / 255 as float32, the value digitlens gives an
  // MNIST byte (dl_dataset_image: k * (1.0f / 255.0f)).
  const BYTE = f32(1 / 255);
  function asBytes(v) {
    for (let i = 0; i < v.length; i++) v[i] = f32(Math.round(v[i] * 255) * BYTE);
    return v;
  }

  // Luminance (Rec. 601, as digitlens reads colour) of RGBA pixels, 0..1.
  function luminance(rgba, n) {
    const g = new Float32Array(n);
    for (let i = 0; i < n; i++) g[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    return g;
  }

  function median(values) {
    const s = Float32Array.from(values).sort();
    return s.length ? s[s.length >> 1] : 0;
  }

  // An opened picture (RGBA, w x h) to ink: transparency flattened onto the
  // border's own colour, paper = the median of the border, dark ink on
  // light paper turned around.  Returns {ink, inverted} or null when
  // nothing differs from the paper by MIN_CONTRAST.
  function pictureInk(rgba, w, h) {
    const n = w * h, g = luminance(rgba, n), border = [], opaque = [];
    for (let x = 0; x < w; x++) border.push(x, (h - 1) * w + x);
    for (let y = 1; y < h - 1; y++) border.push(y * w, y * w + w - 1);
    for (const i of border) if (rgba[4 * i + 3] > 127) opaque.push(g[i]);
    const behind = opaque.length ? median(opaque) : 1;
    for (let i = 0; i < n; i++) {
      const a = rgba[4 * i + 3] / 255;
      g[i] = g[i] * a + behind * (1 - a);
    }
    const paper = median(border.map((i) => g[i]));
    const inverted = paper >= 0.5, ink = new Float32Array(n);
    let contrast = 0;
    for (let i = 0; i < n; i++) {
      const d = inverted ? paper - g[i] : g[i] - paper;
      if (d > contrast) contrast = d;
      ink[i] = d <= 0 ? 0 : inverted ? Math.min(1, d / Math.max(paper, 0.05)) : Math.min(1, d);
    }
    return contrast < MIN_CONTRAST ? null : { ink, inverted };
  }

  // The drawing pad: strokes kept as point lists (for undo), drawn as
  // round-capped lines of a fixed width (MNIST's pen did not vary), white
  // on black like MNIST.  onChange() runs after every change.
  class Pad {
    constructor(canvas, onChange, width) {
      this.c = canvas;
      this.ctx = canvas.getContext('2d', { willReadFrequently: true });
      this.width = width;
      this.strokes = [];
      this.active = null;
      this.onChange = onChange;
      this.redraw();
      canvas.addEventListener('pointerdown', (e) => this.down(e));
      canvas.addEventListener('pointermove', (e) => this.move(e));
      for (const ev of ['pointerup', 'pointercancel']) canvas.addEventListener(ev, (e) => this.up(e));
    }

    point(e) {
      const r = this.c.getBoundingClientRect();
      return { x: ((e.clientX - r.left) * this.c.width) / r.width, y: ((e.clientY - r.top) * this.c.height) / r.height };
    }

    down(e) {
      if (e.pointerType === 'mouse' && e.button !== 0) return;
      e.preventDefault();
      try { this.c.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events have no capture */ }
      this.active = { id: e.pointerId, pts: [this.point(e)] };
      this.strokes.push(this.active.pts);
      this.dot(this.active.pts[0]);
      this.onChange();
    }

    move(e) {
      if (!this.active || e.pointerId !== this.active.id) return;
      e.preventDefault();
      const evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      for (const ce of evs.length ? evs : [e]) this.segment(this.active.pts, this.point(ce));
      this.onChange();
    }

    up(e) {
      if (!this.active || e.pointerId !== this.active.id) return;
      this.active = null;
    }

    style() {
      const x = this.ctx;
      x.strokeStyle = x.fillStyle = '#fff';
      x.lineWidth = this.width;
      x.lineCap = x.lineJoin = 'round';
    }

    dot(p) {
      this.style();
      this.ctx.beginPath();
      this.ctx.arc(p.x, p.y, this.width / 2, 0, 2 * Math.PI);
      this.ctx.fill();
    }

    segment(pts, p) {
      const q = pts[pts.length - 1];
      pts.push(p);
      this.style();
      this.ctx.beginPath();
      this.ctx.moveTo(q.x, q.y);
      this.ctx.lineTo(p.x, p.y);
      this.ctx.stroke();
    }

    redraw() {
      const x = this.ctx;
      x.fillStyle = '#000';
      x.fillRect(0, 0, this.c.width, this.c.height);
      // Segment by segment, as they were drawn live: the same pixels after an undo.
      for (const s of this.strokes) {
        this.dot(s[0]);
        for (let i = 1; i < s.length; i++) {
          x.beginPath();
          x.moveTo(s[i - 1].x, s[i - 1].y);
          x.lineTo(s[i].x, s[i].y);
          x.stroke();
        }
      }
    }

    undo() { this.strokes.pop(); this.active = null; this.redraw(); this.onChange(); }
    // quiet: no onChange (the page shows something else now).
    clear(quiet) { this.strokes = []; this.active = null; this.redraw(); if (!quiet) this.onChange(); }
    empty() { return this.strokes.length === 0; }

    // The box around every stroke (a pixel wider than the pen), clipped to
    // the pad: nothing outside it has ink, so reading only it changes no
    // result of toMnist and saves most of the pixels.
    box() {
      const r = this.width / 2 + 2;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const s of this.strokes)
        for (const p of s) {
          x0 = Math.min(x0, p.x); y0 = Math.min(y0, p.y); x1 = Math.max(x1, p.x); y1 = Math.max(y1, p.y);
        }
      const X0 = clampi(Math.floor(x0 - r), 0, this.c.width - 1), Y0 = clampi(Math.floor(y0 - r), 0, this.c.height - 1);
      const X1 = clampi(Math.ceil(x1 + r), X0 + 1, this.c.width), Y1 = clampi(Math.ceil(y1 + r), Y0 + 1, this.c.height);
      return { x: X0, y: Y0, w: X1 - X0, h: Y1 - Y0 };
    }

    // The pad's ink inside box(): {ink [h x w], w, h}.  White strokes on
    // black are already ink.
    ink() {
      const b = this.box();
      return { ink: luminance(this.ctx.getImageData(b.x, b.y, b.w, b.h).data, b.w * b.h), w: b.w, h: b.h };
    }
  }

  return { toMnist, asBytes, pictureInk, Pad, fitBox };
})();
