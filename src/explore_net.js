// explore_net.js — the network on the explorer page: the parameters read
// from the page's data blocks, the forward pass, the gradient of an output
// with respect to the input, and the hidden votes.
//
// The forward pass adds the same float32 numbers in the same order as
// digitlens's dl_net_forward_from (src/net.c):
//     z[l+1][j] = b[l][j] + sum_k W[l][j][k] * a[l][k]   (k increasing)
// each product and each partial sum rounded to float32 (Math.fround), and
// sigmoid as 1 / (1 + exp(-z)) rounded at each step as the C expression
// is, so the outputs match `digitlens classify` to float rounding (the
// browser test checks 1e-5).  A lesioned neuron's activation is set to 0
// before the layer above reads it, which is what an ablation in digitlens
// does (dl_net_forward_from over an edited trace).  Gradients are for
// display only and use plain doubles.
'use strict';

const DLNet = (() => {
  const f32 = Math.fround;

  // Bytes of a base64 text (whitespace ignored).
  function base64Bytes(text) {
    const bin = atob(text.replace(/\s+/g, ''));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // Little-endian float32s, whatever the machine's own byte order.
  function floatsLE(bytes) {
    const n = bytes.length >> 2, out = new Float32Array(n);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }

  // Activation functions by the names the page's metadata uses: f(z) in
  // float32 as the C code computes it, and the derivative from z and a.
  const ACT = {
    sigmoid: { f: (z) => f32(1 / f32(1 + f32(Math.exp(-z)))), d: (z, a) => a * (1 - a) },
    tanh: { f: (z) => f32(Math.tanh(z)), d: (z, a) => 1 - a * a },
    relu: { f: (z) => (z > 0 ? z : 0), d: (z) => (z > 0 ? 1 : 0) },
  };

  class Net {
    // meta: {sizes, activations}; params: Float32Array in net.h's layout.
    constructor(meta, params) {
      const s = meta.sizes;
      this.sizes = s.slice();
      this.L = s.length - 1; // the output layer's index
      this.acts = meta.activations.slice();
      this.W = [];
      this.b = [];
      let off = 0;
      for (let l = 0; l < this.L; l++) {
        const nw = s[l] * s[l + 1];
        this.W.push(params.subarray(off, off + nw));
        off += nw;
        this.b.push(params.subarray(off, off + s[l + 1]));
        off += s[l + 1];
        if (this.acts[l] !== 'softmax' && !ACT[this.acts[l]]) throw new Error(`unknown activation ${this.acts[l]}`);
      }
      if (off !== params.length) throw new Error(`the page holds ${params.length} parameters, the sizes need ${off}`);
    }

    // A fresh trace: a[l], z[l] for every layer (a[0] the input).
    trace() {
      return { a: this.sizes.map((n) => new Float32Array(n)), z: this.sizes.map((n) => new Float32Array(n)) };
    }

    // Forward pass of x [sizes[0]] into trace t; lesioned(l, j) says
    // whether hidden neuron j of layer l is held at 0.  Returns t.
    forward(x, t, lesioned) {
      t.a[0].set(x);
      for (let l = 0; l < this.L; l++) {
        const n = this.sizes[l], m = this.sizes[l + 1], W = this.W[l], b = this.b[l];
        const a = t.a[l], z = t.z[l + 1], out = t.a[l + 1];
        for (let j = 0; j < m; j++) {
          let s = b[j];
          const row = j * n;
          for (let k = 0; k < n; k++) s = f32(s + f32(W[row + k] * a[k]));
          z[j] = s;
        }
        const name = this.acts[l];
        if (name === 'softmax') {
          let mx = -Infinity, sum = 0;
          for (let j = 0; j < m; j++) mx = z[j] > mx ? z[j] : mx;
          for (let j = 0; j < m; j++) { out[j] = f32(Math.exp(f32(z[j] - mx))); sum = f32(sum + out[j]); }
          for (let j = 0; j < m; j++) out[j] = f32(out[j] / sum);
        } else {
          const f = ACT[name].f;
          for (let j = 0; j < m; j++) out[j] = f(z[j]);
        }
        if (lesioned && l + 1 < this.L) for (let j = 0; j < m; j++) if (lesioned(l + 1, j)) out[j] = 0;
      }
      return t;
    }

    // d a_L[out] / d x after forward() on t, into gx [sizes[0]] (lesioned
    // neurons pass nothing back: they are constants).
    inputGradient(t, out, gx, lesioned) {
      const L = this.L;
      let d = new Float64Array(this.sizes[L]);
      const aL = t.a[L], zL = t.z[L];
      if (this.acts[L - 1] === 'softmax') {
        for (let k = 0; k < d.length; k++) d[k] = aL[out] * ((k === out ? 1 : 0) - aL[k]);
      } else {
        d[out] = ACT[this.acts[L - 1]].d(zL[out], aL[out]);
      }
      for (let l = L - 1; l >= 0; l--) {
        const n = this.sizes[l], m = this.sizes[l + 1], W = this.W[l];
        const g = l === 0 ? gx : new Float64Array(n);
        g.fill(0);
        for (let j = 0; j < m; j++) {
          const dj = d[j];
          if (dj === 0) continue;
          const row = j * n;
          for (let k = 0; k < n; k++) g[k] += W[row + k] * dj;
        }
        if (l === 0) break;
        const dz = ACT[this.acts[l - 1]].d;
        for (let k = 0; k < n; k++) g[k] = lesioned && lesioned(l, k) ? 0 : g[k] * dz(t.z[l][k], t.a[l][k]);
        d = g;
      }
      return gx;
    }

    // The last hidden layer's votes for output c: v[j] = W[L-1][c][j] * a_j
    // (float32 products), their sum plus the bias (double) and the bias.
    votes(t, c, v) {
      const h = this.L - 1, n = this.sizes[h], W = this.W[h], a = t.a[h];
      let sum = this.b[h][c];
      for (let j = 0; j < n; j++) { v[j] = f32(W[c * n + j] * a[j]); sum += v[j]; }
      return { sum, bias: this.b[h][c], z: t.z[this.L][c] };
    }

    // Incoming weights of neuron j of layer l (1..L), borrowed.
    incoming(l, j) {
      const n = this.sizes[l - 1];
      return this.W[l - 1].subarray(j * n, (j + 1) * n);
    }
  }

  function argmax(v) {
    let best = 0;
    for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
    return best;
  }

  return { Net, base64Bytes, floatsLE, argmax, f32 };
})();
