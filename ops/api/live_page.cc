#include "ops/api/live_page.h"

namespace couponflow::ops {

// Plain HTML and a little JavaScript, no build step: the page asks GET /api/coupons for
// the catalog, then GET /api/coupons/{id} for each coupon, once a second. A coupon whose
// partition is moving or restoring shows "unavailable" rather than an old number.
std::string_view live_page_html() {
  static constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>couponflow: live coupons</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2330; }
  h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
  #updated { color: #667; font-size: 0.9rem; margin-bottom: 1rem; }
  table { border-collapse: collapse; min-width: 40rem; }
  th, td { padding: 0.35rem 0.8rem; border-bottom: 1px solid #dde; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  th { background: #f3f4f8; }
  .bar { width: 14rem; text-align: left; }
  td.bar .track { height: 0.8rem; background: #e6e9f2; border-radius: 2px; }
  td.bar .fill { height: 100%; background: #3b7ddd; border-radius: 2px; }
  tr.soldout td { color: #a33; }
  tr.unavailable td { color: #999; font-style: italic; }
  tfoot td { font-weight: 600; }
</style>
</head>
<body>
<h1>Coupons, live</h1>
<div id="updated">loading…</div>
<table>
  <thead><tr><th>coupon</th><th>capacity</th><th>issued</th><th>remaining</th><th class="bar">share issued</th></tr></thead>
  <tbody id="rows"></tbody>
  <tfoot><tr><td id="t-label">total</td><td id="t-capacity"></td><td id="t-issued"></td><td id="t-remaining"></td><td></td></tr></tfoot>
</table>
<script>
"use strict";
const rows = document.getElementById("rows");

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function coupon(id) {
  const res = await fetch("/api/coupons/" + encodeURIComponent(id), {cache: "no-store"});
  if (res.status === 200) return await res.json();
  return {couponId: id, unavailable: res.status === 404 ? "unknown" : "unavailable"};
}

// Natural order: coupon-2 before coupon-10.
const byId = (a, b) => a.couponId.localeCompare(b.couponId, undefined, {numeric: true});

async function refresh() {
  try {
    const listed = await fetch("/api/coupons", {cache: "no-store"});
    if (listed.status !== 200) throw new Error("GET /api/coupons answered " + listed.status);
    const list = await listed.json();
    const coupons = (await Promise.all(list.coupons.map(coupon))).sort(byId);
    const body = document.createDocumentFragment();
    let capacity = 0, issued = 0, remaining = 0, unavailable = 0;
    for (const c of coupons) {
      const tr = document.createElement("tr");
      tr.dataset.coupon = c.couponId;
      tr.appendChild(cell(c.couponId));
      if (c.unavailable) {
        tr.className = "unavailable";
        unavailable += 1;
        tr.appendChild(cell(c.unavailable));
        tr.appendChild(cell(""));
        tr.appendChild(cell(""));
        tr.appendChild(cell(""));
      } else {
        capacity += c.capacity; issued += c.issued; remaining += c.remaining;
        if (c.remaining === 0) tr.className = "soldout";
        tr.appendChild(cell(c.capacity, "capacity"));
        tr.appendChild(cell(c.issued, "issued"));
        tr.appendChild(cell(c.remaining, "remaining"));
        const bar = cell("", "bar");
        const track = document.createElement("div");
        track.className = "track";
        const fill = document.createElement("div");
        fill.className = "fill";
        fill.style.width = (c.capacity > 0 ? Math.min(100, 100 * c.issued / c.capacity) : 0) + "%";
        track.appendChild(fill);
        bar.appendChild(track);
        tr.appendChild(bar);
      }
      body.appendChild(tr);
    }
    rows.replaceChildren(body);
    document.getElementById("t-capacity").textContent = capacity;
    document.getElementById("t-issued").textContent = issued;
    document.getElementById("t-remaining").textContent = remaining;
    // Totals of the coupons that answered: say so when some did not.
    document.getElementById("t-label").textContent =
        unavailable ? "total (" + unavailable + " unavailable not counted)" : "total";
    document.getElementById("updated").textContent =
        coupons.length + " coupons, updated " + new Date().toLocaleTimeString();
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (e) {
    // Never leave old numbers on screen as if current.
    for (const tr of rows.children) tr.className = "unavailable";
    document.getElementById("updated").textContent = "cannot reach the api (" + e + "); the numbers shown are stale";
  }
}

// One refresh at a time, a second apart: a slow answer never paints over a newer one.
async function loop() {
  await refresh();
  setTimeout(loop, 1000);
}
loop();
</script>
</body>
</html>
)HTML";
  return kPage;
}

}  // namespace couponflow::ops
