// Run the dashboard's own script in node against a tiny DOM that never parses
// HTML, feed render() a status whose names carry markup and quotes, and check they
// come out as exact text, no element was made from them, and the drain button's
// handler calls the API for exactly that pool.
// usage: node render_names.js DASHBOARD_HTML
"use strict";
const fs = require("fs");
const vm = require("vm");
const assert = require("assert");

const html = fs.readFileSync(process.argv[2], "utf8");
const script = html.split("<script>")[1].split("</script>")[0];

const created = [];
class Node {
  constructor(tag) { this.tag = tag; this.children = []; this.attrs = {}; this.listeners = {}; this.text = ""; this.className = ""; this.value = ""; }
  appendChild(c) { this.children.push(c); return c; }
  replaceChildren(...cs) { this.children = cs; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  addEventListener(ev, fn) { (this.listeners[ev] = this.listeners[ev] || []).push(fn); }
  set textContent(v) { this.children = []; this.text = String(v); }
  get textContent() { return this.text + this.children.map(c => c.textContent).join(""); }
  set innerHTML(v) { throw new Error("innerHTML used: " + v); }
  getContext() { return new Proxy({}, { get: () => () => {} }); }
  get width() { return 1200; }
  get height() { return 120; }
}
const byId = {};
const document = {
  getElementById: id => (byId[id] = byId[id] || new Node("#" + id)),
  querySelector: sel => (byId[sel] = byId[sel] || new Node(sel)),
  createElement: tag => { const n = new Node(tag); created.push(tag); return n; },
  createTextNode: t => { const n = new Node("#text"); n.text = String(t); return n; },
};
const fetched = [];
const sandbox = {
  document,
  sessionStorage: { getItem: () => "", setItem: () => {} },
  performance: { now: () => 0 },
  setInterval: () => 0,
  alert: () => {},
  console,
  fetch: (path, opts) => { fetched.push([opts && opts.method, path]); return new Promise(() => {}); },
};
vm.createContext(sandbox);
vm.runInContext(script + "\n;globalThis.render = render;", sandbox);

const pool = "a'b<i>x</i>\"";
const route = "r<img src=x onerror=alert(1)>";
sandbox.render({
  version: "0", uptime_s: 1, workers: 1, generation: 1,
  pools: [{ name: pool, balance: "round_robin", servers: [{ addr: "127.0.0.1:1", state: "up\" onmouseover=\"x", in_flight: 0, requests: 0, errors: 0, last_check: null }] }],
  routes: [{ name: route, pool: pool, requests: 0, errors: 0, p50_ms: null, p99_ms: null }],
});

for (const tag of ["i", "img", "script"]) assert(!created.includes(tag), `element <${tag}> created from a name`);
const rows = byId["#pools tbody"].children;
assert.strictEqual(rows.length, 1);
assert.strictEqual(rows[0].attrs["data-pool"], pool);
assert.strictEqual(rows[0].children[0].textContent, pool);
const stateSpan = rows[0].children[3].children[0];
assert.strictEqual(stateSpan.className, "state ", "an unknown state must not become a class");
const routeRow = byId["#routes tbody"].children[0];
assert.strictEqual(routeRow.children[0].textContent, route);
assert.strictEqual(routeRow.children[1].textContent, pool);
// The drain button acts on exactly this pool.
const drain = rows[0].children[8].children.find(c => c.className === "drain");
fetched.length = 0;
drain.listeners.click[0]();
assert.deepStrictEqual(fetched[0], ["POST", `/api/v1/pools/${encodeURIComponent(pool)}/servers/127.0.0.1%3A1/drain`]);
console.log("ok");
