// explore_ui.js — the explorer's panels and its page API.
//
// One update() turns what is on the pad (or the chosen test digit or
// file) into every panel: the input, the outputs, each hidden layer's
// grid, the hidden votes and input x gradient of the explained output (the
// winner unless one was clicked), and the inspected neuron.  Pointer moves
// ask for an update on the next animation frame, so a burst of moves costs
// one; state() runs a pending update at once, so scripts always read what
// is on screen.  window.digitlens is the API scripts and tests use:
//   predict(pixels)  784 values in [0, 1] (row-major, MNIST's convention)
//                    -> {outputs, hidden, digit}, the network unlesioned
//   state()          -> {input, outputs, hidden, layers, digit, explained,
//                    lesioned, source} for what is shown now
//   timings()        milliseconds of each update so far
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const meta = JSON.parse($('dl-meta').textContent);
  const net = new DLNet.Net(meta, DLNet.floatsLE(DLNet.base64Bytes($('dl-params').textContent)));
  const samples = DLNet.base64Bytes($('dl-samples').textContent);
  const rows = meta.rows, cols = meta.cols, npix = rows * cols, L = net.L, classes = meta.classes;
  const ramps = { div: DLNet.base64Bytes(meta.ramps.diverging), vir: DLNet.base64Bytes(meta.ramps.viridis) };
  const BYTE = DLNet.f32(1 / 255);

  const S = {
    x: new Float32Array(npix), // the input now shown
    source: 'pad',             // 'pad', 'sample', 'file'
    label: '',                 // what the source is, for people
    sample: -1,
    chosen: -1,                // the clicked output, or -1: the winner
    sel: null,                 // the inspected neuron {l, j}
    lesions: new Set(),        // "l:j"
    pending: false,
    times: [],
    t: net.trace(),
    probe: net.trace(),
  };
  const lesioned = (l, j) => S.lesions.has(`${l}:${j}`);

  // ---- colours --------------------------------------------------------
  // Diverging (digitlens's RdBu: white at 0) over [-lim, lim], viridis over [0, 1].
  function divRGB(v, lim) {
    const n = ramps.div.length / 3, h = (n - 1) / 2;
    const t = lim > 0 ? Math.max(-1, Math.min(1, v / lim)) : 0, i = Math.round(h + t * h) * 3;
    return [ramps.div[i], ramps.div[i + 1], ramps.div[i + 2]];
  }
  function virRGB(t) {
    const i = Math.round(Math.max(0, Math.min(1, t)) * 255) * 3;
    return [ramps.vir[i], ramps.vir[i + 1], ramps.vir[i + 2]];
  }
  const css = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
  const maxAbs = (v) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

  // A map [h x w] painted into canvas (its size set to w x h; CSS scales it).
  function paintMap(canvas, v, w, h, color) {
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ctx = canvas.getContext('2d'), img = ctx.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const c = color(v[i]);
      img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  const gray = (t) => { const g = Math.round(Math.max(0, Math.min(1, t)) * 255); return [g, g, g]; };

  // The grid a layer's neurons are laid out on: the activation picture's
  // (ceil(sqrt(n)) columns, row by row), as digitlens draws it.
  function gridShape(n) {
    let k = Math.floor(Math.sqrt(n));
    while (k * k < n) k++;
    while (k > 1 && (k - 1) * (k - 1) >= n) k--;
    return { cols: k, rows: Math.ceil(n / k) };
  }
  // The shape a neuron's incoming weights are drawn in: the picture for
  // layer 1, the lower layer's grid above it.
  function inShape(l) {
    if (l === 1) return { w: cols, h: rows };
    const g = gridShape(net.sizes[l - 1]);
    return { w: g.cols, h: g.rows };
  }
  const padTo = (v, n) => { const o = new Float32Array(n); o.set(v); return o; };

  // ---- the panels -----------------------------------------------------
  const CELL = 30;
  const grids = []; // per hidden layer: {l, canvas}

  // A click on a cell of canvas (layer l's grid) inspects that neuron.
  function selectOnClick(c, l) {
    c.addEventListener('click', (e) => {
      const r = c.getBoundingClientRect(), g = gridShape(net.sizes[l]);
      const j = Math.floor(((e.clientY - r.top) * c.height) / r.height / CELL) * g.cols +
        Math.floor(((e.clientX - r.left) * c.width) / r.width / CELL);
      if (j >= 0 && j < net.sizes[l]) select(l, j);
    });
  }
  function buildHidden() {
    const box = $('hidden');
    for (let l = 1; l < L; l++) {
      const g = gridShape(net.sizes[l]), c = document.createElement('canvas');
      c.width = g.cols * CELL;
      c.height = g.rows * CELL;
      c.dataset.layer = l;
      c.setAttribute('aria-label', `hidden layer ${l}: ${net.sizes[l]} neurons`);
      selectOnClick(c, l);
      if (L > 2) {
        const h = document.createElement('h3');
        h.textContent = `layer ${l} (${net.sizes[l]} neurons)`;
        box.appendChild(h);
      }
      box.appendChild(c);
      grids.push({ l, canvas: c, g });
    }
  }

  // Cells of a layer's grid coloured by color(v[j]), indices in the
  // corner, lesioned neurons crossed, the inspected one outlined.
  function paintGrid(canvas, l, v, color) {
    const g = gridShape(net.sizes[l]), ctx = canvas.getContext('2d');
    if (canvas.width !== g.cols * CELL || canvas.height !== g.rows * CELL) { canvas.width = g.cols * CELL; canvas.height = g.rows * CELL; }
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.font = '9px monospace';
    ctx.textBaseline = 'top';
    for (let j = 0; j < net.sizes[l]; j++) {
      const x = (j % g.cols) * CELL, y = Math.floor(j / g.cols) * CELL, c = color(v[j]);
      ctx.fillStyle = css(c);
      ctx.fillRect(x + 1, y + 1, CELL - 2, CELL - 2);
      ctx.fillStyle = c[0] * 0.3 + c[1] * 0.59 + c[2] * 0.11 > 140 ? '#222' : '#eee';
      ctx.fillText(String(j), x + 2, y + 2);
      if (lesioned(l, j)) {
        ctx.strokeStyle = '#e03131';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x + 4, y + 4); ctx.lineTo(x + CELL - 4, y + CELL - 4);
        ctx.moveTo(x + CELL - 4, y + 4); ctx.lineTo(x + 4, y + CELL - 4);
        ctx.stroke();
      }
      if (S.sel && S.sel.l === l && S.sel.j === j) {
        ctx.strokeStyle = '#f08c00';
        ctx.lineWidth = 3;
        ctx.strokeRect(x + 1.5, y + 1.5, CELL - 3, CELL - 3);
      }
    }
  }

  const bars = [];
  function buildBars() {
    const box = $('bars');
    for (let k = 0; k < net.sizes[L]; k++) {
      const row = document.createElement('div');
      row.className = 'bar';
      row.innerHTML = `<span class="k">${classes[k]}</span><span class="t"><span class="f"></span></span><span class="v"></span>`;
      row.addEventListener('click', () => { S.chosen = S.chosen === k ? -1 : k; update(); });
      box.appendChild(row);
      bars.push({ row, fill: row.querySelector('.f'), val: row.querySelector('.v') });
    }
  }

  // Signed bars (the inspected neuron's votes): red right of the middle, blue left.
  function signedBars(box, values, names) {
    const lim = maxAbs(values) || 1;
    box.innerHTML = '';
    values.forEach((v, k) => {
      const row = document.createElement('div');
      row.className = 'bar';
      const w = (50 * Math.abs(v)) / lim;
      row.innerHTML = `<span class="k">${names[k]}</span><span class="t"><span class="mid"></span>` +
        `<span class="f${v < 0 ? ' neg' : ''}" style="left:${v < 0 ? 50 - w : 50}%;width:${w}%"></span></span>` +
        `<span class="v">${v >= 0 ? '+' : ''}${v.toFixed(3)}</span>`;
      box.appendChild(row);
    });
  }

  function renderOutputs(out, win, C) {
    out.forEach((a, k) => {
      const b = bars[k];
      b.fill.style.width = `${(100 * a).toFixed(1)}%`;
      b.val.textContent = a.toFixed(3);
      b.row.classList.toggle('win', k === win);
      b.row.classList.toggle('chosen', k === C && S.chosen >= 0);
    });
  }

  const votes = new Float32Array(net.sizes[L - 1]), gx = new Float64Array(npix);
  selectOnClick($('votes'), L - 1); // a cell of the votes grid is its neuron, as in the hidden grid
  function renderVotes(C) {
    const h = L - 1, r = net.votes(S.t, C, votes), lim = maxAbs(votes);
    $('votes-title').textContent = `Hidden votes for ${classes[C]}`;
    paintGrid($('votes'), h, votes, (v) => divRGB(v, lim));
    $('votes-sum').textContent = `z${classes[C]} = ${r.z.toFixed(3)} = votes ${(r.sum - r.bias).toFixed(3)} ` +
      `+ bias ${r.bias.toFixed(3)}` + (L > 2 ? ` (layer ${h}, the last hidden layer)` : '');
    const order = Array.from(votes.keys()).sort((a, b) => votes[b] - votes[a] || a - b);
    const list = $('voters');
    list.innerHTML = '';
    for (const j of order.slice(0, 6).concat(order.slice(-3).reverse().filter((j) => votes[j] < 0))) {
      const li = document.createElement('li'), a = document.createElement('a');
      a.textContent = `#${j}`;
      a.addEventListener('click', () => select(h, j));
      li.append(a, ` ${votes[j] >= 0 ? '+' : ''}${votes[j].toFixed(3)}`);
      list.appendChild(li);
    }
  }

  function renderGradient(C) {
    net.inputGradient(S.t, C, gx, lesioned);
    const ixg = S.x.map((v, i) => v * gx[i]), lim = maxAbs(ixg);
    $('grad-title').textContent = `Input \u00d7 gradient of ${classes[C]}`;
    paintMap($('grad'), ixg, cols, rows, (v) => divRGB(v, lim));
  }

  function renderNeuron(C) {
    const body = $('neuron-body');
    if (!S.sel) { body.hidden = true; $('neuron-hint').hidden = false; return; }
    const { l, j } = S.sel, w = net.incoming(l, j), shape = inShape(l), below = S.t.a[l - 1];
    body.hidden = false;
    $('neuron-hint').hidden = true;
    $('neuron-title').textContent = `Hidden neuron ${j}` + (L > 2 ? ` of layer ${l}` : '');
    $('nweights-cap').textContent = l === 1 ? 'its weights' : `its weights from layer ${l - 1} (laid out as its grid)`;
    $('nixw-cap').textContent = l === 1 ? 'input \u00d7 weights on your digit' : `layer ${l - 1}'s activations \u00d7 weights`;
    const n = shape.w * shape.h, wl = maxAbs(w);
    paintMap($('nweights'), padTo(w, n), shape.w, shape.h, (v) => divRGB(v, wl));
    const ixw = padTo(w.map((v, k) => v * below[k]), n), il = maxAbs(ixw);
    paintMap($('nixw'), ixw, shape.w, shape.h, (v) => divRGB(v, il));
    const a = S.t.a[l][j], z = S.t.z[l][j];
    $('nact').innerHTML = `activation <b>${a.toFixed(4)}</b>` +
      (lesioned(l, j) ? ` (lesioned; it would be ${unlesionedActivation(l, j).toFixed(4)})`
        : ` = ${meta.activations[l - 1]}(z), z = ${z.toFixed(3)}`);
    $('lesion').checked = lesioned(l, j);
    $('lesions').textContent = S.lesions.size ? `lesioned: ${[...S.lesions].map((s) => '#' + s.split(':')[1] +
      (L > 2 ? ` (layer ${s.split(':')[0]})` : '')).join(', ')}` : 'no neuron is lesioned';
    const nv = $('nvotes');
    if (l === L - 1) {
      // A lesioned neuron casts no vote: show the votes it would cast.
      const out = net.sizes[L], W = net.W[L - 1], v = [], off = lesioned(l, j), av = off ? unlesionedActivation(l, j) : a;
      for (let k = 0; k < out; k++) v.push(DLNet.f32(W[k * net.sizes[l] + j] * av));
      signedBars(nv, v, classes);
      $('nvotes-note').textContent = `${off ? 'lesioned, it casts none; unlesioned, its' : 'its'} votes ` +
        `W[c,${j}]\u00b7a for each output c (for ${classes[C]}: ${v[C] >= 0 ? '+' : ''}${v[C].toFixed(3)})`;
    } else {
      nv.innerHTML = '';
      $('nvotes-note').textContent = 'votes are counted at the last hidden layer; this neuron reaches the outputs through it';
    }
  }

  // What neuron (l, j) would output with every lesion but its own.
  function unlesionedActivation(l, j) {
    const key = `${l}:${j}`;
    S.lesions.delete(key);
    net.forward(S.x, S.probe, lesioned);
    S.lesions.add(key);
    return S.probe.a[l][j];
  }

  function renderAnswer(out, win) {
    const ans = $('answer');
    if (S.source === 'pad' && pad.empty()) {
      ans.textContent = 'Draw a digit: the network answers as you draw.';
    } else {
      ans.innerHTML = `The network says <b>${classes[win]}</b> (output ${out[win].toFixed(3)})` +
        (S.lesions.size ? `, with ${S.lesions.size} neuron${S.lesions.size > 1 ? 's' : ''} lesioned` : '');
    }
    const last = S.times.length ? ` \u00b7 last update ${S.times[S.times.length - 1].toFixed(1)} ms` : '';
    $('source').textContent = `${S.label}${last}`;
  }

  // How layer l's activations a are shaded, by its activation function:
  // sigmoid 0..1 and ReLU 0..its largest on viridis, tanh -1..1 diverging.
  function actColor(l, a) {
    const act = meta.activations[l - 1];
    if (act === 'tanh') return (v) => divRGB(v, 1);
    if (act === 'relu') { const m = maxAbs(a) || 1; return (v) => virRGB(v / m); }
    return virRGB;
  }

  // ---- the update -----------------------------------------------------
  function readPad() {
    S.x.fill(0);
    if (pad.empty()) return;
    const p = pad.ink(), v = DLPrep.toMnist(p.ink, p.w, p.h, rows, cols);
    if (v) S.x.set(DLPrep.asBytes(v));
  }

  function update() {
    const t0 = performance.now();
    S.pending = false;
    if (S.source === 'pad') readPad();
    net.forward(S.x, S.t, lesioned);
    const out = S.t.a[L], win = DLNet.argmax(out), C = S.chosen >= 0 ? S.chosen : win;
    paintMap($('seen'), S.x, cols, rows, gray);
    renderOutputs(out, win, C);
    for (const { l, canvas } of grids) paintGrid(canvas, l, S.t.a[l], actColor(l, S.t.a[l]));
    renderVotes(C);
    renderGradient(C);
    renderNeuron(C);
    S.times.push(performance.now() - t0);
    renderAnswer(out, win);
  }

  function later() {
    if (S.pending) return;
    S.pending = true;
    requestAnimationFrame(() => { if (S.pending) update(); });
  }

  function select(l, j) {
    S.sel = { l, j };
    update();
  }

  function usePad() {
    if (S.source !== 'pad') {
      S.source = 'pad';
      S.label = 'your drawing';
      markSample(-1);
    }
    later();
  }

  // ---- test digits and files ------------------------------------------
  function markSample(i) {
    S.sample = i;
    for (const b of $('samples').children) b.classList.toggle('on', +b.dataset.i === i);
  }

  function showSample(i) {
    for (let k = 0; k < npix; k++) S.x[k] = DLNet.f32(samples[i * npix + k] * BYTE);
    S.source = 'sample';
    pad.clear(true); // the pad starts afresh when you draw again
    const lab = classes[meta.labels[i]], got = classes[meta.predicted[i]];
    S.label = `test image ${meta.index[i]} (label ${lab}${lab !== got ? `, digitlens says ${got}` : ''})`;
    markSample(i);
    update();
  }

  function buildSamples() {
    const box = $('samples');
    if (!meta.samples) {
      $('samples-note').textContent = 'No test digits in this page (write it with --data DIR to embed some).';
      return;
    }
    $('samples-note').textContent = `${meta.samples} test images, the ${meta.misclassified} the network gets wrong ` +
      'first (orange: label \u2192 answer). Click one to look at it.';
    for (let i = 0; i < meta.samples; i++) {
      const b = document.createElement('button'), c = document.createElement('canvas'), s = document.createElement('span');
      const lab = classes[meta.labels[i]], got = classes[meta.predicted[i]];
      b.type = 'button';
      b.dataset.i = i;
      b.title = `test image ${meta.index[i]}: label ${lab}, the network says ${got}`;
      if (lab !== got) b.className = 'wrong';
      s.textContent = lab !== got ? `${lab}\u2192${got}` : `${lab}`;
      paintMap(c, Array.from(samples.subarray(i * npix, (i + 1) * npix), (v) => v / 255), cols, rows, gray);
      b.append(c, s);
      b.addEventListener('click', () => showSample(i));
      box.appendChild(b);
    }
  }

  function openFile(file) {
    const url = URL.createObjectURL(file), img = new Image();
    img.onload = () => {
      URL.revokeObjectURL(url);
      // A picture is read at most 1024 px on its longer side (the browser scales it).
      const k = Math.min(1, 1024 / Math.max(img.naturalWidth, img.naturalHeight));
      const w = Math.max(1, Math.round(img.naturalWidth * k)), h = Math.max(1, Math.round(img.naturalHeight * k));
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0, w, h);
      const p = DLPrep.pictureInk(ctx.getImageData(0, 0, w, h).data, w, h);
      const v = p && DLPrep.toMnist(p.ink, w, h, rows, cols);
      S.x.fill(0);
      if (v) S.x.set(DLPrep.asBytes(v));
      S.source = 'file';
      pad.clear(true);
      S.label = v ? `${file.name} (${p.inverted ? 'dark ink on light paper, turned around' : 'light ink on dark'}; ` +
        'read with one paper level for the whole picture: for photos of paper, digitlens classify ' +
        '--save-preprocessed DIR does more, then open the 28x28 it writes)' : `${file.name}: no ink found`;
      markSample(-1);
      update();
    };
    img.onerror = () => { URL.revokeObjectURL(url); S.label = `${file.name}: not a picture this browser can open`; update(); };
    img.src = url;
  }

  // ---- wiring ---------------------------------------------------------
  const pad = new DLPrep.Pad($('pad'), usePad, 22);
  S.label = 'your drawing';
  $('undo').addEventListener('click', () => pad.undo());
  $('clear').addEventListener('click', () => pad.clear());
  $('file').addEventListener('change', (e) => { if (e.target.files[0]) openFile(e.target.files[0]); e.target.value = ''; });
  $('lesion').addEventListener('change', (e) => {
    if (!S.sel) return;
    const key = `${S.sel.l}:${S.sel.j}`;
    if (e.target.checked) S.lesions.add(key); else S.lesions.delete(key);
    update();
  });
  $('reset').addEventListener('click', () => { S.lesions.clear(); S.chosen = -1; update(); });
  const legend = $('act-legend'), acts = new Set(meta.activations.slice(0, L - 1));
  const tanh = acts.size === 1 && acts.has('tanh');
  legend.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1]
    .map((t) => css(tanh ? divRGB(2 * t - 1, 1) : virRGB(t))).join(',')})`;
  $('act-range').textContent = tanh ? '-1 to 1' : acts.size === 1 && acts.has('relu') ? '0 to the largest' :
    acts.size > 1 ? 'by each layer\'s activation: sigmoid 0 to 1, tanh -1 to 1, ReLU 0 to its largest' : '0 to 1';
  if (meta.report) $('foot').insertAdjacentHTML('beforeend', ' \u00b7 <a href="index.html">the report on this model</a>');
  buildBars();
  buildHidden();
  buildSamples();
  // explore.html#test=N opens embedded test image N (a link can point at one).
  const want = /^#test=(\d+)$/.exec(location.hash), at = want && meta.samples ? meta.index.indexOf(+want[1]) : -1;
  if (at >= 0) showSample(at); else update();

  const list = (v) => Array.from(v);
  window.digitlens = {
    predict(pixels) {
      if (!pixels || pixels.length !== npix) throw new Error(`predict: expected ${npix} values, got ${pixels && pixels.length}`);
      for (let i = 0; i < npix; i++)
        if (typeof pixels[i] !== 'number' || !Number.isFinite(pixels[i])) throw new Error(`predict: value ${i} is not a finite number`);
      const t = net.forward(Float32Array.from(pixels), S.probe, null), out = t.a[L];
      return { outputs: list(out), hidden: list(t.a[L - 1]), digit: classes[DLNet.argmax(out)] };
    },
    state() {
      if (S.pending) update();
      const out = S.t.a[L], win = DLNet.argmax(out);
      return {
        input: list(S.x), outputs: list(out), hidden: list(S.t.a[L - 1]),
        layers: S.t.a.slice(1, L).map(list), digit: classes[win],
        explained: classes[S.chosen >= 0 ? S.chosen : win], lesioned: [...S.lesions], source: S.source,
      };
    },
    timings: () => S.times.slice(),
    select, showSample,
    lesion(l, j, on) { if (on) S.lesions.add(`${l}:${j}`); else S.lesions.delete(`${l}:${j}`); update(); },
    clear: () => pad.clear(),
  };
})();
