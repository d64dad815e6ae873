// tsunagu console: live readings on the flood dashboard, and progress on long forms.
"use strict";

function follow(river) {
  const source = new EventSource(river.dataset.events);
  const live = document.getElementById("live");
  source.onopen = () => { if (live) live.hidden = false; };
  source.onerror = () => { if (live) live.hidden = true; };
  source.onmessage = (event) => {
    const r = JSON.parse(event.data);
    const row = document.querySelector(`#stations tr[data-station="${CSS.escape(r.station)}"]`);
    if (r.kind === "rain") {
      if (row) row.querySelector(".rain").textContent = `${r.value} mm`;
      return;
    }
    if (row) {
      row.dataset.rank = String(r.rank);
      row.querySelector(".value").textContent = `${r.value.toFixed(2)} m`;
      row.querySelector(".time").textContent = r.time;
      row.querySelector(".level").textContent = r.label;
      row.querySelector(".alert").textContent = r.alert ? String(r.alert) : "—";
    }
    const mark = document.querySelector(`svg g.station[data-station="${CSS.escape(r.station)}"]`);
    if (mark) {
      mark.dataset.rank = String(r.rank);
      mark.querySelector("circle").setAttribute("fill", r.colour);
    }
    const chart = document.querySelector(`img.chart[data-station="${CSS.escape(r.station)}"]`);
    if (chart) {
      const url = new URL(chart.src, location.href);
      url.searchParams.set("t", String(Date.now()));
      chart.src = url.toString();
    }
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const river = document.getElementById("river");
  if (river && river.dataset.events) follow(river);
  for (const form of document.querySelectorAll("form[data-progress]")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = form.dataset.progress; }
    });
  }
});
