/*
 * Chapter 8's runs panel: a grid of real MNIST runs of the package, browsed in the page.
 *
 * Every element <div class="dcgan-runs" data-grid="NAME"> becomes a panel over the runs in
 * _static/run-grid/NAME.json and the sample grids in its sprite sheet (both written by
 * scripts/runs_grid.py). Its controls are laid out as the kernel's TrainingPanel lays out the same
 * controls (G loss, lr of G, lr of D, Adam beta1, one per row, label on the left); each offers the
 * values of one axis of the grid, and together they choose the run shown. A slider moves over
 * the steps at which the run kept G(fixed_z): the grid of that step is shown, and the curves
 * (D loss and G loss; D(x) and D(G(z)), as chapter 6's plots: faint lines every kept step, solid
 * lines a running mean over 25 steps) are marked at that step.
 *
 * The runs are fetched when the reader comes near the panel (IntersectionObserver). For tests:
 * the element carries data-state (loading, ready, error), data-run (the index of the run shown in
 * the JSON's runs) and data-step (the step of the grid shown); window.dcganRuns lists the panels.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var STATIC = new URL(".", script ? script.src : document.baseURI).href; // .../_static/
  var RUNS_DIR = STATIC + "run-grid/"; // not "runs/": run folders are ignored everywhere else
  var WINDOW = 25; // steps in the running mean, as chapter 6's plots
  var COLOURS = { d_loss: "#1f77b4", g_loss: "#ff7f0e", d_real: "#2ca02c", d_fake: "#d62728" }; // matplotlib's tab:
  var LABELS = { d_loss: "D loss", g_loss: "G loss", d_real: "D(x)", d_fake: "D(G(z))" };
  var AXES = [["loss", "G loss"], ["lr_g", "lr of G"], ["lr_d", "lr of D"], ["beta1", "Adam beta1"]];
  window.dcganRuns = window.dcganRuns || [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function valueText(axis, v) {
    return axis.indexOf("lr") === 0 ? Number(v).toExponential(1).replace(".0e", "e") : String(v);
  }

  function smooth(values, n) { // running mean over the last n points (fewer at the start), as viz.smooth
    var out = [], sum = 0;
    for (var i = 0; i < values.length; i++) {
      sum += values[i];
      if (i >= n) sum -= values[i - n];
      out.push(sum / Math.min(i + 1, n));
    }
    return out;
  }

  function Panel(root, meta, sprite) {
    this.root = root;
    this.meta = meta;
    this.sprite = sprite;
    this.build();
    this.show();
  }

  Panel.prototype.build = function () {
    var self = this, meta = this.meta, rows = [];
    this.selects = {};
    AXES.forEach(function (pair) {
      var axis = pair[0], select = el("select", { "class": "dcgan-runs-" + axis.replace("_", "-"), "aria-label": pair[1] },
        meta.axes[axis].map(function (v) { return el("option", { value: String(v), text: valueText(axis, v) }); }));
      if (meta.start && meta.start[axis] !== undefined) select.value = String(meta.start[axis]); // the preset's run
      select.addEventListener("change", function () { self.show(); });
      self.selects[axis] = select;
      rows.push(el("label", { "class": "dcgan-runs-row" }, [el("span", { text: pair[1] }), select]));
    });
    var last = meta.sample_steps.length - 1;
    this.slider = el("input", { type: "range", "class": "dcgan-runs-step", min: "0", max: String(last), step: "1",
                                value: String(last), "aria-label": "step" });
    this.stepOut = el("output", {});
    this.slider.addEventListener("input", function () { self.draw(); });
    rows.push(el("label", { "class": "dcgan-runs-row" }, [el("span", { text: "step" }), this.slider, this.stepOut]));
    this.curves = el("canvas", { "class": "dcgan-runs-curves", "aria-label": "the run's curves" });
    this.grid = el("canvas", { "class": "dcgan-runs-grid", "aria-label": "G(fixed_z) at the chosen step" });
    this.caption = el("p", { "class": "dcgan-runs-caption", "aria-live": "polite" });
    var body = el("div", { "class": "dcgan-runs-body" }, [
      el("div", { "class": "dcgan-runs-controls" }, rows),
      el("div", { "class": "dcgan-runs-views" }, [this.curves, this.grid]),
      this.caption]);
    var fallback = this.root.querySelector(".dcgan-runs-fallback");
    if (fallback) fallback.hidden = true;
    this.root.insertBefore(body, this.root.firstChild);
  };

  /** The index of the run whose settings the controls show. */
  Panel.prototype.runIndex = function () {
    var selects = this.selects;
    return this.meta.runs.findIndex(function (run) {
      return AXES.every(function (pair) { return String(run[pair[0]]) === selects[pair[0]].value; });
    });
  };

  Panel.prototype.show = function () {
    this.index = this.runIndex();
    this.root.dataset.run = String(this.index);
    this.draw();
  };

  Panel.prototype.draw = function () {
    var meta = this.meta, run = meta.runs[this.index], k = Number(this.slider.value), step = meta.sample_steps[k];
    this.root.dataset.step = String(step);
    this.stepOut.textContent = String(step);
    this.drawCurves(run, step);
    this.drawGrid(k);
    this.caption.textContent = "Run " + (this.index + 1) + " of " + meta.runs.length + ": " + meta.preset + ", " +
      meta.steps + " steps in " + Math.round(run.seconds) + " s (" + run.loss + ", lr of G " + valueText("lr_g", run.lr_g) +
      ", lr of D " + valueText("lr_d", run.lr_d) + ", beta1 " + run.beta1 + "). At step " + step + ": " +
      this.at(run, step);
  };

  Panel.prototype.at = function (run, step) { // the running means at a step, in words
    var steps = this.meta.curve_steps, i = steps.length - 1;
    while (i > 0 && steps[i] > step) i--;
    if (step < steps[0]) return "G(fixed_z) before training.";
    var per = Math.max(1, Math.round(WINDOW / (steps[1] - steps[0] || 1)));
    return ["d_real", "d_fake", "d_loss", "g_loss"].map(function (key) {
      return LABELS[key] + " " + smooth(run[key], per)[i].toFixed(2);
    }).join(", ") + " (means over " + WINDOW + " steps).";
  };

  Panel.prototype.drawCurves = function (run, step) {
    var canvas = this.curves, ratio = window.devicePixelRatio || 1, w = canvas.clientWidth || 560, h = canvas.clientHeight || 200;
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    var ctx = canvas.getContext("2d"), steps = this.meta.curve_steps, last = this.meta.steps;
    var per = Math.max(1, Math.round(WINDOW / (steps[1] - steps[0] || 1)));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, w, h);
    var panels = [{ title: "Losses", keys: ["d_loss", "g_loss"] }, { title: "D's outputs", keys: ["d_real", "d_fake"], lo: 0, hi: 1 }];
    var pw = w / 2, pad = { l: 34, r: 8, t: 18, b: 22 };
    panels.forEach(function (p, n) {
      var x0 = n * pw + pad.l, x1 = (n + 1) * pw - pad.r, y0 = pad.t, y1 = h - pad.b;
      var lo = p.lo, hi = p.hi;
      if (lo === undefined) {
        lo = Infinity; hi = -Infinity;
        p.keys.forEach(function (k) { run[k].forEach(function (v) { lo = Math.min(lo, v); hi = Math.max(hi, v); }); });
        lo = Math.min(0, lo);
        hi = Math.min(hi, 10); // a diverged loss would flatten the rest; the axis stops at 10
      }
      var X = function (s) { return x0 + (x1 - x0) * s / last; };
      var Y = function (v) { return y1 - (y1 - y0) * (Math.min(Math.max(v, lo), hi) - lo) / (hi - lo || 1); };
      ctx.strokeStyle = "#999";
      ctx.lineWidth = 1;
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.fillStyle = "#333";
      ctx.font = "11px sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(p.title, (x0 + x1) / 2, 12);
      ctx.fillText("step", (x0 + x1) / 2, h - 4);
      ctx.textAlign = "right";
      ctx.fillText(hi.toFixed(hi >= 10 ? 0 : 1), x0 - 3, y0 + 8);
      ctx.fillText(lo.toFixed(1), x0 - 3, y1);
      if (p.lo === 0) {
        ctx.setLineDash([4, 3]);
        ctx.strokeStyle = "grey";
        ctx.beginPath(); ctx.moveTo(x0, Y(0.5)); ctx.lineTo(x1, Y(0.5)); ctx.stroke();
        ctx.setLineDash([]);
      }
      p.keys.forEach(function (k, j) {
        [[run[k], 0.25, 0.8], [smooth(run[k], per), 1, 1.5]].forEach(function (line) {
          ctx.globalAlpha = line[1];
          ctx.strokeStyle = COLOURS[k];
          ctx.lineWidth = line[2];
          ctx.beginPath();
          line[0].forEach(function (v, i) { if (i) ctx.lineTo(X(steps[i]), Y(v)); else ctx.moveTo(X(steps[i]), Y(v)); });
          ctx.stroke();
        });
        ctx.globalAlpha = 1;
        ctx.fillStyle = COLOURS[k];
        ctx.textAlign = "left";
        ctx.fillText(LABELS[k], x0 + 6 + 60 * j, y0 + 12);
      });
      ctx.strokeStyle = "black"; // the step the slider chose
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(X(step), y0); ctx.lineTo(X(step), y1); ctx.stroke();
    });
  };

  Panel.prototype.drawGrid = function (k) {
    var cell = this.meta.cell, canvas = this.grid, ctx = canvas.getContext("2d");
    canvas.width = cell[0];
    canvas.height = cell[1];
    ctx.drawImage(this.sprite, k * cell[0], this.index * cell[1], cell[0], cell[1], 0, 0, cell[0], cell[1]);
  };

  function fail(root, why) {
    root.dataset.state = "error";
    root.dataset.error = why;
    var note = el("p", { "class": "dcgan-runs-why", text: "The runs could not be loaded here (" + why + ")." });
    root.appendChild(note);
  }

  function start(root) {
    if (root.dataset.state) return;
    root.dataset.state = "loading";
    var name = root.dataset.grid;
    fetch(RUNS_DIR + name + ".json").then(function (r) {
      if (!r.ok) throw new Error(name + ".json: HTTP " + r.status);
      return r.json();
    }).then(function (meta) {
      return new Promise(function (resolve, reject) {
        var image = new Image();
        image.onload = function () { resolve([meta, image]); };
        image.onerror = function () { reject(new Error(meta.sprite + " did not load")); };
        image.src = RUNS_DIR + meta.sprite;
      });
    }).then(function (loaded) {
      var panel = new Panel(root, loaded[0], loaded[1]);
      window.dcganRuns.push(panel);
      root.dataset.state = "ready";
    }).catch(function (err) { fail(root, String(err && err.message || err)); });
  }

  function init() {
    var roots = Array.prototype.slice.call(document.querySelectorAll(".dcgan-runs"));
    if (!roots.length) return;
    if (!("IntersectionObserver" in window)) { roots.forEach(start); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { observer.unobserve(e.target); start(e.target); }
      });
    }, { rootMargin: "400px" }); // the runs load when the reader comes near the panel
    roots.forEach(function (r) { observer.observe(r); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
