// The stream browser: categories with how many streams each has, streams by name prefix with their event counts.
import { api, el, fillTable, number } from "./api.js";

const $ = (id) => document.getElementById(id);

export async function showStreams(parameters) {
  const prefix = parameters.get("prefix") ?? "";
  $("stream-filter").elements.prefix.value = prefix;
  const query = new URLSearchParams({ prefix, limit: "100" });
  if (parameters.get("after")) query.set("after", parameters.get("after"));
  const [categories, page] = await Promise.all([api("/v1/audit/categories"), api(`/v1/audit/streams?${query}`)]);
  $("stream-categories").replaceChildren(...categories.map((category) => el("a", {
    class: `chip${prefix === `${category.category}-` ? " chosen" : ""}`, href: `#/streams?prefix=${encodeURIComponent(`${category.category}-`)}`,
    "data-category": category.category,
  }, category.category, " ", el("span", { class: "count" }, number(category.streams)))));
  fillTable($("stream-list"), [
    { title: "Stream", value: (stream) => el("a", { href: `#/events?stream=${encodeURIComponent(stream.stream)}` }, stream.stream) },
    { title: "Events", number: true, value: (stream) => number(stream.events) },
    { title: "Last event", number: true, value: (stream) => el("a", { href: `#/event/${stream.lastPosition}` }, String(stream.lastPosition)) },
    { title: "", value: (stream) => el("a", { href: `#/time-travel?stream=${encodeURIComponent(stream.stream)}` }, "state over time") },
  ], page.streams, "no stream starts so");
  const more = $("stream-more");
  more.hidden = page.next === null;
  if (page.next !== null) more.href = `#/streams?${new URLSearchParams({ prefix, after: page.next })}`;
}

export function wireStreamFilter() {
  $("stream-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/streams?${new URLSearchParams({ prefix: new FormData(event.target).get("prefix") })}`;
  });
}
