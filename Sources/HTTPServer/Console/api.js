// The console's only way to the shop: the public HTTP API, with the signed-in person's token.

const tokenKey = "emporium.console.token";
const whoKey = "emporium.console.who";

export const session = {
  get token() { return sessionStorage.getItem(tokenKey); },
  get who() { return JSON.parse(sessionStorage.getItem(whoKey) || "null"); },
  start(token, who) { sessionStorage.setItem(tokenKey, token); sessionStorage.setItem(whoKey, JSON.stringify(who)); },
  end() { sessionStorage.removeItem(tokenKey); sessionStorage.removeItem(whoKey); },
};

/** A refusal the API answered: its status and stable code. */
export class ApiError extends Error {
  constructor(status, code, message) { super(message || code || `HTTP ${status}`); this.status = status; this.code = code; }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await answer.text();
  const json = text ? JSON.parse(text) : null;
  if (!answer.ok) throw new ApiError(answer.status, json?.error?.code, json?.error?.message);
  return json;
}

export function command(type, data = {}) { return api("/v1/commands", { method: "POST", body: { type, data } }); }

/** Minor units as the currency's amount, in the reader's locale. */
export function money(minor, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
}

export function number(value) { return new Intl.NumberFormat().format(value); }

export function percent(ratio) { return `${(ratio * 100).toFixed(1)}%`; }

/** An RFC 3339 time as `2026-05-14 03:21:36Z` (whole seconds, UTC). */
export const shortTime = (text) => text.replace("T", " ").replace(/\.\d+Z$/, "Z");

/** Milliseconds since the epoch, as `shortTime` writes a time. */
export const when = (milliseconds) => shortTime(new Date(milliseconds).toISOString());

/** The columns every event list starts with: its position (for admins a link to the event), when, and what. */
export function eventColumns(admin) {
  return [
    { title: "Position", number: true, value: (entry) => admin ? el("a", { href: `#/event/${entry.position}` }, String(entry.position)) : String(entry.position) },
    { title: "Recorded", value: (entry) => shortTime(entry.recordedAt) },
    { title: "What", value: (entry) => entry.type },
  ];
}

/** A figure: its label over its value; `data-metric` names it for the browser checks. */
export function card(label, value, metric) {
  return el("div", { class: "card", "data-metric": metric }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
}

/** An element with attributes and children (text or elements). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** Replaces a table's rows: a header row, then one row per item. */
export function fillTable(table, columns, items, empty = "none") {
  table.replaceChildren(el("tr", {}, columns.map((column) => el("th", { class: column.number ? "number" : undefined }, column.title))));
  if (items.length === 0) table.append(el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, empty)));
  for (const item of items) {
    table.append(el("tr", {}, columns.map((column) => el("td", { class: column.number ? "number" : undefined }, column.value(item)))));
  }
}
