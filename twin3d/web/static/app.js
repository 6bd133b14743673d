// twin3d browser view: the rig's GLB drawn with three.js, bent and coloured from the live
// state the server streams (binary frames, twin3d/web/frames.py), HUD facts from its `info`
// messages, two canvas plots, and mode shapes from /scene.json. Read-only: the page never
// sends anything on the socket.

const token = new URLSearchParams(location.search).get("token");
const q = token ? `?token=${encodeURIComponent(token)}` : "";
const $ = (id) => document.getElementById(id);

// --- the desktop scene's rules, in the page (tests compare them with twin3d.view) ----------
// drift colour map: twin3d/view/colours.py DRIFT_STOPS / DRIFT_COLOURS
export const DRIFT_STOPS = [0.0, 0.5, 1.0];
export const DRIFT_COLOURS = [[0.67, 0.70, 0.76, 1.0], [1.00, 0.72, 0.16, 1.0],
                              [0.95, 0.16, 0.10, 1.0]];

export function driftColour(ratio) {
  const r = Math.min(1, Math.max(0, Math.abs(ratio)));
  const i = r <= DRIFT_STOPS[1] ? 0 : 1;
  const f = (r - DRIFT_STOPS[i]) / (DRIFT_STOPS[i + 1] - DRIFT_STOPS[i]);
  return DRIFT_COLOURS[i].map((c, k) => c + f * (DRIFT_COLOURS[i + 1][k] - c));
}

// twin3d/view/colours.py nice_number: the largest of 1, 2, 5 x 10^k not above x
export function niceNumber(x) {
  if (!(x > 0)) return 1.0;
  const k = Math.floor(Math.log10(x));
  for (const m of [5.0, 2.0, 1.0]) if (m * 10 ** k <= x * (1 + 1e-9)) return m * 10 ** k;
  return 10 ** k;
}

// twin3d/view/magnifier.py Magnifier: a 1-2-5 factor so the largest recent motion spans
// about target_m; drops at once when motion grows, rises only after it stayed small
export class Magnifier {
  constructor(targetM, lo = 1.0, hi = 5000.0, decayS = 3.0) {
    Object.assign(this, { targetM, lo, hi, decayS, peakM: 0.0, factor: hi });
  }
  update(displacements, dt) {
    const now = displacements.length ? Math.max(...displacements.map(Math.abs)) : 0;
    this.peakM = Math.max(now, this.peakM * Math.exp(-Math.max(dt, 0) / this.decayS));
    const ideal = this.peakM <= 0 ? this.hi : Math.min(this.hi, this.targetM / this.peakM);
    const wanted = Math.max(this.lo, niceNumber(ideal));
    if (wanted < this.factor || wanted >= 2 * this.factor) this.factor = wanted;
    return this.factor;
  }
}

// twin3d/scenefile/meshes.py sway_displacement: (1 - w1) q[j0] + w1 q[j1]
export function swayDisplacement(j0, j1, w1, qv, out) {
  for (let i = 0; i < w1.length; i++) out[i] = (1 - w1[i]) * qv[j0[i]] + w1[i] * qv[j1[i]];
  return out;
}

// --- the stream's frame (twin3d/web/frames.py) ------------------------------------------
export function decodeFrame(buf) {
  const v = new DataView(buf);
  if (buf.byteLength < 48 || v.getUint32(0, false) !== 0x54335731) return null; // "T3W1"
  const nf = v.getUint16(4, true), np = v.getUint16(6, true);
  if (buf.byteLength !== 48 + 4 * (nf + 3 * np)) return null;
  const floors = new Float32Array(buf.slice(48, 48 + 4 * nf));
  const plot = new Float32Array(buf.slice(48 + 4 * nf));
  return { seq: v.getUint32(8, true), tWall: v.getFloat64(12, true), t: v.getFloat64(20, true),
           table: v.getFloat32(28, true), angle: v.getFloat32(32, true),
           rpm: v.getFloat32(36, true), plotDt: v.getFloat32(40, true),
           plotEnd: v.getFloat64(20, true) - v.getFloat32(44, true), floors, plot, np };
}

const twin = (window.__twin = { frames: 0, infos: 0, renders: 0, firstFrameAt: null,
  firstDrawAt: null,
  ready: false, gl: null, frame: null, info: null, reconnects: 0, error: "",
  driftColour, niceNumber, Magnifier, swayDisplacement, decodeFrame });

// --- plots: the last 10 s, drawn on 2D canvases -----------------------------------------
class Plot {
  constructor(canvas, colours, labels, windowS = 10) {
    Object.assign(this, { canvas, colours, labels, windowS, t: [], ys: colours.map(() => []) });
  }
  clear() { this.t = []; this.ys = this.ys.map(() => []); }
  push(t, values) {
    this.t.push(t);
    values.forEach((y, k) => this.ys[k].push(y));
    while (this.t.length && this.t[this.t.length - 1] - this.t[0] > this.windowS) {
      this.t.shift(); this.ys.forEach((y) => y.shift());
    }
  }
  draw() {
    const c = this.canvas, g = c.getContext("2d"), w = c.width, h = c.height;
    g.clearRect(0, 0, w, h);
    if (this.t.length < 2) return;
    let lo = Infinity, hi = -Infinity;
    for (const y of this.ys) for (const v of y) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!Number.isFinite(lo)) return;
    if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
    const t1 = this.t[this.t.length - 1], t0 = t1 - this.windowS;
    const X = (t) => ((t - t0) / this.windowS) * (w - 50) + 45;
    const Y = (v) => h - 8 - ((v - lo) / (hi - lo)) * (h - 22);
    g.font = "11px system-ui"; g.fillStyle = "#8f9ab0";
    g.fillText(hi.toPrecision(3), 2, 12); g.fillText(lo.toPrecision(3), 2, h - 4);
    this.ys.forEach((y, k) => {
      g.strokeStyle = this.colours[k]; g.lineWidth = 1.2; g.beginPath();
      let pen = false;
      for (let i = 0; i < y.length; i++) {
        if (!Number.isFinite(y[i])) { pen = false; continue; }
        if (pen) g.lineTo(X(this.t[i]), Y(y[i])); else g.moveTo(X(this.t[i]), Y(y[i]));
        pen = true;
      }
      g.stroke();
      if (this.labels[k]) { g.fillStyle = this.colours[k]; g.fillText(this.labels[k], w - 70, 12 + 13 * k); }
    });
  }
}

// --- HUD ----------------------------------------------------------------------------------
const fmtHz = (fs) => (fs && fs.length ? fs.map((f) => (f === null ? "-" : f < 10 ? f.toFixed(2) : f.toFixed(1))).join(" ") + " Hz" : "-");
export function hudText(info) {
  const c = info.counters || {};
  const bad = (c.invalid || 0) + (c.crc_errors || 0) + (c.duplicates || 0);
  return {
    source: `${info.source}${info.sample_rate_hz ? `  ${Math.round(info.sample_rate_hz)} Hz` : ""}`,
    status: `${info.status}  (estimator: ${info.estimator})`,
    time: `${info.t.toFixed(2)} s`,
    speed: `${info.speed_rpm.toFixed(1)} rpm  (${(info.speed_rpm / 60).toFixed(2)} Hz)`,
    tracked: fmtHz(info.tracked_hz), model: fmtHz(info.model_hz),
    counters: `${c.blocks || 0}  gaps ${c.gaps || 0}  bad ${bad}  restarts ${c.seq_resets || 0}`,
    alarm: info.alarm || (info.status !== "ok" && info.status !== "waiting" ? `rig: ${info.status.toUpperCase()}` : ""),
  };
}
twin.hudText = hudText;

function showInfo(info) {
  twin.info = info; twin.infos++;
  const h = hudText(info);
  for (const k of ["source", "status", "time", "speed", "tracked", "model", "counters"]) $(`hud-${k}`).textContent = h[k];
  $("hud-alarm").textContent = h.alarm || (info.last_error ? `source: ${info.last_error}` : "");
  if (info.tools) $("tools-body").textContent = info.tools;
}

// --- the stream -------------------------------------------------------------------------
let plots = null;
function onFrame(f) {
  if (twin.firstFrameAt === null) twin.firstFrameAt = performance.now();
  if (twin.frame && f.t < twin.frame.t - 1.0) { plots.acc.clear(); plots.rpm.clear(); }
  twin.frame = f; twin.frames++;
  for (let i = 0; i < f.np; i++) {
    const t = f.plotEnd - (f.np - 1 - i) * f.plotDt;
    plots.acc.push(t, [f.plot[3 * i], f.plot[3 * i + 1]]);
    plots.rpm.push(t, [f.plot[3 * i + 2]]);
  }
  if (f.np === 0) plots.rpm.push(f.t, [f.rpm]);
}

function connect(delay = 500) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${q}`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") {
      try { const m = JSON.parse(ev.data); if (m.type === "info") showInfo(m); } catch (e) { twin.error = String(e); }
    } else {
      const f = decodeFrame(ev.data);
      if (f) onFrame(f);
    }
  };
  ws.onopen = () => { $("conn").firstChild.textContent = "viewer of a read-only stream · "; delay = 500; };
  ws.onclose = () => {  // the server went away: try again, slower each time (at most 10 s)
    $("conn").firstChild.textContent = "connection lost, retrying… · ";
    twin.reconnects++;
    setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  };
  twin.ws = ws;
}

// --- the 3D scene -----------------------------------------------------------------------
function webglAvailable() {
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch (e) { return false; }
}

async function buildScene(THREE, OrbitControls, GLTFLoader, scene, sway) {
  const canvas = $("rig");
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const world = new THREE.Scene();
  world.background = new THREE.Color(0.07, 0.08, 0.10);
  const camera = new THREE.PerspectiveCamera(36, 1, 0.01, 50);
  const H = scene.height_m;
  const target = new THREE.Vector3(0.1, H * 0.45, 0);
  // the desktop's "iso" preset: yaw -35 deg, pitch 22 deg, distance 2.6 H + 0.9
  const d = 2.6 * H + 0.9, yaw = (-35 * Math.PI) / 180, pitch = (22 * Math.PI) / 180;
  camera.position.set(target.x + Math.sin(yaw) * Math.cos(pitch) * d, target.y + Math.sin(pitch) * d,
                      target.z + Math.cos(yaw) * Math.cos(pitch) * d);
  const controls = new OrbitControls(camera, canvas);  // mouse and touch: orbit, pinch zoom
  controls.target.copy(target);
  controls.minDistance = 0.25 * d; controls.maxDistance = 4 * d;
  controls.update();
  world.add(new THREE.AmbientLight(0xffffff, 1.2));
  const sun = new THREE.DirectionalLight(0xffffff, 2.2);
  sun.position.set(-0.5, 1.6, 1.1);
  world.add(sun);
  const grid = new THREE.GridHelper(4, 40, 0x4d5461, 0x30343c);
  grid.position.y = -scene.table_depth_m - 0.03;
  world.add(grid);

  const gltf = await new GLTFLoader().loadAsync(`/rig.glb${q}`);
  const byName = new Map(sway.nodes.map((n) => [n.name, n]));
  const pivot = new THREE.Group();
  pivot.position.fromArray(sway.rotor_pivot);
  const table = new THREE.Group();
  const structure = [];
  const meshes = [];
  gltf.scene.traverse((o) => { if (o.isMesh) meshes.push(o); });
  for (const m of meshes) {
    const n = byName.get(m.name);
    if (!n || m.geometry.attributes.position.count !== n.n) throw new Error(`mesh ${m.name} does not match its sway weights`);
    // flat shading: normals from the bent positions each frame, like the desktop's face normals
    m.material = new THREE.MeshStandardMaterial({ vertexColors: true, flatShading: true, metalness: 0.25, roughness: 0.55 });
    if (n.role === "structure") {
      const pos = m.geometry.attributes.position;
      pos.setUsage(THREE.DynamicDrawUsage);
      const storey = n.j0.map((j, i) => (n.j1[i] === j + 1 ? j : -1));
      structure.push({ mesh: m, base: Float32Array.from(pos.array), j0: n.j0, j1: n.j1,
                       w1: n.w1, dx: new Float64Array(n.n), leg: m.name.startsWith("leg"), storey });
      world.add(m);
    } else if (n.role === "table") table.add(m);
    else if (n.role === "rotor") {
      m.position.sub(pivot.position); pivot.add(m);
    } else world.add(m);
  }
  world.add(table, pivot);
  twin.structure = structure;

  function resize() {
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.floor(w * renderer.getPixelRatio()) || canvas.height !== Math.floor(h * renderer.getPixelRatio())) {
      renderer.setSize(w, h, false);
      camera.aspect = w / Math.max(h, 1); camera.updateProjectionMatrix();
    }
  }

  // q = [x_g, x_g + u_1, ..., x_g + u_N] as drawn (magnified); drift ratios per storey
  function pose(qv, theta, drift) {
    for (const s of structure) {
      const pos = s.mesh.geometry.attributes.position, a = pos.array;
      swayDisplacement(s.j0, s.j1, s.w1, qv, s.dx);
      for (let i = 0; i < s.dx.length; i++) a[3 * i] = s.base[3 * i] + s.dx[i];
      pos.needsUpdate = true;
      if (s.leg && drift) {
        const col = s.mesh.geometry.attributes.color, cs = drift.map(driftColour);
        for (let i = 0; i < s.storey.length; i++) {
          const k = s.storey[i];
          if (k >= 0) col.setXYZ(i, cs[k][0], cs[k][1], cs[k][2]);
        }
        col.needsUpdate = true;
      }
      s.mesh.geometry.computeBoundingSphere();
    }
    table.position.x = qv[0];
    pivot.rotation.z = theta;
  }
  twin.pose = pose;
  return { renderer, world, camera, controls, resize, pose };
}

async function main() {
  const scene = await (await fetch(`/scene.json${q}`)).json();
  twin.scene = scene;
  $("title").textContent = scene.title;
  $("status-link").href = `/status${q}`;
  $("legend-limit").textContent = `${(1000 * scene.drift_limit_m).toFixed(1)} mm limit`;
  $("legend-bar").style.background = `linear-gradient(90deg, ${DRIFT_COLOURS.map((c) => `rgb(${c.slice(0, 3).map((v) => Math.round(255 * v)).join(",")})`).join(",")})`;
  $("plot-acc-title").textContent = `acceleration (m/s²): ${scene.plots.acceleration.join(", ")}`;
  plots = { acc: new Plot($("plot-acc"), ["#59bfff", "#ffb833"], scene.plots.acceleration),
            rpm: new Plot($("plot-rpm"), ["#99f299"], [""]) };
  twin.plots = plots;
  connect();

  // mode shapes on demand: a button per mode, "live" to go back
  let playing = null;  // {k, f, slow, t0}
  const modesBox = $("modes");
  const buttons = [];
  const addButton = (label, k) => {
    const b = document.createElement("button");
    b.textContent = label; b.setAttribute("aria-pressed", String(k === null));
    b.onclick = () => {
      playing = k === null ? null : { k, f: scene.modes.frequencies_hz[k], slow: niceNumber(scene.modes.frequencies_hz[k] / 0.6), t0: performance.now() };
      buttons.forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
    };
    buttons.push(b); modesBox.append(b);
  };
  addButton("live", null);
  scene.modes.frequencies_hz.forEach((f, k) => addButton(`mode ${k + 1} · ${f.toFixed(1)} Hz`, k));
  twin.playMode = (k) => buttons[k === null ? 0 : k + 1].click();

  twin.gl = webglAvailable();
  let view = null;
  if (!twin.gl) {
    $("nogl").hidden = false;
    $("rig").hidden = true;
  } else {
    const THREE = await import("three");
    const { OrbitControls } = await import("three/addons/controls/OrbitControls.js");
    const { GLTFLoader } = await import("three/addons/loaders/GLTFLoader.js");
    const sway = await (await fetch(`/rig/sway.json${q}`)).json();
    twin.sway = sway;
    view = await buildScene(THREE, OrbitControls, GLTFLoader, scene, sway);
  }
  const mag = new Magnifier(scene.magnify_target_m);
  let last = performance.now();
  function frameLoop(now) {
    const dt = (now - last) / 1000; last = now;
    let u, xg = 0, theta = 0, caption, sub = "";
    if (playing) {
      const t = (now - playing.t0) / 1000 / playing.slow;
      const c = Math.cos(2 * Math.PI * playing.f * t);
      // the largest DOF moves 1 mm, as ModeFeed; floors relative to the base, which moves too
      // where it is a DOF (a frame on rails or springs)
      u = scene.modes.shapes[playing.k].map((p) => 1e-3 * p * c);
      xg = 1e-3 * scene.modes.base[playing.k] * c;
      caption = `mode ${playing.k + 1}, ${playing.f.toFixed(2)} Hz, damping ${(100 * scene.modes.damping[playing.k]).toFixed(2)} %, ${playing.slow} x slower`;
    } else if (twin.frame) {
      const f = twin.frame;
      u = Array.from(f.floors); xg = f.table; theta = f.angle;
      caption = twin.info ? twin.info.source : "live";
      sub = "live state, streamed";
    } else { u = new Array(scene.n_storeys).fill(0); caption = "waiting for the first frame…"; }
    const absolute = [xg, ...u.map((x) => xg + x)];
    const m = mag.update(absolute, dt);
    $("hud-mag").textContent = `x${m}`;
    $("cap-main").textContent = playing ? `${caption}, displacement x${m}` : caption;
    $("cap-sub").textContent = sub;
    const drift = u.map((x, i) => Math.abs(x - (i ? u[i - 1] : 0)) / scene.drift_limit_m);
    if (view) {
      view.resize();
      view.pose(absolute.map((x) => m * x), theta, drift);
      view.controls.update();
      view.renderer.render(view.world, view.camera);
      twin.renders++;
    }
    if (twin.firstDrawAt === null && twin.frame && !playing) twin.firstDrawAt = performance.now();
    plots.acc.draw(); plots.rpm.draw();
    requestAnimationFrame(frameLoop);
  }
  twin.ready = true;
  requestAnimationFrame(frameLoop);
}

main().catch((e) => { twin.error = String(e && e.stack || e); $("cap-main").textContent = `error: ${e}`; });
