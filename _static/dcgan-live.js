/*
 * The book's live latent explorer: a trained generator running in the reader's browser.
 *
 * Every element <div class="dcgan-live" data-model="NAME"> becomes an explorer of the exported
 * generator _static/models/NAME.onnx (written by scripts/export_live_models.py, described by
 * NAME.json). The noise is
 *
 *     z = path(z_A, z_B, t) + sum_i a_i * d_i
 *
 * as in dcgan_tutorial's LatentExplorer: path is slerp (or lerp) between two noise vectors,
 * d_i the explorer's orthonormal directions (from NAME.json) and a_i the slider positions. At
 * the start z_A and z_B are the noise of seeds 0 and 1 (sample_noise(1, nz, seed) in Python).
 *
 * ONNX Runtime Web (WebAssembly backend, one thread) is imported from _static/onnxruntime-web/
 * only when a page holds an explorer and the reader scrolls near it. Where it cannot run (no
 * JavaScript, no WebAssembly), the element keeps its stored picture and says why.
 *
 * For tests: each element carries data-state (loading, ready, error), data-z (the z of the
 * picture on the canvas, JSON), data-label (conditional models), data-renders (a count) and
 * data-pending (1 while a new picture is being computed); window.dcganLive lists the explorers.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var STATIC = new URL(".", script ? script.src : document.baseURI).href; // .../_static/
  var ORT_DIR = STATIC + "onnxruntime-web/";
  var MODEL_DIR = STATIC + "models/";
  var SPAN = 3; // slider range, in units of the noise's standard deviation (as LatentExplorer)
  window.dcganLive = window.dcganLive || [];

  // A 30-byte module using one SIMD instruction (from wasm-feature-detect): the runtime's
  // WebAssembly build needs SIMD.
  var SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
                    15, 253, 98, 11];

  function missingFeature() {
    if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") {
      return "your browser does not run WebAssembly";
    }
    if (!WebAssembly.validate(new Uint8Array(SIMD_PROBE))) {
      return "your browser's WebAssembly lacks SIMD instructions";
    }
    if (typeof fetch !== "function" || typeof Float32Array !== "function" || typeof BigInt64Array !== "function") {
      return "your browser lacks fetch or typed arrays";
    }
    return null;
  }

  var ortPromise = null;
  function loadOrt() {
    if (!ortPromise) {
      ortPromise = import(ORT_DIR + "ort.wasm.min.mjs").then(function (ort) {
        ort.env.wasm.wasmPaths = ORT_DIR; // the vendored files, never a CDN
        ort.env.wasm.numThreads = 1; // threads need a cross-origin-isolated page; a static host gives none
        ort.env.wasm.proxy = false;
        return ort;
      });
    }
    return ortPromise;
  }

  function gaussian(n) {
    var out = new Float64Array(n);
    for (var i = 0; i < n; i += 2) { // Box-Muller: two normal numbers from two uniform ones
      var u = 1 - Math.random(), v = Math.random();
      var r = Math.sqrt(-2 * Math.log(u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  // Spherical interpolation, as dcgan_tutorial's slerp: noise lies near a sphere, and the straight
  // line between two points passes closer to the centre, where G rarely saw any z.
  function slerp(a, b, t) {
    if (t <= 0) return Float64Array.from(a);
    if (t >= 1) return Float64Array.from(b);
    var dot = 0, na = 0, nb = 0;
    for (var i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    var omega = Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb))));
    var s = Math.sin(omega);
    if (Math.abs(s) < 1e-6) return lerp(a, b, t);
    var w0 = Math.sin((1 - t) * omega) / s, w1 = Math.sin(t * omega) / s;
    return a.map(function (x, k) { return w0 * x + w1 * b[k]; });
  }

  function lerp(a, b, t) {
    return a.map(function (x, k) { return (1 - t) * x + t * b[k]; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function showFallback(root, why) {
    root.dataset.state = "error";
    root.dataset.error = why;
    var body = root.querySelector(".dcgan-live-body");
    if (body) body.hidden = true;
    var fallback = root.querySelector(".dcgan-live-fallback");
    if (fallback) fallback.hidden = false;
    var note = root.querySelector(".dcgan-live-why") || el("p", { "class": "dcgan-live-why" });
    note.textContent = "The live explorer runs the generator in your browser, and here it cannot: " + why +
                       ". The picture shows samples of the same generator, stored when the book was built.";
    (fallback || root).appendChild(note);
  }

  function Explorer(root) {
    this.root = root;
    this.name = root.dataset.model;
    this.label = parseInt(root.dataset.class || "0", 10);
    this.t = 0;
    this.path = "slerp";
    this.position = [];
    this.z = null; // the z of the picture on the canvas (Float32Array)
    this.renders = 0;
    this.running = false;
    this.pending = false;
    root.dataset.state = "loading";
    root.dataset.pending = "1";
  }

  Explorer.prototype.build = function (meta) {
    var self = this, root = this.root;
    this.meta = meta;
    this.zA = Float64Array.from(meta.start.z[0]);
    this.zB = Float64Array.from(meta.start.z[1]);
    this.directions = meta.directions.vectors.map(function (v) { return Float64Array.from(v); });
    this.position = this.directions.map(function () { return 0; });
    var size = meta.image_size;
    this.canvas = el("canvas", { "class": "dcgan-live-canvas", width: size, height: size,
                                 role: "img", "aria-label": "the generator's image for the current z" });
    this.status = el("p", { "class": "dcgan-live-status", text: "loading the generator..." });
    var controls = el("div", { "class": "dcgan-live-controls" });

    function row(text, input, output) {
      var label = el("label", { "class": "dcgan-live-row" }, [el("span", { text: text }), input]);
      if (output) label.appendChild(output);
      controls.appendChild(label);
    }
    if (meta.n_classes > 0) {
      this.picker = el("select", { "class": "dcgan-live-class" });
      for (var c = 0; c < meta.n_classes; c++) {
        var option = el("option", { value: String(c), text: String(c) });
        if (c === this.label) option.selected = true;
        this.picker.appendChild(option);
      }
      this.picker.addEventListener("change", function () { self.label = parseInt(self.picker.value, 10); self.render(); });
      row("digit", this.picker);
    }
    this.sliders = this.directions.map(function (_, i) {
      var slider = el("input", { type: "range", "class": "dcgan-live-slider", min: -SPAN, max: SPAN, step: 0.05,
                                 value: 0, "data-direction": i });
      var out = el("output", { text: "+0.00" });
      slider.addEventListener("input", function () {
        self.position[i] = parseFloat(slider.value);
        out.textContent = (self.position[i] >= 0 ? "+" : "") + self.position[i].toFixed(2);
        self.render();
      });
      row("direction " + (i + 1), slider, out);
      slider.output = out;
      return slider;
    });
    this.tSlider = el("input", { type: "range", "class": "dcgan-live-t", min: 0, max: 1, step: 0.01, value: 0 });
    this.tOut = el("output", { text: "0.00" });
    this.tSlider.addEventListener("input", function () { self.setT(parseFloat(self.tSlider.value)); });
    row("z A \u2192 z B (t)", this.tSlider, this.tOut);
    this.pathPicker = el("select", { "class": "dcgan-live-path" }, [
      el("option", { value: "slerp", text: "slerp (sphere)" }),
      el("option", { value: "lerp", text: "lerp (line)" })]);
    this.pathPicker.addEventListener("change", function () { self.path = self.pathPicker.value; self.render(); });
    row("path", this.pathPicker);

    var buttons = el("div", { "class": "dcgan-live-buttons" });
    function button(cls, text, onclick) {
      var b = el("button", { type: "button", "class": cls, text: text });
      b.addEventListener("click", onclick);
      buttons.appendChild(b);
      return b;
    }
    button("dcgan-live-new", "new z", function () { self.stopWalk(); self.zA = gaussian(meta.nz); self.setT(0); });
    button("dcgan-live-new-b", "new end point", function () {
      self.stopWalk(); self.zB = gaussian(meta.nz); self.setT(1);
    });
    this.walkButton = button("dcgan-live-walk", "walk A \u2192 B", function () {
      if (self.walking) self.stopWalk(); else self.startWalk();
    });
    button("dcgan-live-reset", "reset", function () { self.reset(); });
    controls.appendChild(buttons);

    var body = el("div", { "class": "dcgan-live-body" }, [
      el("div", { "class": "dcgan-live-picture" }, [this.canvas, this.status]), controls]);
    root.insertBefore(body, root.firstChild);
    var fallback = root.querySelector(".dcgan-live-fallback");
    if (fallback) fallback.hidden = true;
  };

  Explorer.prototype.setT = function (t) {
    this.t = Math.max(0, Math.min(1, t));
    this.tSlider.value = String(this.t);
    this.tOut.textContent = this.t.toFixed(2);
    this.render();
  };

  Explorer.prototype.startWalk = function () {
    var self = this, from = this.t >= 1 ? 1 : this.t, to = this.t >= 1 ? 0 : 1, seconds = 3, start = null;
    this.walking = true;
    this.walkButton.textContent = "stop";
    function step(now) {
      if (!self.walking) return;
      if (start === null) start = now;
      var f = Math.min(1, (now - start) / (1000 * seconds * Math.abs(to - from)));
      self.setT(from + (to - from) * f);
      if (f < 1) requestAnimationFrame(step); else self.stopWalk();
    }
    requestAnimationFrame(step);
  };

  Explorer.prototype.stopWalk = function () {
    this.walking = false;
    if (this.walkButton) this.walkButton.textContent = "walk A \u2192 B";
  };

  Explorer.prototype.reset = function () {
    this.stopWalk();
    this.zA = Float64Array.from(this.meta.start.z[0]);
    this.zB = Float64Array.from(this.meta.start.z[1]);
    var self = this;
    this.sliders.forEach(function (s, i) { s.value = "0"; s.output.textContent = "+0.00"; self.position[i] = 0; });
    this.setT(0);
  };

  Explorer.prototype.latent = function () {
    var z = (this.path === "lerp" ? lerp : slerp)(this.zA, this.zB, this.t);
    for (var i = 0; i < this.directions.length; i++) {
      var a = this.position[i], d = this.directions[i];
      if (a) for (var k = 0; k < z.length; k++) z[k] += a * d[k];
    }
    return Float32Array.from(z);
  };

  // One run at a time: moves that arrive while G runs are folded into one more run afterwards.
  Explorer.prototype.render = function () {
    if (!this.session) return Promise.resolve();
    if (this.running) { this.pending = true; return Promise.resolve(); }
    var self = this, z = this.latent(), label = this.label, nz = this.meta.nz;
    this.running = true;
    this.root.dataset.pending = "1";
    var feeds = { z: new this.ort.Tensor("float32", z, [1, nz]) };
    if (this.meta.n_classes > 0) feeds.labels = new this.ort.Tensor("int64", BigInt64Array.from([BigInt(label)]), [1]);
    var started = performance.now();
    return this.session.run(feeds).then(function (out) {
      self.draw(out.images.data);
      self.z = z;
      self.renders += 1;
      var norm = Math.sqrt(z.reduce(function (s, x) { return s + x * x; }, 0));
      self.root.dataset.z = JSON.stringify(Array.from(z));
      self.root.dataset.renders = String(self.renders);
      if (self.meta.n_classes > 0) self.root.dataset.label = String(label);
      self.status.textContent = (self.meta.n_classes > 0 ? "digit " + label + ", " : "") + "|z| = " +
        norm.toFixed(1) + ", " + (performance.now() - started).toFixed(0) + " ms in your browser";
    }).catch(function (err) {
      showFallback(self.root, "the generator failed to run (" + err.message + ")");
    }).then(function () {
      self.running = false;
      if (self.pending) { self.pending = false; return self.render(); }
      self.root.dataset.pending = "0";
    });
  };

  // images: (1, nc, S, S) in [-1, 1] -> the canvas at native size, pixel = round((x + 1) / 2 * 255)
  Explorer.prototype.draw = function (data) {
    var size = this.meta.image_size, nc = this.meta.nc, plane = size * size;
    var ctx = this.canvas.getContext("2d");
    var image = ctx.createImageData(size, size);
    for (var p = 0; p < plane; p++) {
      for (var c = 0; c < 3; c++) {
        var x = data[(nc === 1 ? 0 : c) * plane + p];
        image.data[4 * p + c] = Math.max(0, Math.min(255, Math.round((x + 1) * 127.5)));
      }
      image.data[4 * p + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  };

  Explorer.prototype.start = function () {
    var self = this;
    return Promise.all([loadOrt(), fetch(MODEL_DIR + this.name + ".json").then(function (r) {
      if (!r.ok) throw new Error("no model description " + self.name + ".json (HTTP " + r.status + ")");
      return r.json();
    })]).then(function (loaded) {
      self.ort = loaded[0];
      self.build(loaded[1]);
      return self.ort.InferenceSession.create(MODEL_DIR + loaded[1].onnx, { executionProviders: ["wasm"] });
    }).then(function (session) {
      self.session = session;
      self.root.dataset.state = "ready";
      return self.render();
    }).catch(function (err) {
      showFallback(self.root, "the generator could not be loaded (" + (err && err.message || err) + ")");
    });
  };

  function init() {
    var roots = Array.prototype.slice.call(document.querySelectorAll(".dcgan-live"));
    if (!roots.length) return; // no explorer on this page: load nothing
    var why = missingFeature();
    roots.forEach(function (root) {
      if (why) { showFallback(root, why); return; }
      var explorer = new Explorer(root);
      window.dcganLive.push(explorer);
      if (typeof IntersectionObserver !== "function") { explorer.start(); return; }
      // the runtime is 14 MB: fetch it when the reader comes near the explorer, not on page load
      var observer = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) { observer.disconnect(); explorer.start(); }
      }, { rootMargin: "600px" });
      observer.observe(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
