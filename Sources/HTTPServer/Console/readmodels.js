// Read models: each projection's checkpoint against the head, its fold rate (from two readings), size and last error,
// and a rebuild beside the serving copy whose progress is shown until it has caught up.
import { api, el, fillTable, number } from "./api.js";

const $ = (id) => document.getElementById(id);
let previous = null;
let polling = null;

function progress(rebuild) {
  const done = rebuild.target > 0 ? Math.min(1, rebuild.checkpoint / rebuild.target) : 1;
  return el("span", { class: "progress", "data-rebuild-progress": "" },
    el("progress", { max: 1, value: done }), ` ${(done * 100).toFixed(0)}% (${number(rebuild.checkpoint)} of ${number(rebuild.target)})`);
}

export function stopReadModels() {
  clearTimeout(polling);
  polling = null;
  previous = null;
}

export async function showReadModels() {
  clearTimeout(polling);
  const projections = await api("/v1/admin/projections");
  const now = performance.now();
  const rate = (projection) => {
    const before = previous?.projections.find((other) => other.name === projection.name);
    if (!before) return "…";
    const seconds = (now - previous.at) / 1000;
    return `${number(Math.max(0, Math.round((projection.checkpoint - before.checkpoint) / seconds)))}/s`;
  };
  fillTable($("projections"), [
    { title: "Read model", value: (projection) => projection.name },
    { title: "Checkpoint", number: true, value: (projection) => number(projection.checkpoint) },
    { title: "Head", number: true, value: (projection) => number(projection.head) },
    { title: "Lag", number: true, value: (projection) => number(projection.lag) },
    { title: "Folding", number: true, value: rate },
    { title: "Rows", number: true, value: (projection) => number(projection.rows) },
    { title: "Bytes", number: true, value: (projection) => number(projection.modelBytes) },
    { title: "Last error", value: (projection) => projection.lastError ? el("span", { class: "error" }, projection.lastError) : el("span", { class: "muted" }, "none") },
    { title: "Rebuild", value: (projection) => projection.rebuild
      ? progress(projection.rebuild)
      : el("button", { type: "button", "data-rebuild": projection.name }, "Rebuild") },
  ], projections);
  previous = { at: now, projections };
  for (const button of $("projections").querySelectorAll("button[data-rebuild]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      await api(`/v1/admin/projections/${button.dataset.rebuild}/rebuild`, { method: "POST" });
      await showReadModels();
    });
  }
  // Read again while the page is shown: quickly while a rebuild runs, every few seconds otherwise (the rate needs two readings).
  const rebuilding = projections.some((projection) => projection.rebuild);
  polling = setTimeout(() => { if (!$("read-models").hidden) showReadModels().catch(() => stopReadModels()); }, rebuilding ? 300 : 3000);
}
