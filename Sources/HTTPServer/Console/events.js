// The stream and event browser: the audit API's filters as a form, one event's header, data and raw JSON, and the
// events of the same request (correlation id), with its cause marked. Every view's query is in the URL's hash.
import { api, el, fillTable, shortTime } from "./api.js";

const $ = (id) => document.getElementById(id);
const filterNames = ["stream", "type", "actor", "correlationId", "from", "to", "reveal"];

/** `#/events?type=OrderPlaced` → the audit query `type=OrderPlaced&limit=50`. */
function auditQuery(parameters, extra = {}) {
  const query = new URLSearchParams();
  for (const name of filterNames) if (parameters.get(name)) query.set(name, parameters.get(name));
  for (const [name, value] of Object.entries(extra)) query.set(name, value);
  return query;
}

const positionLink = (event) => el("a", { href: `#/event/${event.position}` }, String(event.position));
const streamLink = (event) => el("a", { href: `#/events?stream=${encodeURIComponent(event.stream)}` }, `${event.stream}@${event.version}`);
const typeLink = (event) => el("a", { href: `#/events?type=${encodeURIComponent(event.type)}` }, event.type);
const actorLink = (event) => el("a", { href: `#/events?actor=${encodeURIComponent(event.actor)}` }, event.actor);

const columns = [
  { title: "Position", number: true, value: positionLink },
  { title: "Recorded", value: (event) => shortTime(event.recordedAt) },
  { title: "Stream", value: streamLink },
  { title: "Type", value: typeLink },
  { title: "Actor", value: actorLink },
];

/** The head of the log: its position, chain hash and time; every earlier event is chained into the hash. */
async function showDigest() {
  const digest = await api("/v1/audit/digest");
  $("digest-position").textContent = `position ${digest.position.toLocaleString("en-US")}`;
  $("digest-hash").textContent = digest.hash;
  $("digest-time").textContent = digest.recordedAt ?? "";
}

/** Runs the whole chain check on the server and says what it found. */
async function verify() {
  const button = $("verify");
  const result = $("verify-result");
  button.disabled = true;
  result.className = "muted";
  result.textContent = "Checking every record, the chain and the indexes…";
  try {
    const report = await api("/v1/audit/verify", { method: "POST" });
    result.className = report.healthy ? "ok" : "error";
    result.textContent = report.healthy
      ? `Intact: ${report.eventsChecked.toLocaleString("en-US")} events in ${report.streams.toLocaleString("en-US")} streams checked up to position ${report.position.toLocaleString("en-US")} (hash ${report.hash.slice(0, 16)}…) in ${report.milliseconds} ms.`
      : `Broken: ${report.problems.length} problem(s); the first: ${report.problems[0]}`;
  } catch (error) {
    result.className = "error";
    result.textContent = `The check could not run: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

export async function showEvents(parameters) {
  await showDigest();
  const form = $("event-filter");
  for (const name of filterNames) {
    const field = form.elements[name];
    if (field.type === "checkbox") field.checked = parameters.get(name) === field.value; else field.value = parameters.get(name) ?? "";
  }
  const query = auditQuery(parameters, { limit: "50" });
  if (parameters.get("after")) query.set("after", parameters.get("after"));
  const page = await api(`/v1/audit/events?${query}`);
  fillTable($("event-list"), columns, page.events, "no events match");
  const more = $("event-more");
  more.hidden = page.next === null;
  if (page.next !== null) {
    const next = auditQuery(parameters);
    next.set("after", page.next);
    more.href = `#/events?${next}`;
  }
}

export function wireEventFilter() {
  $("event-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(event.target)) if (value) query.set(name, value);
    location.hash = `#/events?${query}`;
  });
  $("verify").addEventListener("click", verify);
  $("copy-raw").addEventListener("click", () => navigator.clipboard?.writeText($("event-raw").textContent));
}

/** A value of the event's data, readable: objects as nested lists. */
export function readable(value) {
  if (value === null || typeof value !== "object") return el("code", {}, JSON.stringify(value));
  const entries = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  return el("ul", { class: "fields" }, entries.map(([name, item]) => el("li", {}, el("code", {}, String(name)), ": ", readable(item))));
}

export async function showEvent(position, parameters) {
  const reveal = parameters.get("reveal") ? `&reveal=${encodeURIComponent(parameters.get("reveal"))}` : "";
  const page = await api(`/v1/audit/events?after=${position - 1}&limit=1${reveal}`);
  const event = page.events[0];
  if (!event || event.position !== position) throw new Error(`no event at position ${position}`);
  $("event-title").textContent = `${event.type} at ${event.position}`;
  const row = (name, value) => el("tr", {}, el("th", {}, name), el("td", {}, value ?? el("span", { class: "muted" }, "none")));
  const correlated = (await api(`/v1/audit/events?correlationId=${event.correlationId}&limit=100${reveal}`)).events;
  const cause = correlated.find((other) => other.eventId === event.causationId);
  $("event-header").replaceChildren(
    row("Position", String(event.position)), row("Stream", streamLink(event)), row("Type", typeLink(event)),
    row("Schema version", String(event.schemaVersion)), row("Recorded at", event.recordedAt), row("Actor", actorLink(event)),
    row("Event id", el("code", {}, event.eventId)),
    row("Correlation id", el("a", { href: `#/events?correlationId=${event.correlationId}`, id: "correlation-link" }, event.correlationId)),
    row("Caused by", cause ? el("a", { href: `#/event/${cause.position}` }, `${cause.type} at ${cause.position}`) : event.causationId),
    row("Idempotency key", event.idempotencyKey), row("Hash", el("code", {}, event.hash)), row("Previous hash", el("code", {}, event.prevHash)),
  );
  $("event-data").replaceChildren(
    readable(event.data),
    event.payloadWithheld ? el("p", { class: "muted" }, "Its stored bytes are withheld: the event holds a secret (shown redacted above).") : "",
  );
  $("event-raw").textContent = JSON.stringify(event, null, 2);
  fillTable($("event-correlated"), [
    ...columns, {
      title: "", value: (other) => other.position === event.position ? "this event"
        : other.eventId === event.causationId ? "its cause" : other.causationId === event.eventId ? "caused by it" : "",
    },
  ], correlated);
}
