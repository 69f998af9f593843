/*
 * Chapter 0's 2-D GAN, trained in the reader's browser.
 *
 * Every element <div class="dcgan-gan2d"> becomes a trainer of the package's toy2d GAN: the same
 * networks (G: 2 -> 128 -> 128 -> 128 -> 2, D: 2 -> 128 -> 128 -> 128 -> 1, LeakyReLU(0.2)),
 * the same losses (dcgan_tutorial.losses: D's is BCE(D(x), 1) + BCE(D(G(z)), 0); G's the
 * non-saturating -log D(G(z)) or the saturating log(1 - D(G(z)))), the same optimiser (Adam with
 * PyTorch's settings: betas (0.5, 0.999) as make_toy_gan, epsilon 1e-8), batches of 256 and the
 * same step: D on fresh real points and fakes made without a graph into G, then G through D with
 * gradients for G's weights only. The gradients come from TensorFlow.js's automatic
 * differentiation on its WebAssembly backend (one thread), imported from _static/tfjs/ only
 * when a page holds a trainer and the reader comes near it.
 *
 * The views are those of toy2d_plots: D's probability of "real" over [-3, 3]^2 (PiYG colours),
 * the real points, the fakes of 512 fixed noise vectors with G's arrows (-d g_loss / d fake, each
 * fake's own term) on every 4th, and G's image of a 9 x 9 grid of lines in noise space. A ring
 * mode counts as covered as in toy2d.modes_covered: at least 2% of the 512 fakes lie within 3
 * standard deviations (0.3) of its centre.
 *
 * Random numbers (initial weights, the training stream, the fixed noise) come from a seeded
 * generator here, so a seed replays the same run in the same browser; they are not PyTorch's
 * streams. The initial weights follow PyTorch's default for nn.Linear: weight and bias uniform
 * in +-1/sqrt(fan_in).
 *
 * For tests: the element carries data-state (loading, ready, error), data-step (G steps done),
 * data-d-steps, data-modes (ring only), data-d-loss, data-g-loss and data-playing;
 * window.dcganGan2d lists the trainers, each with setWeights, dStep, gStep, step and render.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var STATIC = new URL(".", script ? script.src : document.baseURI).href; // .../_static/
  var TFJS_DIR = STATIC + "tfjs/";
  window.dcganGan2d = window.dcganGan2d || [];

  // toy2d's sizes and make_toy_gan's optimiser settings
  var TOY = { nz: 2, hidden: 128, layers: 3, slope: 0.2, batch: 256, beta1: 0.5, beta2: 0.999, epsilon: 1e-8,
              ringRadius: 2, ringStd: 0.1, lim: 3, nFakes: 512, nReal: 500, heat: 60, gridLines: 9, gridPoints: 60,
              gridLim: 2, arrowEvery: 4, arrowLength: 0.35, modeRadius: 0.3, minShare: 0.02 };
  var DEFAULTS = { data: "ring", lrG: 1e-3, lrD: 1e-3, loss: "non-saturating", dSteps: 1, seed: 0 };
  var DATA_NAMES = { ring: "ring of 8", moons: "two moons", spiral: "spiral" };
  var LOSSES = ["non-saturating", "saturating"];
  var CHUNK_MS = 30; // steps run back to back before the page may draw
  var VIEW_MS = 150; // the views are redrawn at most this often while playing

  // --- seeded random numbers: mulberry32, and Box-Muller for the normal distribution ----------

  function Random(seed) {
    this.state = seed >>> 0;
    this.spare = null;
  }
  Random.prototype.uniform = function () { // [0, 1)
    var t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  Random.prototype.normal = function () {
    if (this.spare !== null) { var s = this.spare; this.spare = null; return s; }
    var r = Math.sqrt(-2 * Math.log(1 - this.uniform())), a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
  Random.prototype.normals = function (n) {
    var out = new Float32Array(n);
    for (var i = 0; i < n; i++) out[i] = this.normal();
    return out;
  };
  function stream(seed, which) { // independent streams of one seed: weights, training, fixed noise, real points
    return new Random((Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(which, 0x85ebca77)) >>> 0);
  }

  // --- the targets, as toy2d's samplers: n points as a Float32Array of 2n numbers -----------

  function ringCentres() {
    var out = [];
    for (var k = 0; k < 8; k++) {
      var a = k * 2 * Math.PI / 8;
      out.push([TOY.ringRadius * Math.cos(a), TOY.ringRadius * Math.sin(a)]);
    }
    return out;
  }
  var CENTRES = { ring: ringCentres() }; // data with modes

  var TARGETS = {
    ring: function (rng, n) { // 8 Gaussians of std 0.1 on a circle of radius 2
      var out = new Float32Array(2 * n), c = CENTRES.ring;
      for (var i = 0; i < n; i++) {
        var m = c[Math.floor(rng.uniform() * 8)];
        out[2 * i] = m[0] + TOY.ringStd * rng.normal();
        out[2 * i + 1] = m[1] + TOY.ringStd * rng.normal();
      }
      return out;
    },
    moons: function (rng, n) { // two interleaved half circles, centred, scaled by 1.5, noise 0.1
      var out = new Float32Array(2 * n);
      for (var i = 0; i < n; i++) {
        var t = Math.PI * rng.uniform(), upper = rng.uniform() < 0.5;
        var x = (upper ? Math.cos(t) : 1 - Math.cos(t)) - 0.5, y = (upper ? Math.sin(t) : 0.5 - Math.sin(t)) - 0.25;
        out[2 * i] = 1.5 * x + 0.1 * rng.normal();
        out[2 * i + 1] = 1.5 * y + 0.1 * rng.normal();
      }
      return out;
    },
    spiral: function (rng, n) { // one arm, radius 0.3 to 2.5 over 1.5 turns, noise 0.08
      var out = new Float32Array(2 * n);
      for (var i = 0; i < n; i++) {
        var t = rng.uniform(), a = 3 * Math.PI * t, r = 0.3 + 2.2 * t;
        out[2 * i] = r * Math.cos(a) + 0.08 * rng.normal();
        out[2 * i + 1] = r * Math.sin(a) + 0.08 * rng.normal();
      }
      return out;
    }
  };

  /** How many modes have at least 2% of the fakes (Float32Array, 2n) within 0.3 of their centre. */
  function modesCovered(fakes, centres) {
    var n = fakes.length / 2, covered = 0;
    centres.forEach(function (c) {
      var near = 0;
      for (var i = 0; i < n; i++) {
        var dx = fakes[2 * i] - c[0], dy = fakes[2 * i + 1] - c[1];
        if (dx * dx + dy * dy < TOY.modeRadius * TOY.modeRadius) near++;
      }
      if (near / n >= TOY.minShare) covered++;
    });
    return covered;
  }

  // --- the networks and the losses -----------------------------------------------------------

  /** An MLP: layers of (W (in, out), b (out,)) variables; LeakyReLU(0.2) after every layer but the last. */
  function Net(tf, sizes, rng) {
    this.tf = tf;
    this.layers = [];
    for (var i = 0; i + 1 < sizes.length; i++) {
      var fanIn = sizes[i], out = sizes[i + 1], bound = 1 / Math.sqrt(fanIn);
      var w = new Float32Array(fanIn * out), b = new Float32Array(out);
      for (var k = 0; k < w.length; k++) w[k] = (2 * rng.uniform() - 1) * bound;
      for (k = 0; k < b.length; k++) b[k] = (2 * rng.uniform() - 1) * bound;
      this.layers.push(tf.tidy(function () { // tidy: the initial values, not the variables, are freed
        return { W: tf.variable(tf.tensor2d(w, [fanIn, out])), b: tf.variable(tf.tensor1d(b)) };
      }));
    }
  }
  Net.prototype.apply = function (x) { // (B, in) -> (B, out)
    var tf = this.tf, last = this.layers.length - 1;
    return this.layers.reduce(function (h, layer, i) {
      var y = tf.add(tf.matMul(h, layer.W), layer.b);
      return i < last ? tf.leakyRelu(y, TOY.slope) : y;
    }, x);
  };
  Net.prototype.variables = function () {
    return this.layers.reduce(function (all, layer) { return all.concat([layer.W, layer.b]); }, []);
  };
  /** PyTorch's weights: [{weight: (out, in) nested arrays, bias: (out,)}, ...], one per nn.Linear. */
  Net.prototype.assign = function (layers) {
    var tf = this.tf;
    if (layers.length !== this.layers.length) throw new Error("expected " + this.layers.length + " layers");
    this.layers.forEach(function (layer, i) {
      tf.tidy(function () {
        layer.W.assign(tf.transpose(tf.tensor2d(layers[i].weight)));
        layer.b.assign(tf.tensor1d(layers[i].bias));
      });
    });
  };
  Net.prototype.dispose = function () {
    this.variables().forEach(function (v) { v.dispose(); });
  };

  function dLoss(tf, realLogits, fakeLogits) { // BCE(D(x), 1) + BCE(D(G(z)), 0), on logits
    return tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits)));
  }
  function gLoss(tf, fakeLogits, kind) { // non-saturating BCE(D(G(z)), 1); saturating -BCE(D(G(z)), 0)
    return kind === "saturating" ? tf.neg(tf.mean(tf.softplus(fakeLogits))) : tf.mean(tf.softplus(tf.neg(fakeLogits)));
  }

  // --- one GAN and its training step ---------------------------------------------------------

  function GAN2D(tf, settings) {
    this.tf = tf;
    this.settings = Object.assign({}, DEFAULTS, settings || {});
    this.G = this.D = null;
    this.reset();
  }

  /** Fresh G and D (from the seed), fresh optimisers, the seed's training stream and fixed noise. */
  GAN2D.prototype.reset = function (seed) {
    var tf = this.tf, s = this.settings;
    if (seed !== undefined) s.seed = seed;
    if (this.G) { this.G.dispose(); this.D.dispose(); this.optG.dispose(); this.optD.dispose(); }
    if (this.fixedZ) this.fixedZ.dispose();
    var init = stream(s.seed, 1);
    this.G = new Net(tf, [TOY.nz, TOY.hidden, TOY.hidden, TOY.hidden, 2], init);
    this.D = new Net(tf, [2, TOY.hidden, TOY.hidden, TOY.hidden, 1], init);
    this.optG = tf.train.adam(s.lrG, TOY.beta1, TOY.beta2, TOY.epsilon); // PyTorch's epsilon, not TF.js's 1e-7
    this.optD = tf.train.adam(s.lrD, TOY.beta1, TOY.beta2, TOY.epsilon);
    this.random = stream(s.seed, 2);
    this.fixedZ = tf.tensor2d(stream(s.seed, 3).normals(2 * TOY.nFakes), [TOY.nFakes, 2]);
    this.real = TARGETS[s.data](stream(s.seed, 4), TOY.nReal);
    this.dSteps = this.gSteps = 0;
    this.dLoss = this.gLoss = NaN;
    this.view = null;
  };

  GAN2D.prototype.setLearningRates = function (lrG, lrD) { // applies from the next step
    this.settings.lrG = lrG;
    this.settings.lrD = lrD;
    this.optG.learningRate = lrG;
    this.optD.learningRate = lrD;
  };

  /** Replace G's and D's weights with PyTorch's (state_dict order), keeping the optimisers fresh. */
  GAN2D.prototype.setWeights = function (weights) {
    this.G.assign(weights.G);
    this.D.assign(weights.D);
  };

  function points(tf, values) { // a Float32Array (2n) or nested arrays (n, 2) -> a (n, 2) tensor
    return Array.isArray(values) ? tf.tensor2d(values) : tf.tensor2d(values, [values.length / 2, 2]);
  }

  /** One step of D on ``real`` points and the fakes of ``noise``; G is not touched. Returns d_loss. */
  GAN2D.prototype.dStep = function (real, noise) {
    var tf = this.tf, G = this.G, D = this.D, optD = this.optD;
    var cost = tf.tidy(function () {
      var x = points(tf, real), fake = G.apply(points(tf, noise)); // no gradient flows into G from here
      return optD.minimize(function () {
        return dLoss(tf, tf.reshape(D.apply(x), [-1]), tf.reshape(D.apply(fake), [-1]));
      }, true, D.variables());
    });
    this.dLoss = cost.dataSync()[0];
    cost.dispose();
    this.dSteps++;
    return this.dLoss;
  };

  /** One step of G: its fakes scored by D, gradients for G's weights only. Returns g_loss. */
  GAN2D.prototype.gStep = function (noise) {
    var tf = this.tf, G = this.G, D = this.D, optG = this.optG, kind = this.settings.loss;
    var cost = tf.tidy(function () {
      var z = points(tf, noise);
      return optG.minimize(function () {
        return gLoss(tf, tf.reshape(D.apply(G.apply(z)), [-1]), kind);
      }, true, G.variables());
    });
    this.gLoss = cost.dataSync()[0];
    cost.dispose();
    this.gSteps++;
    return this.gLoss;
  };

  /** One training step: ``dSteps`` steps of D, each on fresh real points and fakes, then one of G. */
  GAN2D.prototype.step = function () {
    var s = this.settings, n = TOY.batch;
    for (var k = 0; k < s.dSteps; k++) {
      var real = TARGETS[s.data](this.random, n); // real points, then noise: toy2d's order
      this.dStep(real, this.random.normals(2 * n));
    }
    this.gStep(this.random.normals(2 * n));
  };

  /** What the views draw now: D's map, the fakes and their arrows, the warped grid, the modes. */
  GAN2D.prototype.look = function () {
    var tf = this.tf, G = this.G, D = this.D, kind = this.settings.loss, fixedZ = this.fixedZ;
    var n = TOY.heat, lines = TOY.gridLines, pts = TOY.gridPoints;
    var plane = new Float32Array(2 * n * n), noiseGrid = new Float32Array(2 * 2 * lines * pts);
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) { // row i is y, column j is x, as d_probability
        plane[2 * (i * n + j)] = -TOY.lim + 2 * TOY.lim * j / (n - 1);
        plane[2 * (i * n + j) + 1] = -TOY.lim + 2 * TOY.lim * i / (n - 1);
      }
    }
    var k = 0;
    for (var h = 0; h < 2; h++) { // horizontal lines, then vertical ones (warped_grid)
      for (var l = 0; l < lines; l++) {
        for (var p = 0; p < pts; p++, k++) {
          var tick = -TOY.gridLim + 2 * TOY.gridLim * l / (lines - 1), along = -TOY.gridLim + 2 * TOY.gridLim * p / (pts - 1);
          noiseGrid[2 * k] = h === 0 ? along : tick;
          noiseGrid[2 * k + 1] = h === 0 ? tick : along;
        }
      }
    }
    var out = tf.tidy(function () {
      var probs = tf.sigmoid(D.apply(tf.tensor2d(plane, [n * n, 2])));
      var fake = G.apply(fixedZ);
      var perPoint = function (x) { return tf.mul(gLoss(tf, tf.reshape(D.apply(x), [-1]), kind), x.shape[0]); };
      var arrows = tf.neg(tf.grad(perPoint)(fake));
      return [probs, fake, arrows, G.apply(tf.tensor2d(noiseGrid, [2 * lines * pts, 2]))];
    });
    var data = out.map(function (t) { var d = t.dataSync(); t.dispose(); return d; });
    var centres = CENTRES[this.settings.data];
    this.view = { probs: data[0], fake: data[1], arrows: data[2], grid: data[3],
                  modes: centres ? modesCovered(data[1], centres) : null };
    return this.view;
  };

  // --- drawing (the colours of toy2d_plots) --------------------------------------------------

  var PIYG = ["#8e0152", "#c51b7d", "#de77ae", "#f1b6da", "#fde0ef", "#f7f7f7", "#e6f5d0", "#b8e186", "#7fbc41",
              "#4d9221", "#276419"].map(function (hex) {
    return [1, 3, 5].map(function (i) { return parseInt(hex.substr(i, 2), 16); });
  });
  function piyg(p) {
    var x = Math.max(0, Math.min(1, p)) * 10, i = Math.min(9, Math.floor(x)), f = x - i;
    return PIYG[i].map(function (c, k) { return Math.round(c + f * (PIYG[i + 1][k] - c)); });
  }
  var REAL_COLOUR = "#00441b", FAKE_COLOUR = "#40004b", H_COLOUR = "#1f77b4", V_COLOUR = "#ff7f0e";

  function Canvas(canvas) {
    var ratio = window.devicePixelRatio || 1, size = canvas.clientWidth || 300;
    canvas.width = canvas.height = Math.round(size * ratio);
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.scale = canvas.width / (2 * TOY.lim);
    this.ratio = ratio;
  }
  Canvas.prototype.x = function (x) { return (x + TOY.lim) * this.scale; };
  Canvas.prototype.y = function (y) { return (TOY.lim - y) * this.scale; };
  Canvas.prototype.dots = function (xy, colour, radius, alpha, outline) {
    var ctx = this.ctx, r = radius * this.ratio;
    ctx.globalAlpha = alpha;
    ctx.fillStyle = colour;
    ctx.strokeStyle = "white";
    ctx.lineWidth = 0.6 * this.ratio;
    for (var i = 0; i < xy.length; i += 2) {
      ctx.beginPath();
      ctx.arc(this.x(xy[i]), this.y(xy[i + 1]), r, 0, 2 * Math.PI);
      ctx.fill();
      if (outline) ctx.stroke();
    }
    ctx.globalAlpha = 1;
  };

  function drawMap(canvas, view, real, heat) {
    var ctx = canvas.ctx, n = TOY.heat, image = heat.getContext("2d").createImageData(n, n);
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        var c = piyg(view.probs[i * n + j]), o = 4 * ((n - 1 - i) * n + j); // canvas rows run down, y up
        image.data[o] = c[0]; image.data[o + 1] = c[1]; image.data[o + 2] = c[2]; image.data[o + 3] = 255;
      }
    }
    heat.getContext("2d").putImageData(image, 0, 0);
    var half = canvas.scale * TOY.lim / (n - 1); // the samples are cell centres: extend by half a cell
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heat, -half, -half, canvas.canvas.width + 2 * half, canvas.canvas.height + 2 * half);
    canvas.dots(real, REAL_COLOUR, 1.3, 0.6, false);
    canvas.dots(view.fake, FAKE_COLOUR, 2, 1, true);
    var longest = 1e-12, a = view.arrows, f = view.fake;
    for (var k = 0; k < a.length; k += 2) longest = Math.max(longest, Math.hypot(a[k], a[k + 1]));
    var s = TOY.arrowLength / longest; // the longest arrow of the frame is 0.35 long, as in toy2d_plots
    ctx.strokeStyle = "rgba(0, 0, 0, 0.7)";
    ctx.lineWidth = 1.1 * canvas.ratio;
    for (k = 0; k < a.length; k += 2 * TOY.arrowEvery) {
      var x0 = canvas.x(f[k]), y0 = canvas.y(f[k + 1]), x1 = canvas.x(f[k] + s * a[k]), y1 = canvas.y(f[k + 1] + s * a[k + 1]);
      var angle = Math.atan2(y1 - y0, x1 - x0), head = 3.5 * canvas.ratio * Math.min(1, Math.hypot(x1 - x0, y1 - y0) / 8);
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(angle - 0.5), y1 - head * Math.sin(angle - 0.5));
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(angle + 0.5), y1 - head * Math.sin(angle + 0.5));
      ctx.stroke();
    }
  }

  function drawGrid(canvas, view, real) {
    var ctx = canvas.ctx, lines = TOY.gridLines, pts = TOY.gridPoints, g = view.grid;
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, canvas.canvas.width, canvas.canvas.height);
    canvas.dots(real, REAL_COLOUR, 1.3, 0.35, false);
    ctx.lineWidth = 0.9 * canvas.ratio;
    for (var l = 0; l < 2 * lines; l++) {
      ctx.strokeStyle = l < lines ? H_COLOUR : V_COLOUR;
      ctx.beginPath();
      for (var p = 0; p < pts; p++) {
        var o = 2 * (l * pts + p);
        if (p === 0) ctx.moveTo(canvas.x(g[o]), canvas.y(g[o + 1])); else ctx.lineTo(canvas.x(g[o]), canvas.y(g[o + 1]));
      }
      ctx.stroke();
    }
  }

  // --- the page element: controls, views, the play loop --------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function formatRate(v) { return v.toExponential(1).replace(".0e", "e"); } // 1e-3, 2.5e-4

  function Trainer(root, tf) {
    this.root = root;
    this.tf = tf;
    this.playing = false;
    this.gan = new GAN2D(tf, {});
    this.lastDraw = 0;
    this.stepsPerSecond = 0;
    this.build();
    this.render();
  }

  Trainer.prototype.build = function () {
    var self = this, s = this.gan.settings;
    var dataSelect = el("select", { "class": "dcgan-gan2d-data", "aria-label": "data" },
      Object.keys(TARGETS).map(function (k) { return el("option", { value: k, text: DATA_NAMES[k] }); }));
    dataSelect.value = s.data;
    var lossSelect = el("select", { "class": "dcgan-gan2d-loss", "aria-label": "G's loss" },
      LOSSES.map(function (k) { return el("option", { value: k, text: k }); }));
    lossSelect.value = s.loss;
    function rate(cls, value) { // a logarithmic slider, 10^-5 to 10^-1.5 in notches of 10^0.1
      return el("input", { type: "range", "class": cls, min: "-5", max: "-1.5", step: "0.1",
                           value: String(Math.log10(value)) });
    }
    var lrG = rate("dcgan-gan2d-lr-g", s.lrG), lrD = rate("dcgan-gan2d-lr-d", s.lrD);
    var dSteps = el("input", { type: "range", "class": "dcgan-gan2d-d-steps", min: "1", max: "5", step: "1",
                               value: String(s.dSteps) });
    var seed = el("input", { type: "number", "class": "dcgan-gan2d-seed", min: "0", step: "1", value: String(s.seed) });
    var outputs = {};
    function row(label, control, key) {
      var out = el("output", {});
      outputs[key] = out;
      return el("label", { "class": "dcgan-gan2d-row" }, [el("span", { text: label }), control, out]);
    }
    this.controls = { data: dataSelect, lrG: lrG, lrD: lrD, loss: lossSelect, dSteps: dSteps, seed: seed };
    this.outputs = outputs;
    this.playButton = el("button", { type: "button", "class": "dcgan-gan2d-play", text: "Play" });
    var stepButton = el("button", { type: "button", "class": "dcgan-gan2d-step", text: "One step" });
    var resetButton = el("button", { type: "button", "class": "dcgan-gan2d-reset", text: "Reset" });
    this.mapCanvas = el("canvas", { "class": "dcgan-gan2d-map", "aria-label": "D's map, the fakes and G's arrows" });
    this.gridCanvas = el("canvas", { "class": "dcgan-gan2d-grid", "aria-label": "G's noise grid in data space" });
    this.status = el("p", { "class": "dcgan-gan2d-status", "aria-live": "polite" });
    var body = el("div", { "class": "dcgan-gan2d-body" }, [
      el("div", { "class": "dcgan-gan2d-views" }, [
        el("figure", {}, [this.mapCanvas, el("figcaption", { text: "D's map (green: real), the fakes and G's arrows" })]),
        el("figure", {}, [this.gridCanvas, el("figcaption", { text: "G's noise grid, drawn where G sends it" })])]),
      this.status,
      el("div", { "class": "dcgan-gan2d-controls" }, [
        row("data", dataSelect, "data"), row("lr of G", lrG, "lrG"), row("lr of D", lrD, "lrD"),
        row("G loss", lossSelect, "loss"), row("D steps per G step", dSteps, "dSteps"), row("seed", seed, "seed"),
        el("div", { "class": "dcgan-gan2d-buttons" }, [this.playButton, stepButton, resetButton])])]);
    var old = this.root.querySelector(".dcgan-gan2d-body");
    if (old) old.remove();
    this.root.insertBefore(body, this.root.firstChild);
    this.heat = el("canvas", { width: String(TOY.heat), height: String(TOY.heat) });
    this.map = new Canvas(this.mapCanvas);
    this.grid = new Canvas(this.gridCanvas);

    dataSelect.addEventListener("change", function () { s.data = dataSelect.value; self.reset(); });
    lossSelect.addEventListener("change", function () { s.loss = lossSelect.value; self.changed(); });
    [lrG, lrD].forEach(function (slider) {
      slider.addEventListener("input", function () {
        self.gan.setLearningRates(Math.pow(10, Number(lrG.value)), Math.pow(10, Number(lrD.value)));
        self.changed();
      });
    });
    dSteps.addEventListener("input", function () { s.dSteps = Number(dSteps.value); self.changed(); });
    seed.addEventListener("change", function () { self.reset(); });
    this.playButton.addEventListener("click", function () { if (self.playing) self.pause(); else self.play(); });
    stepButton.addEventListener("click", function () { self.pause(); self.gan.step(); self.render(); });
    resetButton.addEventListener("click", function () { self.reset(); });
  };

  Trainer.prototype.changed = function () { // a setting that applies from the next step
    this.showSettings();
    if (!this.playing) this.render();
  };

  Trainer.prototype.showSettings = function () {
    var s = this.gan.settings, o = this.outputs;
    o.data.textContent = "";
    o.lrG.textContent = formatRate(s.lrG);
    o.lrD.textContent = formatRate(s.lrD);
    o.loss.textContent = "";
    o.dSteps.textContent = String(s.dSteps);
    o.seed.textContent = "";
  };

  Trainer.prototype.reset = function () {
    var seed = Math.max(0, Math.floor(Number(this.controls.seed.value) || 0));
    this.controls.seed.value = String(seed);
    this.gan.reset(seed);
    this.render();
  };

  Trainer.prototype.play = function () {
    if (this.playing) return;
    this.playing = true;
    this.root.dataset.playing = "1";
    this.playButton.textContent = "Pause";
    var self = this, steps = 0, started = performance.now();
    function chunk() {
      if (!self.playing) return;
      var t0 = performance.now();
      try {
        do { self.gan.step(); steps++; } while (performance.now() - t0 < CHUNK_MS);
      } catch (err) {
        self.pause();
        self.fail(String(err && err.message || err));
        return;
      }
      self.stepsPerSecond = steps / ((performance.now() - started) / 1000);
      if (performance.now() - self.lastDraw >= VIEW_MS) self.render(); else self.mark();
      setTimeout(chunk, 0);
    }
    setTimeout(chunk, 0);
  };

  Trainer.prototype.pause = function () {
    this.playing = false;
    this.root.dataset.playing = "0";
    this.playButton.textContent = "Play";
  };

  Trainer.prototype.mark = function () { // the counters tests and readers see
    var d = this.root.dataset, gan = this.gan;
    d.step = String(gan.gSteps);
    d.dSteps = String(gan.dSteps);
    d.dLoss = String(gan.dLoss);
    d.gLoss = String(gan.gLoss);
  };

  Trainer.prototype.render = function () {
    var gan = this.gan, view = gan.look();
    drawMap(this.map, view, gan.real, this.heat);
    drawGrid(this.grid, view, gan.real);
    this.lastDraw = performance.now();
    this.mark();
    if (view.modes === null) delete this.root.dataset.modes; else this.root.dataset.modes = String(view.modes);
    var parts = ["step " + gan.gSteps + (gan.dSteps !== gan.gSteps ? " (" + gan.dSteps + " D steps)" : "")];
    if (gan.gSteps) parts.push("D loss " + gan.dLoss.toFixed(3) + ", G loss " + gan.gLoss.toFixed(3));
    if (view.modes !== null) parts.push(view.modes + " of 8 modes covered");
    if (this.playing && this.stepsPerSecond) parts.push(Math.round(this.stepsPerSecond) + " steps/s");
    this.status.textContent = parts.join(" \u00b7 ");
    this.showSettings();
  };

  Trainer.prototype.fail = function (why) {
    this.root.dataset.state = "error";
    this.root.dataset.error = why;
    var note = this.root.querySelector(".dcgan-gan2d-why") || el("p", { "class": "dcgan-gan2d-why" });
    note.textContent = "The 2-D GAN trains in your browser, and here it cannot: " + why +
                       ". The animations above show the same GAN, trained with PyTorch when the book was built.";
    this.root.appendChild(note);
  };

  // --- loading TensorFlow.js when a trainer comes near ---------------------------------------

  /**
   * The WebAssembly backend multiplies matrices fast (XNNPACK) only when neither is transposed,
   * and the gradients of a matrix product are products with a transposed operand: measured in
   * headless Chromium, (256 x 128)^T (256 x 128) takes 11 ms, a transpose and the plain product
   * 0.4 ms. So BatchMatMul is registered again to transpose first, then call the backend's own
   * kernel. The arithmetic is the same; the gradients are still TensorFlow.js's.
   */
  function transposeFirst(tf) {
    var matMul = tf.getKernel("BatchMatMul", "wasm"), transpose = tf.getKernel("Transpose", "wasm");
    if (!matMul || !transpose) return;
    function transposed(x, backend) { // the last two axes swapped
      var perm = x.shape.map(function (_, i) { return i; }), r = perm.length;
      perm[r - 1] = r - 2;
      perm[r - 2] = r - 1;
      return transpose.kernelFunc({ inputs: { x: x }, backend: backend, attrs: { perm: perm } });
    }
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: function (args) {
      var attrs = args.attrs, backend = args.backend, a = args.inputs.a, b = args.inputs.b;
      if (!attrs.transposeA && !attrs.transposeB) return matMul.kernelFunc(args);
      var at = attrs.transposeA ? transposed(a, backend) : a, bt = attrs.transposeB ? transposed(b, backend) : b;
      var out = matMul.kernelFunc({ inputs: { a: at, b: bt }, backend: backend,
                                    attrs: Object.assign({}, attrs, { transposeA: false, transposeB: false }) });
      if (at !== a) backend.disposeData(at.dataId);
      if (bt !== b) backend.disposeData(bt.dataId);
      return out;
    } });
  }

  var tfPromise = null;
  function loadTf() {
    if (!tfPromise) {
      tfPromise = import(TFJS_DIR + "tf.es2017.min.mjs").then(function () {
        return import(TFJS_DIR + "tf-backend-wasm.es2017.min.mjs");
      }).then(function () {
        var tf = window.tf;
        tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // threads need a cross-origin-isolated page
        tf.wasm.setWasmPaths(TFJS_DIR); // the vendored files, never a CDN
        return tf.setBackend("wasm").then(function (ok) {
          if (!ok || tf.getBackend() !== "wasm") throw new Error("TensorFlow.js's WebAssembly backend did not start");
          return tf.ready().then(function () { transposeFirst(tf); return tf; });
        });
      });
    }
    return tfPromise;
  }

  function start(root) {
    if (root.dataset.state) return;
    root.dataset.state = "loading";
    if (typeof WebAssembly !== "object") {
      Trainer.prototype.fail.call({ root: root }, "your browser does not run WebAssembly");
      return;
    }
    loadTf().then(function (tf) {
      var trainer = new Trainer(root, tf);
      root.gan2d = trainer;
      window.dcganGan2d.push(trainer);
      root.dataset.state = "ready";
    }).catch(function (err) {
      Trainer.prototype.fail.call({ root: root }, String(err && err.message || err));
    });
  }

  function init() {
    var roots = Array.prototype.slice.call(document.querySelectorAll(".dcgan-gan2d"));
    if (!roots.length) return;
    if (!("IntersectionObserver" in window)) { roots.forEach(start); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { observer.unobserve(e.target); start(e.target); }
      });
    }, { rootMargin: "800px" }); // start loading a little before the reader arrives
    roots.forEach(function (r) { observer.observe(r); });
  }

  window.dcganGan2dModel = { GAN2D: GAN2D, Random: Random, TARGETS: TARGETS, modesCovered: modesCovered, TOY: TOY,
                             loadTf: loadTf };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
