// Time travel: a position slider over the whole log with its time axis; the shop's counts, one aggregate's state (each
// field with the event that last changed it) and the changes since another position, all as of the slider's position.
// The view is its URL (`#/time-travel?position=…&stream=…&diff=…`); live mode follows the event feed.
import { api, el, fillTable, money, number, session, shortTime } from "./api.js";
import { readable } from "./events.js";

const $ = (id) => document.getElementById(id);
let live = null;

function go(changes) {
  const [, query] = location.hash.split("?");
  const parameters = new URLSearchParams(query ?? "");
  for (const [name, value] of Object.entries(changes)) {
    if (value === "" || value === null || value === undefined) parameters.delete(name); else parameters.set(name, value);
  }
  location.hash = `#/time-travel?${parameters}`;
}

const timeOrStart = (text) => (text ? shortTime(text) : "before the first event");

export async function showTimeTravel(parameters) {
  const position = parameters.get("position");
  const shop = await api(`/v1/history/shop${position ? `?position=${position}` : ""}`);
  const slider = $("tt-position");
  slider.max = String(shop.head);
  slider.value = String(shop.position);
  $("tt-start").textContent = `1 · ${timeOrStart(shop.firstRecordedAt)}`;
  $("tt-at").textContent = `position ${number(shop.position)} · ${timeOrStart(shop.recordedAt)}`;
  $("tt-end").textContent = `${number(shop.head)} (head)`;
  $("tt-counts").replaceChildren(...Object.entries(shop.counts).sort().map(([kind, count]) =>
    el("div", { class: "card", "data-count": kind }, el("div", { class: "label" }, kind), el("div", { class: "value" }, number(count)))));
  const form = $("tt-form");
  form.elements.stream.value = parameters.get("stream") ?? "";
  form.elements.diff.value = parameters.get("diff") ?? "";
  $("tt-cart").elements.user.value = parameters.get("cart") ?? "";
  $("tt-priced").replaceChildren();
  const cart = parameters.get("cart");
  if (cart) $("tt-priced").append(pricedCart(await api(`/v1/history/carts/${encodeURIComponent(cart)}?position=${shop.position}`)));
  $("tt-stream").replaceChildren();
  $("tt-changes").replaceChildren();
  const stream = parameters.get("stream");
  if (stream) {
    const at = await api(`/v1/history/streams/${encodeURIComponent(stream)}?position=${shop.position}`);
    const table = el("table", { id: "tt-state" });
    fillTable(table, [
      { title: "Field", value: ([field]) => el("code", {}, field) },
      { title: "Value", value: ([, value]) => readable(value) },
      { title: "Last changed by", value: ([field]) => at.lastChangedAt[field]
        ? el("a", { href: `#/event/${at.lastChangedAt[field]}` }, `event ${at.lastChangedAt[field]}`) : "" },
    ], Object.entries(at.state).sort(([left], [right]) => left.localeCompare(right)), "no such stream at this position");
    $("tt-stream").append(el("h2", {}, `${stream} at version ${at.version}`), table);
  }
  const diff = parameters.get("diff");
  if (diff !== null && diff !== "") {
    const [from, to] = [Math.min(Number(diff), shop.position), Math.max(Number(diff), shop.position)];
    const changes = await api(`/v1/history/changes?from=${from}&to=${to}`);
    const table = el("table", { id: "tt-diff" });
    fillTable(table, [
      { title: "Stream", value: (change) => el("a", { href: `#/time-travel?position=${to}&stream=${encodeURIComponent(change.stream)}` }, change.stream) },
      { title: "", value: (change) => change.kind },
      { title: "Versions", value: (change) => `${change.fromVersion} → ${change.toVersion}` },
      { title: "Fields", value: (change) => change.fields.join(", ") },
    ], changes.changes, "nothing changed");
    $("tt-changes").append(el("h2", {}, `Changed from ${from} to ${to}: ${changes.changes.length} streams`), table);
  }
}

/** A cart as it stood at the position, priced with that moment's prices, promotions and coupon. */
function pricedCart(cart) {
  const currency = "CNY";
  const table = el("table", { id: "tt-cart-lines" });
  fillTable(table, [
    { title: "Goods", value: (line) => `${line.title}${line.variant ? ` · ${line.variant}` : ""}` },
    { title: "Unit price", number: true, value: (line) => money(line.unitPrice, currency) },
    { title: "Quantity", number: true, value: (line) => number(line.quantity) },
    { title: "Line total", number: true, value: (line) => money(line.lineTotal, currency) },
  ], cart.lines, "the cart was empty");
  const promotions = cart.promotions.map((promotion) => el("li", {}, `${promotion.name}: −${money(promotion.amount, currency)}`));
  return el("div", {},
    el("h2", {}, `The cart at position ${number(cart.position)}`), table,
    el("ul", {}, promotions),
    el("p", { "data-metric": "cart-total" },
      `Subtotal ${money(cart.subtotal, currency)} · discounts ${money(cart.discount, currency)} · total ${money(cart.total, currency)}`),
    cart.problem ? el("p", { class: "muted" }, `It could not have been checked out then: ${cart.problem}`) : "");
}

/** Follows the event feed (server-sent events over fetch, which can carry the token) and moves to each new head. */
async function follow(from, signal) {
  const answer = await fetch(`/v1/events?from=${from}`, { headers: { Authorization: `Bearer ${session.token}` }, signal });
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    let newest = null;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const id = buffer.slice(0, end).match(/^id: ?(\d+)$/m);
      if (id) newest = id[1];
      buffer = buffer.slice(end + 2);
    }
    if (newest !== null) go({ position: newest });
  }
}

/** Leaves live mode (on leaving the view). */
export function stopLive() {
  live?.abort();
  live = null;
  $("tt-live").checked = false;
}

export function wireTimeTravel() {
  const slider = $("tt-position");
  slider.addEventListener("input", () => { $("tt-at").textContent = `position ${number(Number(slider.value))}`; });
  slider.addEventListener("change", () => go({ position: slider.value }));
  $("tt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    go({ stream: event.target.elements.stream.value.trim(), diff: event.target.elements.diff.value });
  });
  $("tt-cart").addEventListener("submit", (event) => {
    event.preventDefault();
    go({ cart: event.target.elements.user.value.trim() });
  });
  $("tt-live").addEventListener("change", (event) => {
    live?.abort();
    live = null;
    if (!event.target.checked) return;
    live = new AbortController();
    follow(Number($("tt-position").max) + 1, live.signal).catch((error) => {
      if (error.name !== "AbortError") $("failure").textContent = `Live mode stopped: ${error.message}`;
    });
  });
}
