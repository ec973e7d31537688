// Read models: each projection's checkpoint against the head, its size, and a rebuild beside the serving copy.
import { api, el, fillTable, number } from "./api.js";

const $ = (id) => document.getElementById(id);

export async function showReadModels() {
  const projections = await api("/v1/admin/projections");
  fillTable($("projections"), [
    { title: "Read model", value: (projection) => projection.name },
    { title: "Checkpoint", number: true, value: (projection) => number(projection.checkpoint) },
    { title: "Head", number: true, value: (projection) => number(projection.head) },
    { title: "Lag", number: true, value: (projection) => number(projection.lag) },
    { title: "Rows", number: true, value: (projection) => number(projection.rows) },
    { title: "Bytes", number: true, value: (projection) => number(projection.modelBytes) },
    { title: "Rebuild", value: (projection) => projection.rebuild
      ? el("span", { class: "muted" }, `rebuilding: ${JSON.stringify(projection.rebuild)}`)
      : el("button", { type: "button", "data-rebuild": projection.name }, "Rebuild") },
  ], projections);
  for (const button of $("projections").querySelectorAll("button[data-rebuild]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      await api(`/v1/admin/projections/${button.dataset.rebuild}/rebuild`, { method: "POST" });
      await showReadModels();
    });
  }
}
